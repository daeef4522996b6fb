//! Diagnosis: turn the table and its history into a short list of alerts that name the cause.
//!
//! Computed once per sample by [`Diagnoser::update`]; the TUI shows the list and the top alert,
//! and `--json` prints it.

use crate::model::{History, Moment};
use beamline_wire::Pid;

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

/// Thresholds and windows; see the README for the reasoning behind the defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {}
    }
}

/// Keeps what diagnosis must remember between samples (onsets, hysteresis).
#[derive(Clone, Debug)]
pub struct Diagnoser {
    #[allow(dead_code)]
    thresholds: Thresholds,
}

impl Diagnoser {
    /// A diagnoser with no memory yet.
    pub fn new(thresholds: Thresholds) -> Self {
        Diagnoser { thresholds }
    }

    /// Forget everything (a new incarnation).
    pub fn reset(&mut self) {}

    /// The alerts after the sample `m` (already recorded in `history`), most important first.
    pub fn update(&mut self, _m: &Moment, _history: &History) -> Vec<Alert> {
        Vec::new()
    }
}
