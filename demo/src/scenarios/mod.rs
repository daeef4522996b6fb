//! The fault scenarios: the failures the seeds warn about, each small enough to recognise.
//!
//! Every scenario is a subtree under a supervisor named `scenario/<name>`, built by
//! [`Scenario::child_spec`]. Alone (`demo --scenario NAME`) it goes under the root supervisor
//! and repeats forever; in the default workload the fault schedule starts it under `faults`
//! for a window, then stops it. Either way its effect is bounded (mailboxes are drained or
//! dropped, leaks hit a ceiling and crash), so the demo can run for hours.

pub mod bottleneck;
pub mod crash;
pub mod deadlock;
pub mod leak;
pub mod overflow;
pub mod self_call;

use beamline::supervisor::{ChildSpec, Shutdown};
use std::time::Duration;

/// One fault scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Scenario {
    /// A consumer slower than its producer: its mailbox grows steadily.
    Overflow,
    /// One serialised server that many processes call: it saturates and its callers wait.
    Bottleneck,
    /// A worker that panics periodically, then too often: restarts, then escalation.
    Crash,
    /// Two servers that call each other: both blocked until the call timeout.
    Deadlock,
    /// A server that calls itself: the calling-self error, at once.
    SelfCall,
    /// A process whose state grows without bound.
    Leak,
}

impl Scenario {
    /// Every scenario, in the order the schedule plays them.
    pub const ALL: [Scenario; 6] = [
        Scenario::Overflow,
        Scenario::Bottleneck,
        Scenario::Crash,
        Scenario::Deadlock,
        Scenario::SelfCall,
        Scenario::Leak,
    ];

    /// The name used on the command line and in process names.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Overflow => "overflow",
            Scenario::Bottleneck => "bottleneck",
            Scenario::Crash => "crash",
            Scenario::Deadlock => "deadlock",
            Scenario::SelfCall => "self-call",
            Scenario::Leak => "leak",
        }
    }

    /// One line saying what happens and what to look at (for `--list`).
    pub fn summary(self) -> &'static str {
        match self {
            Scenario::Overflow => {
                "producer casts 100/s to a consumer that handles 40/s: overflow/consumer's mailbox grows (overflow alert)"
            }
            Scenario::Bottleneck => {
                "16 clerks call one ledger that takes 40 ms per call: the ledger is busy ~100% and the clerks wait on it (bottleneck)"
            }
            Scenario::Crash => {
                "crash/flaky panics every 4 s and is restarted, then crashes too fast: crash/sup exceeds its intensity and escalates (restart_storm)"
            }
            Scenario::Deadlock => {
                "deadlock/alice and deadlock/bob call each other: a wait-for cycle until the 8 s call timeout (deadlock, long_wait)"
            }
            Scenario::SelfCall => {
                "self-call/server calls itself every 3 s and gets the calling-self error at once instead of hanging (banner and event log)"
            }
            Scenario::Leak => {
                "leak/hoarder keeps every record it sees: its state grows ~8%/s until a simulated out-of-memory crash (state_growth)"
            }
        }
    }

    /// The scenario's subtree, rooted at a supervisor named `scenario/<name>`. It repeats its
    /// fault for as long as it runs; the schedule bounds it by stopping it after its window.
    pub fn child_spec(self) -> ChildSpec {
        match self {
            Scenario::Overflow => overflow::child_spec(),
            Scenario::Bottleneck => bottleneck::child_spec(),
            Scenario::Crash => crash::child_spec(),
            Scenario::Deadlock => deadlock::child_spec(),
            Scenario::SelfCall => self_call::child_spec(),
            Scenario::Leak => leak::child_spec(),
        }
    }

    /// The name of the scenario's top supervisor.
    pub fn supervisor_name(self) -> String {
        format!("scenario/{}", self.name())
    }

    /// Look a scenario up by its command-line name.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the scenarios' workers are stopped: some sit inside long callbacks (a blocked call, a
/// slow handler) and cannot answer a stop request until it returns, so they get a short grace
/// period and are then killed. Stopping a scenario must not hold up the schedule.
pub(crate) const WORKER_SHUTDOWN: Shutdown = Shutdown::Timeout(Duration::from_millis(500));
