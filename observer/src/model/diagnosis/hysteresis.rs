//! From findings to alerts: ranking, onset times, and the gap between raising and holding that
//! keeps an alert from flickering around its threshold.

use super::alert::{Alert, AlertKind, Severity};
use beamline_wire::Pid;
use std::collections::HashMap;

/// A condition a detector found in one sample.
pub struct Candidate {
    /// Identifies the alert across samples (for onset times and hysteresis).
    pub key: Pid,
    /// What kind of trouble.
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// Culprit first.
    pub processes: Vec<Pid>,
    /// One line in plain words.
    pub message: String,
    /// Higher is worse, within a kind.
    pub score: f64,
    /// Whether it raises by itself (else it only holds an alert already raised).
    pub raise: bool,
}

/// The alerts active after the last sample, with their onsets.
#[derive(Clone, Debug, Default)]
pub struct Hysteresis {
    active: HashMap<(AlertKind, Pid), u64>,
}

impl Hysteresis {
    /// Forget every active alert.
    pub fn reset(&mut self) {
        self.active.clear();
    }

    /// The alerts of the sample at `at_ms`, most important first: a candidate becomes an alert if
    /// it raises, or if it holds an alert active since the previous sample (keeping its onset).
    /// One alert per kind and key: the worst candidate wins.
    pub fn settle(&mut self, mut found: Vec<Candidate>, at_ms: u64) -> Vec<Alert> {
        found.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.kind.rank().cmp(&b.kind.rank()))
                .then(b.score.total_cmp(&a.score))
                .then(a.processes.cmp(&b.processes))
        });
        let mut next = HashMap::new();
        let mut alerts = Vec::new();
        for c in found {
            let key = (c.kind, c.key);
            let was = self.active.get(&key).copied();
            if (!c.raise && was.is_none()) || next.contains_key(&key) {
                continue;
            }
            let since = was.unwrap_or(at_ms);
            next.insert(key, since);
            alerts.push(Alert {
                kind: c.kind,
                severity: c.severity,
                processes: c.processes,
                message: c.message,
                since_ms: since,
            });
        }
        self.active = next;
        alerts
    }
}
