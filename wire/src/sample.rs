//! What one sample says about a process and about the runtime as a whole.
//!
//! Rates and fractions are computed by the runtime's sampler over one sampling interval, so every
//! consumer (TUI, JSON, recordings) sees the same figures.

use crate::Pid;
use serde::{Deserialize, Serialize};

/// What sort of process this is; the observer uses it for icons and grouping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProcessKind {
    /// A `GenServer`.
    Server,
    /// A `Supervisor` or `DynamicSupervisor`.
    Supervisor,
    /// An `Agent` wrapping a value.
    Agent,
    /// A `Task` running one future.
    Task,
}

impl ProcessKind {
    /// The lower-case name used in JSON and on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessKind::Server => "server",
            ProcessKind::Supervisor => "supervisor",
            ProcessKind::Agent => "agent",
            ProcessKind::Task => "task",
        }
    }
}

/// The three ways a message reaches a process, as in OTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MsgKind {
    /// A request that waits for a reply.
    Call,
    /// A fire-and-forget request.
    Cast,
    /// Anything else: timers, monitors' down messages, trapped exits, plain sends.
    Info,
}

impl MsgKind {
    /// The lower-case name used in JSON and on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            MsgKind::Call => "call",
            MsgKind::Cast => "cast",
            MsgKind::Info => "info",
        }
    }
}

/// What a process is doing at the moment of the sample.
///
/// `since_ms` is milliseconds since the runtime started (see [`crate::Welcome::started_unix_ms`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Status {
    /// Running `init`.
    Starting,
    /// Waiting for a message.
    Idle,
    /// Inside a callback.
    Handling {
        /// Which callback.
        kind: MsgKind,
        /// When it started handling.
        since_ms: u64,
    },
    /// Blocked on another process (a call, awaiting a task, waiting for it to stop): an edge of
    /// the wait-for graph.
    Waiting {
        /// The process it waits on.
        on: Pid,
        /// When the call was made.
        since_ms: u64,
    },
    /// Idle after asking to hibernate: caches dropped, buffers shrunk.
    Hibernating,
    /// Running `terminate` or being shut down.
    Terminating,
    /// Gone; kept for a short while so that short-lived processes are seen at least once.
    Exited {
        /// The exit reason, rendered.
        reason: String,
    },
}

impl Status {
    /// A short lower-case word for tables and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Idle => "idle",
            Status::Handling {
                kind: MsgKind::Call,
                ..
            } => "handling_call",
            Status::Handling {
                kind: MsgKind::Cast,
                ..
            } => "handling_cast",
            Status::Handling {
                kind: MsgKind::Info,
                ..
            } => "handling_info",
            Status::Waiting { .. } => "waiting",
            Status::Hibernating => "hibernating",
            Status::Terminating => "terminating",
            Status::Exited { .. } => "exited",
        }
    }

    /// The process this one is blocked on, if it is blocked on one.
    pub fn waiting_on(&self) -> Option<Pid> {
        match self {
            Status::Waiting { on, .. } => Some(*on),
            _ => None,
        }
    }
}

/// Restart policy of a supervised child slot (OTP's `restart` key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RestartType {
    /// Always restarted.
    Permanent,
    /// Restarted only after an abnormal exit.
    Transient,
    /// Never restarted.
    Temporary,
}

/// What a supervisor says about itself, so the observer can show how close it is to giving up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupervisorInfo {
    /// `one_for_one`, `one_for_all`, `rest_for_one` or `dynamic`.
    pub strategy: String,
    /// Restart intensity: at most this many restarts ...
    pub max_restarts: u32,
    /// ... within this many milliseconds.
    pub period_ms: u64,
    /// Restarts counted in the current window.
    pub restarts_in_window: u32,
    /// Live children now.
    pub children: u32,
    /// Children whose restart failed and is being retried (OTP's `restarting`): listed by the
    /// supervisor but with no process, so no row of their own.
    pub restarting: u32,
}

/// Per-process figures taken from tokio-metrics' task monitor, over the last interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskMetrics {
    /// Mean time of one poll of the process's task, in microseconds.
    pub mean_poll_us: f64,
    /// Mean time the task waited to be polled after being woken, in microseconds.
    pub mean_scheduled_us: f64,
    /// Polls that took longer than tokio-metrics' slow-poll threshold.
    pub slow_polls: u64,
}

/// One process as seen by one sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    /// Its identity.
    pub id: Pid,
    /// Its registered name, if any.
    pub name: Option<String>,
    /// The supervisor (or spawning process) above it in the tree.
    pub parent: Option<Pid>,
    /// The child id in its supervisor's spec, if supervised.
    pub child_id: Option<String>,
    /// Server, supervisor, agent or task.
    pub kind: ProcessKind,
    /// The Rust type behind it, e.g. `bank::Account`.
    pub behaviour: String,
    /// When it was spawned, milliseconds since runtime start.
    pub spawned_ms: u64,
    /// What it is doing now.
    pub status: Status,
    /// Messages waiting in its mailbox now.
    pub mailbox_len: u64,
    /// The deepest its mailbox got within the interval.
    pub mailbox_peak: u64,
    /// Capacity of a bounded mailbox; `None` when unbounded.
    pub mailbox_capacity: Option<u64>,
    /// Messages that arrived per second over the interval.
    #[serde(with = "crate::compact::float")]
    pub in_per_s: f64,
    /// Messages it sent per second over the interval.
    #[serde(with = "crate::compact::float")]
    pub out_per_s: f64,
    /// Calls handled per second.
    #[serde(with = "crate::compact::float")]
    pub call_per_s: f64,
    /// Casts handled per second.
    #[serde(with = "crate::compact::float")]
    pub cast_per_s: f64,
    /// Infos handled per second.
    #[serde(with = "crate::compact::float")]
    pub info_per_s: f64,
    /// Messages received since spawn.
    pub received: u64,
    /// Messages handled since spawn.
    pub handled: u64,
    /// Messages dropped since spawn (overflow policy, or queued when it crashed).
    pub dropped: u64,
    /// Fraction of the interval spent inside callbacks, 0..=1.
    #[serde(with = "crate::compact::float")]
    pub busy: f64,
    /// Mean time per handled message over the interval, microseconds.
    #[serde(with = "crate::compact::float")]
    pub mean_handle_us: f64,
    /// Longest time for one message over the interval, microseconds (an upper bound when messages
    /// were handled in a batch).
    #[serde(with = "crate::compact::float")]
    pub max_handle_us: f64,
    /// Mean time a message waited in the mailbox before being handled, microseconds (sampled).
    #[serde(with = "crate::compact::float")]
    pub mean_wait_us: f64,
    /// Size of its state in bytes.
    pub state_bytes: u64,
    /// `true` when `state_bytes` is a deep size; `false` when only the shallow size is known.
    pub state_deep: bool,
    /// Restarts of its child slot (they survive the process being replaced).
    pub restarts: u32,
    /// The last few exit reasons of its child slot, newest last.
    pub exit_history: Vec<String>,
    /// Processes linked to it.
    pub links: Vec<Pid>,
    /// Processes it monitors.
    pub monitors: Vec<Pid>,
    /// Whether it traps exits.
    pub trap_exit: bool,
    /// Whether it has opted in to showing a rendering of its state.
    pub inspectable: bool,
    /// How many times it has hibernated.
    pub hibernations: u64,
    /// Supervisor details, for supervisors.
    pub supervisor: Option<SupervisorInfo>,
    /// Task metrics from tokio-metrics, when enabled.
    pub task: Option<TaskMetrics>,
    /// The keys it holds in key/value registries (`beamline::Registry`); `None` when it holds
    /// none, so a process without keys costs one byte.
    #[serde(default)]
    pub keys: Option<RegisteredKeys>,
    /// Calls it made to itself since spawn, each refused at once with `CallingSelf` (in OTP
    /// such a call blocks until its timeout): a bug the observer's banner and event log name.
    #[serde(default)]
    pub self_calls_refused: u64,
    /// The message type it handled most of over the interval (protocol version 4): an index
    /// into the type names this connection was sent in [`crate::ServerMsg::TypeNames`] (ids
    /// are per runtime). `None` when it handled no message in the interval or its sample was
    /// not built at tick time. Not in the bytes at all for a version-3 peer
    /// ([`crate::as_protocol`]).
    #[serde(
        default,
        skip_serializing_if = "crate::compact::hot_type::skipped",
        deserialize_with = "crate::compact::hot_type::deserialize"
    )]
    pub hot_type: Option<u32>,
}

/// A process's registered keys as the observer shows them: rendered with `Debug` and capped, so
/// a process holding thousands of keys still makes a small sample.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisteredKeys {
    /// The first few keys (at most 8), each cut to at most 64 characters.
    pub shown: Vec<String>,
    /// Keys held beyond those in `shown`.
    pub more: u32,
}

impl RegisteredKeys {
    /// All the keys it holds, shown or not.
    pub fn total(&self) -> u64 {
        self.shown.len() as u64 + u64::from(self.more)
    }
}

impl ProcessSample {
    /// A sample with everything zero: a starting point for producers and tests.
    pub fn new(id: Pid, kind: ProcessKind, behaviour: impl Into<String>) -> Self {
        ProcessSample {
            id,
            name: None,
            parent: None,
            child_id: None,
            kind,
            behaviour: behaviour.into(),
            spawned_ms: 0,
            status: Status::Idle,
            mailbox_len: 0,
            mailbox_peak: 0,
            mailbox_capacity: None,
            in_per_s: 0.0,
            out_per_s: 0.0,
            call_per_s: 0.0,
            cast_per_s: 0.0,
            info_per_s: 0.0,
            received: 0,
            handled: 0,
            dropped: 0,
            busy: 0.0,
            mean_handle_us: 0.0,
            max_handle_us: 0.0,
            mean_wait_us: 0.0,
            state_bytes: 0,
            state_deep: false,
            restarts: 0,
            exit_history: Vec::new(),
            links: Vec::new(),
            monitors: Vec::new(),
            trap_exit: false,
            inspectable: false,
            hibernations: 0,
            supervisor: None,
            task: None,
            keys: None,
            self_calls_refused: 0,
            hot_type: None,
        }
    }

    /// The name if it has one, else the pid: what a human calls this process.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => self.id.to_string(),
        }
    }
}

/// The runtime as a whole, in one sample.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemSample {
    /// Live processes.
    pub processes: u64,
    /// Processes spawned since start.
    pub spawned_total: u64,
    /// Processes exited since start.
    pub exited_total: u64,
    /// Messages handled per second across all processes.
    pub msgs_per_s: f64,
    /// Messages dropped since start, all processes (overflow policies, crashes, casts to the dead).
    pub dropped_total: u64,
    /// Casts and sends that found no live process, since start.
    pub dead_letters: u64,
    /// tokio worker threads.
    pub workers: u64,
    /// Fraction of the interval the workers were busy, 0..=1, averaged over workers.
    pub worker_busy: f64,
    /// Tasks in tokio's global (injection) queue now.
    pub global_queue_depth: u64,
    /// Tasks in workers' local queues now (needs `tokio_unstable`; 0 otherwise).
    pub local_queue_depth: u64,
    /// Alive tokio tasks (includes non-process tasks).
    pub alive_tasks: u64,
    /// How long the last sample took to produce, microseconds: the sampler's own work (its
    /// wall time minus the time it had yielded its worker to other tasks).
    pub sample_cost_us: u64,
    /// Updates the local channel dropped for slow subscribers since start.
    pub missed_updates: u64,
}
