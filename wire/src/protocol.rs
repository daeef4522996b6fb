//! The messages of a connection between a runtime's attach endpoint and an observer.
//!
//! ```text
//! observer                         runtime
//!    | -- Hello{version, token} ----> |   refused with a reason on version or token mismatch
//!    | <--- Welcome{node, role, ...} -|   the role says whether this client may act
//!    |                                |   (kill, restart, interval) or only watch
//!    | <--- History (0..n) ---------- |   the flight recorder's past ticks (version 3)
//!    | <--- Snapshot (full) --------- |   then one Delta per sampling interval;
//!    | <--- Delta ------------------- |   a client that falls behind gets a fresh Snapshot
//!    | -- Control{id, request} -----> |
//!    | <--- Reply{id, reply} -------- |
//! ```
//!
//! See `docs/PROTOCOL.md` for the byte-level description.

use crate::trace::{TraceBatch, TraceSpec, TraceTarget};
use crate::{Pid, ProcessSample, SystemSample};
use serde::{Deserialize, Serialize};

/// Bumped on any change to the encoding of these types; peers with another version are refused.
/// Version 2 added [`Welcome::role`]; version 3 writes a process's nine rates and fractions in
/// one byte each when they are zero, as most are (`compact.rs`), added [`ServerMsg::History`],
/// the per-type counters and the queue peek ([`ControlRequest::MessageTypes`],
/// [`ControlRequest::PeekQueue`]) and the message trace
/// ([`ControlRequest::TraceStart`], [`ServerMsg::Trace`]). Version 4 added each process's
/// hottest message type ([`crate::ProcessSample::hot_type`], one byte when it has none) and
/// the names it refers to ([`ServerMsg::TypeNames`]), and the sampled talkers at the end of
/// [`TypeCounts`]; a version-3 client gets none of them, its samples encoded without the field
/// ([`crate::as_protocol`]) and its `TypeCounts` in version 3's layout ([`crate::older`]).
pub const PROTOCOL_VERSION: u16 = 4;

/// The oldest client version a runtime serves (a client is answered in its own version).
/// Version 3 changed how a sample is encoded, so an
/// older observer could not read it: it is refused with a message naming both versions.
pub const MIN_CLIENT_VERSION: u16 = 3;

/// First frame from the client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// The client's [`PROTOCOL_VERSION`].
    pub version: u16,
    /// The shared token: required by TCP endpoints (on loopback, the runtime's cookie file
    /// holds it; see [`crate::cookie`]).
    pub token: Option<String>,
    /// Free text naming the client, for the runtime's logs (control characters are escaped
    /// there).
    pub client: String,
}

/// The runtime's answer to an accepted [`Hello`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// The server's [`PROTOCOL_VERSION`].
    pub version: u16,
    /// The node name given to the runtime (defaults to the program name).
    pub node: String,
    /// The operating-system process id of the runtime.
    pub os_pid: u32,
    /// Unique per runtime start: a restarted runtime is never mixed with the old one.
    pub incarnation: u64,
    /// When the runtime started, milliseconds since the Unix epoch. Sample times are relative to it.
    pub started_unix_ms: u64,
    /// The sampling interval now, milliseconds.
    pub interval_ms: u64,
    /// What this connection may do: an observer shows it, and an [`Role::Observe`] connection's
    /// kill, restart and interval requests are refused.
    pub role: Role,
}

/// What a connection was granted in the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Watch only: samples, state renderings of processes that opt in, logs. Requests that act
    /// on the runtime (`Kill`, `Restart`, `SetInterval`) are answered with an error.
    Observe,
    /// Watch and act: everything, including killing and restarting processes.
    Operate,
}

impl Role {
    /// Whether this role may send `request`.
    pub fn allows(self, request: &ControlRequest) -> bool {
        match request {
            ControlRequest::RenderState { .. }
            | ControlRequest::Logs { .. }
            | ControlRequest::MessageTypes { .. }
            | ControlRequest::PeekQueue { .. }
            | ControlRequest::TraceStart { .. }
            | ControlRequest::TraceStop { .. } => true,
            ControlRequest::Kill { .. }
            | ControlRequest::Restart { .. }
            | ControlRequest::SetInterval { .. } => self == Role::Operate,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Observe => "observe",
            Role::Operate => "operate",
        })
    }
}

/// Every live (and recently exited) process at one instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Sample number; a delta with `seq` n applies to the state at n - 1.
    pub seq: u64,
    /// Milliseconds since runtime start.
    pub at_ms: u64,
    /// The sampling interval, milliseconds.
    pub interval_ms: u64,
    /// Runtime-wide figures.
    pub system: SystemSample,
    /// All processes.
    pub processes: Vec<ProcessSample>,
}

/// What changed since the previous sample: bandwidth follows change, not process count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// Sample number; applies to the state left by sample `seq - 1`.
    pub seq: u64,
    /// Milliseconds since runtime start.
    pub at_ms: u64,
    /// The sampling interval, milliseconds.
    pub interval_ms: u64,
    /// Runtime-wide figures.
    pub system: SystemSample,
    /// Processes spawned or changed since the previous sample, in full.
    pub changed: Vec<ProcessSample>,
    /// Processes no longer reported (exited and past their retention window).
    pub removed: Vec<Pid>,
}

/// A request from an observer to act on the runtime.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ControlRequest {
    /// Exit the process with this reason (OTP's `Process.exit(pid, reason)`; `kill` is brutal).
    Kill {
        /// Target.
        pid: Pid,
        /// `kill` for a brutal kill, anything else is an exit signal with that reason.
        reason: String,
    },
    /// Ask the process's supervisor to restart it (terminate then start its child slot).
    Restart {
        /// Target.
        pid: Pid,
    },
    /// Change the sampling interval; clamped to at least 100 ms.
    SetInterval {
        /// New interval, milliseconds.
        ms: u64,
    },
    /// Fetch a rendering of the process's state, if it opted in.
    RenderState {
        /// Target.
        pid: Pid,
    },
    /// Fetch the last log lines emitted inside the process.
    Logs {
        /// Target.
        pid: Pid,
    },
    /// Fetch the per-type message counters of these processes (at most
    /// [`MAX_TYPE_PIDS`]; unknown pids are left out of the answer). Asked for on demand (the
    /// observer's Detail asks once per sample) so that samples do not grow.
    MessageTypes {
        /// Targets.
        pids: Vec<Pid>,
    },
    /// Fetch the first `n` (at most [`MAX_PEEK`]) messages queued in the process's mailbox.
    PeekQueue {
        /// Target.
        pid: Pid,
        /// How many.
        n: u32,
    },
    /// Trace one process's messages; batches come as [`ServerMsg::Trace`] until a limit ends
    /// the trace, it is stopped, or this connection closes.
    TraceStart {
        /// Which process ([`TraceTarget::All`] is refused).
        target: TraceTarget,
        /// Limits; zeros take the runtime's defaults.
        spec: TraceSpec,
    },
    /// Stop a trace this connection started.
    TraceStop {
        /// The id from [`ControlReply::TraceStarted`].
        trace: u64,
    },
}

/// The most pids one [`ControlRequest::MessageTypes`] answers for.
pub const MAX_TYPE_PIDS: usize = 64;

/// The most type names a runtime hands out in [`ServerMsg::TypeNames`] over its life: a
/// program has a bounded number of message types and variants, so this is a guard, not a
/// limit one meets; past it, processes whose hottest type has no id yet show none.
pub const MAX_TYPE_NAMES: usize = 4096;

/// Names of message types, for [`crate::ProcessSample::hot_type`] (protocol version 4): the
/// list of a runtime is append-only, and each connection is sent the names it has not seen,
/// before the first sample that refers to them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeNames {
    /// The id of `names[0]`: the number of names sent before on this connection.
    pub first: u32,
    /// Names as [`TypeCount::name`] gives them (`Cmd::Deposit`, `Cmd#2`, `other`), ids
    /// `first`, `first + 1`, ...
    pub names: Vec<String>,
}

/// The most messages one [`ControlRequest::PeekQueue`] returns.
pub const MAX_PEEK: u32 = 32;

/// One process's messages by type, counted since it started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeCounts {
    /// The process.
    pub pid: Pid,
    /// When they were read, milliseconds since runtime start (rates are differences of two
    /// readings).
    pub at_ms: u64,
    /// One entry per type seen, in no particular order; at most 16 types, then `other`.
    pub types: Vec<TypeCount>,
    /// Who sent to this process over the last `talk_window_ms`, most first (at most
    /// [`MAX_TALKERS`]), from about one message in `talk_every` (version 4; a version-3
    /// client is sent the fields above only).
    pub senders: Vec<Talker>,
    /// Whom this process sent to over the same window, most first (version 4).
    pub receivers: Vec<Talker>,
    /// How far back `senders` and `receivers` reach, milliseconds (0 when nothing was seen).
    pub talk_window_ms: u64,
    /// One sent message in this many is noted (the runtime's sampling rate): a talker's
    /// messages over the window are about `sampled * talk_every`.
    pub talk_every: u32,
}

impl TypeCounts {
    /// About how many messages per second `t` (one of `senders` or `receivers`) stands for: its
    /// sampled messages times the sampling rate, over the window.
    pub fn per_s(&self, t: &Talker) -> f64 {
        let secs = (self.talk_window_ms as f64 / 1000.0).max(0.001);
        t.sampled as f64 * f64::from(self.talk_every.max(1)) / secs
    }
}

/// The most entries in [`TypeCounts::senders`] and [`TypeCounts::receivers`].
pub const MAX_TALKERS: usize = 8;

/// One party of a process's sampled traffic ([`TypeCounts::senders`], [`TypeCounts::receivers`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Talker {
    /// The other process; `None` for messages sent from outside any process (plain tasks,
    /// `main`, timers' own tasks).
    pub pid: Option<Pid>,
    /// Messages noted in the window (an estimate: one message in `talk_every` is noted, and a
    /// talker that took a full table's last slot may be counted a little high).
    pub sampled: u64,
    /// Its part of all the messages noted in the window, 0 to 1 (the rest: other talkers).
    pub share: f32,
}

/// Messages of one type (for enums, one variant) handled by one process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeCount {
    /// `Cmd::Deposit` when the process named its variants, `Cmd#1` (the variant's
    /// discriminant) when it did not and another variant was seen, else the type's name;
    /// `other` for types past the table's 16 slots.
    pub name: String,
    /// How it arrived.
    pub kind: crate::MsgKind,
    /// Messages handled since the process started.
    pub count: u64,
    /// Time spent handling them, nanoseconds (each message is charged its batch's mean).
    pub busy_ns: u64,
    /// The longest of those charges, nanoseconds.
    pub max_ns: u64,
}

/// The head of a process's mailbox.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueuePeek {
    /// When it was taken, milliseconds since runtime start.
    pub at_ms: u64,
    /// Messages the process already took from the mailbox into its current batch: they are
    /// ahead of `messages` and cannot be seen from outside.
    pub in_batch: u64,
    /// Messages in the mailbox itself (after `in_batch`).
    pub queued: u64,
    /// The first of them, oldest first.
    pub messages: Vec<QueuedMessage>,
}

/// One queued message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuedMessage {
    /// Its type, named as in [`TypeCount::name`].
    pub name: String,
    /// How it arrived.
    pub kind: crate::MsgKind,
    /// Its inline size in bytes (heap data it owns is not counted).
    pub bytes: u64,
    /// How long it has waited, microseconds: exact when `age_exact`, else at least this much
    /// (only about one message in 32 carries its enqueue time; a later stamped message is
    /// younger than it). `None` when no later message was stamped either.
    pub age_us: Option<u64>,
    /// Whether `age_us` is exact.
    pub age_exact: bool,
    /// Its `Debug` text, cut to 256 bytes, only if the process renders messages
    /// (`GenServer::format_message`).
    pub text: Option<String>,
}

/// The runtime's answer to a [`ControlRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ControlReply {
    /// Done.
    Ok,
    /// The state rendering (bounded in size).
    State(String),
    /// Recent log lines, oldest first.
    Logs(Vec<String>),
    /// Could not be done; says why.
    Error(String),
    /// Answer to [`ControlRequest::MessageTypes`].
    MessageTypes(Vec<TypeCounts>),
    /// Answer to [`ControlRequest::PeekQueue`].
    Queue(QueuePeek),
    /// A trace started.
    TraceStarted {
        /// Its id, in every [`ServerMsg::Trace`] batch.
        trace: u64,
        /// The process traced (a name resolved to its pid).
        pid: Pid,
        /// The limits in force after clamping.
        spec: TraceSpec,
    },
}

/// Frames sent by the observer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// The handshake; must be the first frame.
    Hello(Hello),
    /// A control request with a client-chosen id echoed in the reply.
    Control {
        /// Correlates the reply.
        id: u64,
        /// What to do.
        request: ControlRequest,
    },
}

/// Frames sent by the runtime.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ServerMsg {
    /// Handshake accepted.
    Welcome(Welcome),
    /// Handshake refused, or the connection is being closed; a human-readable reason.
    Refused(String),
    /// Full state.
    Snapshot(Snapshot),
    /// Changes since the previous sample.
    Delta(Delta),
    /// Answer to a control request.
    Reply {
        /// The request's id.
        id: u64,
        /// The answer.
        reply: ControlReply,
    },
    /// One past tick from the runtime's flight recorder (protocol version 3), sent to a new
    /// subscriber after its `Welcome` and before its first `Snapshot`, oldest first: `changed`
    /// holds the processes that changed at that tick, `removed` those that went. Ticks may be
    /// thinned (older ones merged), so `seq` numbers have gaps; the first applies to an empty
    /// table. See `docs/PROTOCOL.md` and `docs/PUBLISHING.md`.
    History(Delta),
    /// Events of a trace this connection started.
    Trace(TraceBatch),
    /// Message type names not yet sent on this connection (protocol version 4), sent before
    /// the samples whose `hot_type` refers to them. Never sent to a version-3 client.
    TypeNames(TypeNames),
}
