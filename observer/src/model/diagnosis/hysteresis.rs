//! From findings to alerts: ranking, identity and onset, severity over time, the gap between
//! raising and holding that keeps an alert from flickering around its threshold, and the list
//! of alerts that have cleared.

use super::alert::{Alert, AlertKind, Severity};
use crate::model::history::SeriesKey;
use beamline_wire::Pid;
use std::collections::{HashMap, VecDeque};

/// How long a cleared alert stays listed as resolved, milliseconds.
pub const RESOLVED_KEEP_MS: u64 = 5 * 60 * 1000;
/// Most resolved alerts kept, newest first.
pub const MAX_RESOLVED: usize = 50;

/// A condition a detector found in one sample.
#[derive(Debug)]
pub struct Candidate {
    /// Identifies the alert across samples (for ids, onsets and hysteresis).
    pub key: SeriesKey,
    /// What kind of trouble.
    pub kind: AlertKind,
    /// How urgent now.
    pub severity: Severity,
    /// Culprit first.
    pub processes: Vec<Pid>,
    /// One line in plain words.
    pub message: String,
    /// Higher is worse, within a kind.
    pub score: f64,
    /// Whether it raises by itself (else it only holds an alert already raised).
    pub raise: bool,
    /// When the condition started, if the sample says (a call's start time, say); otherwise
    /// the sample it is first raised in.
    pub since_ms: Option<u64>,
    /// A warning that lasts this long (from its onset) becomes critical.
    pub escalate_after_ms: Option<u64>,
}

impl Default for Candidate {
    fn default() -> Self {
        Candidate {
            key: SeriesKey::Process(Pid(0)),
            kind: AlertKind::default(),
            severity: Severity::default(),
            processes: Vec::new(),
            message: String::new(),
            score: 0.0,
            raise: false,
            since_ms: None,
            escalate_after_ms: None,
        }
    }
}

/// The alerts active after the last sample, and those that cleared recently.
#[derive(Clone, Debug, Default)]
pub struct Hysteresis {
    active: HashMap<(AlertKind, SeriesKey), Alert>,
    resolved: VecDeque<Alert>,
    next_id: u64,
}

impl Hysteresis {
    /// Forget every alert, active or resolved.
    pub fn reset(&mut self) {
        self.active.clear();
        self.resolved.clear();
    }

    /// Whether an alert of `kind` keyed by `key` was active after the previous sample.
    pub fn is_active(&self, kind: AlertKind, key: &SeriesKey) -> bool {
        self.active.contains_key(&(kind, key.clone()))
    }

    /// Alerts that cleared within [`RESOLVED_KEEP_MS`], most recently resolved first.
    pub fn resolved(&self) -> impl Iterator<Item = &Alert> {
        self.resolved.iter()
    }

    /// The alerts of the sample at `at_ms`, most important first: a candidate becomes an alert if
    /// it raises, or if it holds an alert active since the previous sample (keeping its id and
    /// onset). One alert per kind and key: the worst candidate wins. Alerts no candidate holds
    /// any more are resolved at `at_ms`.
    pub fn settle(&mut self, mut found: Vec<Candidate>, at_ms: u64) -> Vec<Alert> {
        found.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.kind.rank().cmp(&b.kind.rank()))
                .then(b.score.total_cmp(&a.score))
                .then(a.processes.cmp(&b.processes))
        });
        // Candidates sharing an alert (a supervisor's window and its storming slot) share the
        // earliest onset any of them knows.
        let mut onset: HashMap<(AlertKind, SeriesKey), u64> = HashMap::new();
        for c in &found {
            if let Some(s) = c.since_ms {
                let e = onset.entry((c.kind, c.key.clone())).or_insert(s);
                *e = (*e).min(s);
            }
        }
        let mut next = HashMap::new();
        let mut alerts = Vec::new();
        for mut c in found {
            c.since_ms = onset.get(&(c.kind, c.key.clone())).copied();
            let key = (c.kind, c.key.clone());
            let was = self.active.remove(&key);
            if (!c.raise && was.is_none()) || next.contains_key(&key) {
                continue;
            }
            let a = self.carry(c, was, at_ms);
            next.insert(key, a.clone());
            alerts.push(a);
        }
        for (_, mut gone) in std::mem::replace(&mut self.active, next) {
            gone.resolved_at_ms = Some(at_ms);
            self.resolved.push_front(gone);
        }
        while self.resolved.len() > MAX_RESOLVED
            || self.resolved.back().is_some_and(|a| {
                at_ms.saturating_sub(a.resolved_at_ms.unwrap_or(at_ms)) > RESOLVED_KEEP_MS
            })
        {
            self.resolved.pop_back();
        }
        alerts.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.kind.rank().cmp(&b.kind.rank()))
        });
        alerts
    }

    /// The alert for `c` at `at_ms`, continuing `was` if it was active.
    fn carry(&mut self, c: Candidate, was: Option<Alert>, at_ms: u64) -> Alert {
        let known = c.since_ms.unwrap_or(at_ms).min(at_ms);
        let (id, since, mut log) = match was {
            Some(w) => (w.id, w.since_ms.min(known), w.severity_log),
            None => {
                self.next_id += 1;
                (self.next_id, known, Vec::new())
            }
        };
        let lasted = c
            .escalate_after_ms
            .is_some_and(|d| at_ms.saturating_sub(since) >= d);
        let severity = if lasted {
            Severity::Critical
        } else {
            c.severity
        };
        if log.last().is_none_or(|(_, s)| *s != severity) {
            log.push((at_ms, severity));
        }
        Alert {
            id,
            kind: c.kind,
            severity,
            processes: c.processes,
            message: c.message,
            since_ms: since,
            severity_log: log,
            resolved_at_ms: None,
        }
    }
}
