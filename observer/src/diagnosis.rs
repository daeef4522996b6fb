//! Diagnosis: turn the table and its history into a short list of alerts that name the cause,
//! not every symptom, and that do not cry wolf.
//!
//! Computed once per sample by [`Diagnoser::update`]. Each detector decides whether its condition
//! *raises* an alert and, more leniently, whether an alert already raised is *held*: that gap is
//! the hysteresis that keeps an alert from flickering around its threshold. Trends need a window
//! of samples in the same direction, so a single spike raises nothing.
//!
//! - `overflow`: mailbox above a limit (a fraction of capacity when bounded), or growing steadily.
//! - `bottleneck`: busy most of the interval with a queue that is not shrinking or callers
//!   blocked on it, ranked by the waiting it causes. The stages starving behind it are idle, so
//!   they are not named.
//! - `deadlock`: a cycle of processes blocked in calls to each other, as soon as it forms.
//! - `long_wait`: blocked in a call longer than a limit; names whom it waits on.
//! - `restart_storm`: a child slot restarting too often, or a supervisor at its restart limit.
//! - `state_growth`: state size growing steadily.

use crate::model::{History, Moment};
use beamline_wire::{Pid, Status};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// Most alerts reported per sample, most important first.
pub const MAX_ALERTS: usize = 100;

/// What kind of trouble an alert reports; the lower-case names are the JSON `kind` strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    /// A mailbox above its threshold or growing steadily.
    Overflow,
    /// A busy process with a queue that does not shrink, holding others up.
    Bottleneck,
    /// Processes blocked in calls to each other in a cycle.
    Deadlock,
    /// A process blocked in a call for too long.
    LongWait,
    /// A child slot restarting too often.
    RestartStorm,
    /// State size growing steadily.
    StateGrowth,
}

impl AlertKind {
    /// The JSON and on-screen name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Overflow => "overflow",
            AlertKind::Bottleneck => "bottleneck",
            AlertKind::Deadlock => "deadlock",
            AlertKind::LongWait => "long_wait",
            AlertKind::RestartStorm => "restart_storm",
            AlertKind::StateGrowth => "state_growth",
        }
    }

    /// Causes before symptoms: a deadlock explains long waits, a bottleneck explains overflow.
    fn rank(self) -> u8 {
        match self {
            AlertKind::Deadlock => 0,
            AlertKind::Bottleneck => 1,
            AlertKind::RestartStorm => 2,
            AlertKind::Overflow => 3,
            AlertKind::LongWait => 4,
            AlertKind::StateGrowth => 5,
        }
    }
}

/// How urgent an alert is; ordered so that the most urgent sorts last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look.
    Warning,
    /// Something is broken or about to be.
    Critical,
}

impl Severity {
    /// The JSON and on-screen name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// What kind of trouble.
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// The processes involved, culprit first.
    pub processes: Vec<Pid>,
    /// One line in plain words.
    pub message: String,
    /// When the condition started, milliseconds since runtime start.
    pub since_ms: u64,
}

/// Thresholds and windows. Keys are the same in the config file (TOML-like `key = value`
/// lines) and in `--threshold key=value`; the README gives the reasoning behind each default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Unbounded mailbox length that raises `overflow`.
    pub mailbox_limit: u64,
    /// Fraction of a bounded mailbox's capacity that raises `overflow`.
    pub fill_ratio: f64,
    /// An alert raised on a level is held until the level drops below this fraction of it.
    pub clear_ratio: f64,
    /// Samples a mailbox must grow over (in all but one step) to count as a trend.
    pub trend_samples: usize,
    /// Net growth over the trend window, in messages, below which growth is noise.
    pub trend_min_growth: u64,
    /// Busy fraction above which a process with a standing queue is a bottleneck.
    pub busy_ratio: f64,
    /// Queue length below which a busy process is just busy.
    pub bottleneck_min_queue: u64,
    /// Milliseconds in one call before `long_wait`.
    pub long_wait_ms: u64,
    /// Restarts of one child slot within `restart_window_ms` that make a storm.
    pub restart_storm: u32,
    /// The window for `restart_storm`.
    pub restart_window_ms: u64,
    /// Samples state size must grow over (every step) for `state_growth`.
    pub growth_samples: usize,
    /// Net state growth over the window, bytes, below which growth is noise.
    pub growth_min_bytes: u64,
    /// Net state growth over the window as a fraction of the starting size.
    pub growth_min_ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            mailbox_limit: 1000,
            fill_ratio: 0.8,
            clear_ratio: 0.5,
            trend_samples: 5,
            trend_min_growth: 100,
            busy_ratio: 0.9,
            bottleneck_min_queue: 10,
            long_wait_ms: 5000,
            restart_storm: 3,
            restart_window_ms: 10_000,
            growth_samples: 4,
            growth_min_bytes: 64 * 1024,
            growth_min_ratio: 0.25,
        }
    }
}

impl Thresholds {
    /// Apply `key = value` lines (blank lines and `#` comments ignored), as in a config file.
    pub fn apply_config(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            self.set(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        Ok(())
    }

    /// Apply one `key=value` (or `key = value`).
    pub fn set(&mut self, kv: &str) -> Result<(), String> {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got {kv:?}"))?;
        let (k, v) = (k.trim(), v.trim());
        // Round-trip through JSON so every field is parsed by its own type with serde's errors.
        let mut obj = serde_json::to_value(&*self).map_err(|e| e.to_string())?;
        let map = obj
            .as_object_mut()
            .ok_or("internal: thresholds not an object")?;
        if !map.contains_key(k) {
            let keys: Vec<&String> = map.keys().collect();
            return Err(format!("unknown threshold {k:?} (known: {keys:?})"));
        }
        let parsed: serde_json::Value =
            serde_json::from_str(v).map_err(|_| format!("{k}: not a number: {v:?}"))?;
        map.insert(k.to_string(), parsed);
        *self = serde_json::from_value(obj).map_err(|e| format!("{k}: {e}"))?;
        Ok(())
    }
}

/// Whether `series` (oldest first) rises over its last `window` points: every step but at most
/// one goes up, and the net rise is at least `min_rise`. Returns the rise per step.
pub fn rising(series: &[u64], window: usize, min_rise: u64) -> Option<f64> {
    let window = window.max(2);
    if series.len() < window {
        return None;
    }
    let w = &series[series.len() - window..];
    let ups = w.windows(2).filter(|s| s[1] > s[0]).count();
    let net = w[window - 1].saturating_sub(w[0]);
    (ups + 1 >= window - 1 && w[window - 1] > w[0] && net >= min_rise)
        .then(|| net as f64 / (window - 1) as f64)
}

/// Cycles in a wait-for graph where each process waits on at most one other. Each cycle is
/// rotated to start at its lowest pid, and cycles are ordered by that pid.
pub fn wait_cycles(edges: &HashMap<Pid, Pid>) -> Vec<Vec<Pid>> {
    let mut state: HashMap<Pid, u8> = HashMap::new(); // 1 on the current path, 2 finished
    let mut cycles = Vec::new();
    let mut starts: Vec<Pid> = edges.keys().copied().collect();
    starts.sort();
    for start in starts {
        if state.contains_key(&start) {
            continue;
        }
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(p) = at {
            match state.get(&p) {
                Some(1) => {
                    let i = path.iter().position(|q| *q == p).unwrap_or(0);
                    let mut cyc = path[i..].to_vec();
                    let min = cyc
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, q)| **q)
                        .map_or(0, |(i, _)| i);
                    cyc.rotate_left(min);
                    cycles.push(cyc);
                    break;
                }
                Some(_) => break,
                None => {
                    state.insert(p, 1);
                    path.push(p);
                    at = edges.get(&p).copied();
                }
            }
        }
        for p in path {
            state.insert(p, 2);
        }
    }
    cycles.sort();
    cycles
}

/// A child slot: restarted processes get new pids but keep their supervisor and child id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Slot {
    Child(Pid, u64),
    Process(Pid),
}

fn hash(s: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(s)
}

struct Candidate {
    /// Identifies the alert across samples (for onset times and hysteresis).
    key: Pid,
    kind: AlertKind,
    severity: Severity,
    processes: Vec<Pid>,
    message: String,
    /// Higher is worse, within a kind.
    score: f64,
    /// Whether it raises by itself (else it only holds an alert already raised).
    raise: bool,
}

/// Keeps what diagnosis must remember between samples: when each alert started and recent
/// restart counts per child slot.
#[derive(Clone, Debug)]
pub struct Diagnoser {
    th: Thresholds,
    active: HashMap<(AlertKind, Pid), u64>,
    slots: HashMap<Slot, VecDeque<(u64, u32)>>,
}

impl Diagnoser {
    /// A diagnoser with no memory yet.
    pub fn new(thresholds: Thresholds) -> Self {
        Diagnoser {
            th: thresholds,
            active: HashMap::new(),
            slots: HashMap::new(),
        }
    }

    /// Forget everything (a new incarnation).
    pub fn reset(&mut self) {
        self.active.clear();
        self.slots.clear();
    }

    /// The alerts after the sample `m` (already recorded in `history`), most important first.
    pub fn update(&mut self, m: &Moment, history: &History) -> Vec<Alert> {
        let th = &self.th;
        let name = |pid: Pid| m.get(pid).map_or_else(|| pid.to_string(), |p| p.label());
        let mut found: Vec<Candidate> = Vec::new();

        // Wait-for graph.
        let mut edges: HashMap<Pid, Pid> = HashMap::new();
        let mut waiters: HashMap<Pid, Vec<(Pid, u64)>> = HashMap::new();
        for p in &m.processes {
            if let Status::Waiting { on, since_ms } = p.status {
                edges.insert(p.id, on);
                waiters
                    .entry(on)
                    .or_default()
                    .push((p.id, m.at_ms.saturating_sub(since_ms)));
            }
        }
        let cycles = wait_cycles(&edges);
        let in_cycle: std::collections::HashSet<Pid> = cycles.iter().flatten().copied().collect();
        for cyc in &cycles {
            let names: Vec<String> = cyc.iter().map(|p| name(*p)).collect();
            found.push(Candidate {
                key: cyc[0],
                kind: AlertKind::Deadlock,
                severity: Severity::Critical,
                processes: cyc.clone(),
                message: format!(
                    "{} → {} are blocked calling each other",
                    names.join(" → "),
                    names[0]
                ),
                score: cyc.len() as f64,
                raise: true,
            });
        }

        for p in &m.processes {
            let series = || -> Vec<u64> {
                history
                    .process(p.id)
                    .map(|h| h.iter().map(|x| x.mailbox_len).collect())
                    .unwrap_or_default()
            };
            // Overflow: a level (with hysteresis) or a steady trend.
            let limit = match p.mailbox_capacity {
                Some(c) => (c as f64 * th.fill_ratio).max(1.0),
                None => th.mailbox_limit as f64,
            };
            let len = p.mailbox_len as f64;
            if len >= limit * th.clear_ratio || p.mailbox_len >= th.trend_min_growth {
                let s = series();
                let trend = rising(&s, th.trend_samples, th.trend_min_growth);
                let per_s = trend.map(|step| step * 1000.0 / m.interval_ms.max(1) as f64);
                let over = len >= limit;
                if over || trend.is_some() || len >= limit * th.clear_ratio {
                    let mut msg = match p.mailbox_capacity {
                        Some(c) => format!("{}: mailbox {}/{}", p.label(), p.mailbox_len, c),
                        None => format!("{}: mailbox {} messages", p.label(), p.mailbox_len),
                    };
                    if let Some(r) = per_s {
                        msg.push_str(&format!(" and growing {r:.0}/s"));
                        if let Some(c) = p.mailbox_capacity
                            && r > 0.0
                        {
                            let eta = (c.saturating_sub(p.mailbox_len)) as f64 / r;
                            msg.push_str(&format!("; full in about {eta:.0}s"));
                        }
                    }
                    let full = p.mailbox_capacity.is_some_and(|c| p.mailbox_len >= c);
                    found.push(Candidate {
                        key: p.id,
                        kind: AlertKind::Overflow,
                        severity: if full {
                            Severity::Critical
                        } else {
                            Severity::Warning
                        },
                        processes: vec![p.id],
                        message: msg,
                        score: len / limit,
                        raise: over || trend.is_some(),
                    });
                }
            }

            // Bottleneck: busy, with a standing queue or blocked callers.
            let callers = waiters.get(&p.id).map_or(&[][..], |v| v.as_slice());
            let busy_hold = p.busy >= th.busy_ratio * 0.8;
            if busy_hold
                && (p.mailbox_len >= th.bottleneck_min_queue / 2 || !callers.is_empty())
                && !in_cycle.contains(&p.id)
            {
                let s = series();
                let not_shrinking = s.len() >= 2 && s[s.len() - 1] >= s[s.len() - 2];
                let queue = p.mailbox_len >= th.bottleneck_min_queue && not_shrinking;
                let raise = p.busy >= th.busy_ratio && (queue || callers.len() >= 2);
                let wait_s = if p.mean_wait_us > 0.0 {
                    p.mean_wait_us / 1e6
                } else {
                    m.interval_ms as f64 / 1000.0
                };
                let blocked: f64 = callers.iter().map(|(_, w)| *w as f64 / 1000.0).sum();
                let score = p.mailbox_len as f64 * wait_s + blocked;
                let mut procs = vec![p.id];
                procs.extend(callers.iter().map(|(c, _)| *c).take(8));
                found.push(Candidate {
                    key: p.id,
                    kind: AlertKind::Bottleneck,
                    severity: Severity::Critical,
                    processes: procs,
                    message: format!(
                        "{} is busy {:.0}% with {} queued and {} callers blocked on it",
                        p.label(),
                        p.busy * 100.0,
                        p.mailbox_len,
                        callers.len()
                    ),
                    score,
                    raise,
                });
            }

            // Long wait.
            if let Status::Waiting { on, since_ms } = p.status
                && !in_cycle.contains(&p.id)
            {
                let waited = m.at_ms.saturating_sub(since_ms);
                if waited >= th.long_wait_ms {
                    found.push(Candidate {
                        key: p.id,
                        kind: AlertKind::LongWait,
                        severity: Severity::Warning,
                        processes: vec![p.id, on],
                        message: format!(
                            "{} has waited {:.1}s in a call to {}",
                            p.label(),
                            waited as f64 / 1000.0,
                            name(on)
                        ),
                        score: waited as f64,
                        raise: true,
                    });
                }
            }

            // State growth.
            if p.state_bytes >= th.growth_min_bytes
                && let Some(h) = history.process(p.id)
            {
                let s: Vec<u64> = h.iter().map(|x| x.state_bytes).collect();
                let w = th.growth_samples.max(2);
                if s.len() >= w {
                    let win = &s[s.len() - w..];
                    let every = win.windows(2).all(|x| x[1] > x[0]);
                    let net = win[w - 1].saturating_sub(win[0]);
                    let big = net >= th.growth_min_bytes
                        && net as f64 >= win[0] as f64 * th.growth_min_ratio;
                    let hold = win[w - 1] > win[w - 2] || win[w - 1] > win[0];
                    if (every && big) || hold {
                        found.push(Candidate {
                            key: p.id,
                            kind: AlertKind::StateGrowth,
                            severity: Severity::Warning,
                            processes: vec![p.id],
                            message: format!(
                                "{}: state grew from {} to {} bytes over {} samples",
                                p.label(),
                                win[0],
                                win[w - 1],
                                w
                            ),
                            score: net as f64,
                            raise: every && big,
                        });
                    }
                }
            }

            // Supervisor at its restart limit: one more crash escalates.
            if let Some(s) = &p.supervisor
                && s.max_restarts > 0
                && s.restarts_in_window >= s.max_restarts
            {
                found.push(Candidate {
                    key: p.id,
                    kind: AlertKind::RestartStorm,
                    severity: Severity::Critical,
                    processes: vec![p.id],
                    message: format!(
                        "{} is at its restart limit ({}/{} in {}s): one more crash escalates",
                        p.label(),
                        s.restarts_in_window,
                        s.max_restarts,
                        s.period_ms / 1000
                    ),
                    score: s.restarts_in_window as f64,
                    raise: true,
                });
            }
        }

        // Restart storms per child slot.
        let window = th.restart_window_ms;
        let mut live = std::collections::HashSet::new();
        // Supervised children are tracked from their first sample, so the first restart counts;
        // anything else only once it has restarted.
        for p in m
            .processes
            .iter()
            .filter(|p| p.restarts > 0 || p.child_id.is_some())
        {
            let slot = match (&p.parent, &p.child_id) {
                (Some(parent), Some(c)) => Slot::Child(*parent, hash(c)),
                _ => Slot::Process(p.id),
            };
            live.insert(slot.clone());
            let ring = self.slots.entry(slot).or_default();
            if ring.back().is_none_or(|(at, _)| *at != m.at_ms) {
                ring.push_back((m.at_ms, p.restarts));
            } else if let Some(last) = ring.back_mut() {
                last.1 = last.1.max(p.restarts);
            }
            while ring.front().is_some_and(|(at, _)| at + window < m.at_ms) {
                ring.pop_front();
            }
            let first = ring.front().map_or(p.restarts, |(_, r)| *r);
            let recent = p.restarts.saturating_sub(first);
            if recent > 0 {
                // Keyed by the supervisor: the crashing child gets a new pid on every restart.
                found.push(Candidate {
                    key: p.parent.unwrap_or(p.id),
                    kind: AlertKind::RestartStorm,
                    severity: Severity::Critical,
                    processes: p.parent.into_iter().fold(vec![p.id], |mut v, s| {
                        v.push(s);
                        v
                    }),
                    message: format!(
                        "{} restarted {} times in the last {}s ({} in all)",
                        p.child_id.clone().unwrap_or_else(|| p.label()),
                        recent,
                        window / 1000,
                        p.restarts
                    ),
                    score: recent as f64,
                    raise: recent >= th.restart_storm,
                });
            }
        }
        self.slots.retain(|k, _| live.contains(k));

        // Hysteresis and onset times.
        let mut next = HashMap::new();
        let mut alerts = Vec::new();
        found.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.kind.rank().cmp(&b.kind.rank()))
                .then(b.score.total_cmp(&a.score))
                .then(a.processes.cmp(&b.processes))
        });
        for c in found {
            let key = (c.kind, c.key);
            let was = self.active.get(&key).copied();
            if !c.raise && was.is_none() {
                continue;
            }
            if next.contains_key(&key) {
                continue;
            }
            let since = was.unwrap_or(m.at_ms);
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
        // A list longer than a screen helps nobody, and views mark every listed culprit each
        // frame; onsets of the rest are still remembered above.
        alerts.truncate(MAX_ALERTS);
        alerts
    }
}

#[cfg(test)]
mod tests;
