//! What diagnosis reports: an alert's kind, its severity, the processes it names.

use beamline_wire::Pid;

/// What kind of trouble an alert reports; the lower-case names are the JSON `kind` strings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    /// A mailbox above its threshold, growing steadily, or dropping messages.
    #[default]
    Overflow,
    /// A busy process with a queue that does not shrink, holding others up.
    Bottleneck,
    /// Processes blocked in calls to each other in a cycle.
    Deadlock,
    /// A process blocked in a call for too long.
    LongWait,
    /// A child slot restarting too often, or a supervisor at its restart limit.
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
    pub fn rank(self) -> u8 {
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look.
    #[default]
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

/// One finding, from the sample its condition was first seen in until it clears (then it stays
/// listed for a while as resolved; see [`crate::model::diagnosis::RESOLVED_KEEP_MS`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Alert {
    /// Stable while the condition lasts: the same alert in later samples has the same id, a new
    /// occurrence of the same condition gets a new one.
    pub id: u64,
    /// What kind of trouble.
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// The processes involved, culprit first.
    pub processes: Vec<Pid>,
    /// One line in plain words.
    pub message: String,
    /// When the condition started, milliseconds since runtime start: from the runtime's own
    /// timestamps where the sample carries them (a call's start, a supervisor's window), else
    /// the sample it was first seen in.
    pub since_ms: u64,
    /// Severity over time, oldest first: `(at_ms, severity)` when raised and at each change.
    pub severity_log: Vec<(u64, Severity)>,
    /// When the condition cleared, milliseconds since runtime start; `None` while active.
    pub resolved_at_ms: Option<u64>,
}
