//! `restart_storm`: restarts too fast, told from two sides.
//!
//! - A supervisor's own count of restarts in its intensity window is in every sample, so a
//!   storm is flagged at the first sample seen, even by an observer that attached late: at
//!   `restart_storm` restarts, at its limit (one more crash escalates) or past it (it gives up).
//!   The count is published when the supervisor acts, so it is read as stale once its newest
//!   restart is older than the window.
//! - Each child slot's restart count is followed across restarts (new pids, same supervisor
//!   and child id): `restart_storm` restarts within `restart_window_ms` is a storm (critical),
//!   `crash_loop_restarts` within the longer `crash_loop_window_ms` a slow crash loop (warning).
//!
//! Either way the text names the crashing child and its last exit reasons.

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;
use crate::model::history::SeriesKey;
use beamline_wire::{Pid, ProcessSample, Status, SupervisorInfo};
use std::collections::{HashMap, HashSet, VecDeque};

/// Exit reasons quoted in an alert, newest last.
const REASONS: usize = 3;

/// Recent restart counts per child slot: (sample time, restarts so far), oldest first.
#[derive(Clone, Debug, Default)]
pub struct Storms {
    slots: HashMap<SeriesKey, VecDeque<(u64, u32)>>,
}

impl Storms {
    /// Forget every slot.
    pub fn reset(&mut self) {
        self.slots.clear();
    }

    /// Candidates for supervisors restarting fast and for slots restarting within the windows;
    /// slots no longer reported are forgotten.
    pub fn detect(&mut self, scene: &Scene, found: &mut Vec<Candidate>) {
        let latest = latest_restarted(scene);
        for p in &scene.m.processes {
            if let Some(s) = &p.supervisor {
                supervisor(scene, p, s, latest.get(&p.id).copied(), found);
            }
        }
        let mut live = HashSet::new();
        // Supervised children are tracked from their first sample, so the first restart counts;
        // anything else only once it has restarted.
        for p in scene.m.processes.iter().filter(|p| {
            (p.restarts > 0 || p.child_id.is_some()) && !matches!(p.status, Status::Exited { .. })
        }) {
            let key = SeriesKey::of(p);
            live.insert(key.clone());
            let (storm, slow) = self.restarts_in_windows(key.clone(), p.restarts, scene);
            if storm > 0 || slow > 0 {
                let mut c = slot(scene, p, storm, slow);
                c.since_ms = self.first_restart(&key, scene);
                found.push(c);
            }
        }
        self.slots.retain(|k, _| live.contains(k));
    }

    /// The sample at which the slot's oldest restart within the crash-loop window was seen:
    /// the crash happened within the interval before it.
    fn first_restart(&self, key: &SeriesKey, scene: &Scene) -> Option<u64> {
        let ring = self.slots.get(key)?;
        let from = scene.m.at_ms.saturating_sub(scene.th.crash_loop_window_ms);
        let mut steps = ring.iter().zip(ring.iter().skip(1));
        steps
            .find(|(old, new)| new.0 >= from && new.1 > old.1)
            .map(|(old, _)| old.0)
    }

    /// Note the slot's count at this sample; how many restarts fall within the storm window
    /// and within the crash-loop window.
    fn restarts_in_windows(&mut self, key: SeriesKey, restarts: u32, scene: &Scene) -> (u32, u32) {
        let th = scene.th;
        let now = scene.m.at_ms;
        let ring = self.slots.entry(key).or_default();
        if ring.back().is_none_or(|(at, _)| *at != now) {
            ring.push_back((now, restarts));
        } else if let Some(last) = ring.back_mut() {
            last.1 = last.1.max(restarts);
        }
        let keep = th.restart_window_ms.max(th.crash_loop_window_ms);
        while ring.front().is_some_and(|(at, _)| at + keep < now) {
            ring.pop_front();
        }
        let since = |window: u64| {
            let first = ring
                .iter()
                .find(|(at, _)| at + window >= now)
                .map_or(restarts, |(_, r)| *r);
            restarts.saturating_sub(first)
        };
        (since(th.restart_window_ms), since(th.crash_loop_window_ms))
    }
}

/// For each supervisor, its child that restarted last (restarted children only).
fn latest_restarted<'a>(scene: &Scene<'a>) -> HashMap<Pid, &'a ProcessSample> {
    let mut latest: HashMap<Pid, &ProcessSample> = HashMap::new();
    for p in scene.m.processes.iter().filter(|p| p.restarts > 0) {
        if let Some(sup) = p.parent {
            let e = latest.entry(sup).or_insert(p);
            if p.spawned_ms > e.spawned_ms {
                *e = p;
            }
        }
    }
    latest
}

/// A supervisor whose intensity window holds `restart_storm` restarts or its limit.
fn supervisor(
    scene: &Scene,
    p: &ProcessSample,
    s: &SupervisorInfo,
    child: Option<&ProcessSample>,
    found: &mut Vec<Candidate>,
) {
    let n = s.restarts_in_window;
    if s.max_restarts == 0 || n < s.max_restarts.min(scene.th.restart_storm).max(1) {
        return;
    }
    // Published when the supervisor acts: stale once its newest restart left the window.
    let newest = child.map(|c| c.spawned_ms);
    if newest.is_some_and(|t| scene.m.at_ms.saturating_sub(t) >= s.period_ms) {
        return;
    }
    let period = s.period_ms as f64 / 1000.0;
    let mut message = if n > s.max_restarts {
        format!(
            "{} exceeded its restart limit ({n} restarts in {period:.0}s, at most {}): it gives up and escalates",
            p.label(),
            s.max_restarts
        )
    } else if n == s.max_restarts {
        format!(
            "{} is at its restart limit ({n} of {} in {period:.0}s): one more crash escalates",
            p.label(),
            s.max_restarts
        )
    } else {
        format!(
            "{} restarted children {n} times in {period:.0}s (limit {})",
            p.label(),
            s.max_restarts
        )
    };
    if let Some(c) = child {
        message.push_str(&format!("; {}", reasons(c)));
    }
    found.push(Candidate {
        key: SeriesKey::Process(p.id),
        kind: AlertKind::RestartStorm,
        severity: Severity::Critical,
        processes: child.map(|c| c.id).into_iter().chain([p.id]).collect(),
        message,
        score: n as f64 + 1000.0,
        raise: true,
        ..Candidate::default()
    });
}

/// What a child's last exits were: "worker last exited: panic: boom; panic: boom".
fn reasons(c: &ProcessSample) -> String {
    let name = c.child_id.clone().unwrap_or_else(|| c.label());
    if c.exit_history.is_empty() {
        return format!("{name} restarted {} times in all", c.restarts);
    }
    let from = c.exit_history.len().saturating_sub(REASONS);
    format!("{name} last exited: {}", c.exit_history[from..].join("; "))
}

/// `p`'s slot restarted `storm` times within the storm window and `slow` within the crash-loop
/// window. Keyed by the supervisor: the crashing child gets a new pid on every restart.
fn slot(scene: &Scene, p: &ProcessSample, storm: u32, slow: u32) -> Candidate {
    let th = scene.th;
    let name = p.child_id.clone().unwrap_or_else(|| p.label());
    let is_storm = storm >= th.restart_storm;
    let is_loop = slow >= th.crash_loop_restarts;
    let (n, window, what) = if is_storm || !is_loop {
        (storm, th.restart_window_ms, "restarted")
    } else {
        (slow, th.crash_loop_window_ms, "is crash-looping: restarted")
    };
    let mut message = format!(
        "{name} {what} {n} times in the last {}s ({} in all)",
        window / 1000,
        p.restarts
    );
    if !p.exit_history.is_empty() {
        let from = p.exit_history.len().saturating_sub(REASONS);
        message.push_str(&format!(
            "; last exits: {}",
            p.exit_history[from..].join("; ")
        ));
    }
    Candidate {
        key: SeriesKey::Process(p.parent.unwrap_or(p.id)),
        kind: AlertKind::RestartStorm,
        severity: if is_storm {
            Severity::Critical
        } else {
            Severity::Warning
        },
        processes: std::iter::once(p.id).chain(p.parent).collect(),
        message,
        score: n as f64,
        raise: is_storm || is_loop,
        ..Candidate::default()
    }
}
