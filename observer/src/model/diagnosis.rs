//! Diagnosis: turn the table and its history into a short list of alerts that name the cause,
//! not every symptom, and that do not cry wolf.
//!
//! Computed once per sample by [`Diagnoser::update`]: each detector (one file each) turns the
//! sample's [`scene::Scene`] into candidates; [`hysteresis`] ranks them and decides which become
//! alerts. A detector says whether its condition *raises* an alert and, more leniently, whether
//! an alert already raised is *held*: that gap keeps an alert from flickering around its
//! threshold. Trends need a window of samples in the same direction, and a level must last
//! `spike_ms`, so a burst that drains within a second or two raises nothing. Each alert keeps
//! an id, its onset and its severity over time while it lasts; once it clears it stays in
//! [`Diagnoser::resolved`] for [`hysteresis::RESOLVED_KEEP_MS`].
//!
//! - [`overflow`]: mailbox above a limit (a fraction of capacity when bounded) for longer than a
//!   spike, growing steadily, or dropping messages.
//! - [`bottleneck`]: busy most of the interval with a queue that is not shrinking or processes
//!   waiting on it along chains of waits, ranked by the waiting it causes.
//! - [`deadlock`]: a cycle of processes blocked on each other, as soon as it forms.
//! - [`long_wait`]: blocked on another process longer than a limit; names whom it waits on.
//! - [`restart_storm`]: a supervisor near its restart limit, a child slot restarting too often,
//!   or restarting slowly but without end.
//! - [`state_growth`]: state size growing steadily, across restarts of its slot.

pub mod alert;
pub mod bottleneck;
pub mod deadlock;
pub mod hysteresis;
pub mod long_wait;
pub mod overflow;
pub mod restart_storm;
pub mod scene;
pub mod state_growth;
pub mod thresholds;
pub mod waits;

use super::history::History;
use beamline_wire::ProcessTable;
use hysteresis::Hysteresis;
use restart_storm::Storms;
use scene::Scene;

pub use alert::{Alert, AlertKind, Severity};
pub use hysteresis::RESOLVED_KEEP_MS;
pub use thresholds::Thresholds;

/// Most alerts reported per sample, most important first.
pub const MAX_ALERTS: usize = 100;

/// Keeps what diagnosis must remember between samples: when each alert started and recent
/// restart counts per child slot.
#[derive(Clone, Debug)]
pub struct Diagnoser {
    th: Thresholds,
    hysteresis: Hysteresis,
    storms: Storms,
}

impl Diagnoser {
    /// A diagnoser with no memory yet.
    pub fn new(thresholds: Thresholds) -> Self {
        Diagnoser {
            th: thresholds,
            hysteresis: Hysteresis::default(),
            storms: Storms::default(),
        }
    }

    /// What it judges by.
    pub fn thresholds(&self) -> &Thresholds {
        &self.th
    }

    /// Forget everything (a new incarnation).
    pub fn reset(&mut self) {
        self.hysteresis.reset();
        self.storms.reset();
    }

    /// The alerts after the sample `m` (already recorded in `history`), most important first.
    pub fn update(&mut self, m: &ProcessTable, history: &History) -> Vec<Alert> {
        let scene = Scene::new(m, history, &self.th);
        let mut found = Vec::new();
        deadlock::detect(&scene, &mut found);
        for p in &m.processes {
            overflow::detect(&scene, p, &mut found);
            bottleneck::detect(&scene, p, &mut found);
            long_wait::detect(&scene, p, &mut found);
            state_growth::detect(&scene, p, &mut found);
        }
        self.storms.detect(&scene, &mut found);
        let alerted: Vec<_> = found
            .iter()
            .filter(|c| {
                c.kind == AlertKind::Bottleneck
                    && (c.raise || self.hysteresis.is_active(c.kind, &c.key))
            })
            .map(|c| c.processes[0])
            .collect();
        bottleneck::fold(&scene, &alerted, &mut found);
        let mut alerts = self.hysteresis.settle(found, m.at_ms);
        // A list longer than a screen helps nobody, and views mark every listed culprit each
        // frame; onsets of the rest are still remembered by the hysteresis.
        alerts.truncate(MAX_ALERTS);
        alerts
    }

    /// Alerts whose condition cleared within [`RESOLVED_KEEP_MS`], most recently resolved first.
    pub fn resolved(&self) -> Vec<Alert> {
        self.hysteresis.resolved().cloned().collect()
    }
}

#[cfg(test)]
mod tests;
