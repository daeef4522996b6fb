//! The contract between a Beamline runtime and anything that watches it.
//!
//! The runtime (producer) turns its internal counters into these types at its edge; the observer
//! (consumer) turns them into its own view state. Nothing here depends on the runtime, so the
//! observer can be built, tested and fuzzed against the wire alone.
//!
//! - [`pid`]: process identifiers, printed the Erlang way (`<0.42.0>`).
//! - [`sample`]: what one sample says about one process and about the whole runtime.
//! - [`protocol`]: the messages exchanged on a connection: handshake, snapshot, delta, control.
//! - [`frame`]: length-delimited framing with a maximum frame size, sync and async.
//! - [`table`]: the receiver's model: a full snapshot with deltas applied to it.
//! - [`cookie`]: where a loopback endpoint's secret lives, so that an observer run by the same
//!   user finds it.
//! - [`record`]: the versioned file format for recordings that the observer replays.

mod compact;
pub mod cookie;
pub mod frame;
pub mod older;
pub mod pid;
pub mod protocol;
pub mod record;
pub mod sample;
pub mod table;
pub mod trace;

pub use compact::as_protocol;
pub use frame::{FrameError, MAX_FRAME_LEN};
pub use pid::Pid;
pub use protocol::{
    ClientMsg, ControlReply, ControlRequest, Delta, Hello, MAX_PEEK, MAX_TALKERS, MAX_TYPE_NAMES,
    MAX_TYPE_PIDS, MIN_CLIENT_VERSION, PROTOCOL_VERSION, QueuePeek, QueuedMessage, Role, ServerMsg,
    Snapshot, Talker, TypeCount, TypeCounts, TypeNames, Welcome,
};
pub use sample::{
    MsgKind, ProcessKind, ProcessSample, RegisteredKeys, RestartType, Status, SupervisorInfo,
    SystemSample, TaskMetrics,
};
pub use table::ProcessTable;
