//! # Beamline
//!
//! Erlang/OTP-style processes on tokio, instrumented from the first line so that an observer
//! can show every process's mailbox, rates, busy time, state size and restarts.
//!
//! - [`server`]: the [`GenServer`] behaviour: `init`, `handle_call`, `handle_cast`,
//!   `handle_info`, `terminate`.
//! - [`handle`]: [`ServerRef`] (typed call/cast/send), [`ProcessRef`] (any process).
//! - [`ctx`]: [`Ctx`], what callbacks reach: themselves, deferred replies, links, monitors,
//!   timers.
//! - [`mailbox`]: unbounded or bounded mailboxes with an [`Overflow`] policy.
//! - [`registry`]: unique [`Name`]s, global or keyed.
//! - [`key_registry`]: Elixir's key/value [`Registry`] (unique or duplicate keys, pub/sub).
//! - [`supervisor`]: [`supervisor::Supervisor`] and [`supervisor::DynamicSupervisor`].
//! - [`timer`]: `send_after`, `send_interval`.
//! - [`runtime`]: [`Runtime`], the node that holds it all.
//! - [`agent`], [`task`]: Elixir's `Agent`, `Task` and `Task.Supervisor`, built on the same
//!   processes.
//! - [`trace`]: a safe message trace of one process ([`Runtime::trace`]).
//! - [`info`]: [`ProcessInfo`], a reading of one process's counters.
//! - [`publish`]: how counters reach an observer, one file per hop: the [`sampler`] turns
//!   counters into samples once per interval; [`observe`] holds [`Observation`], the
//!   subscription; [`record`] writes a sample stream to a file for replay; [`logs`] is a
//!   `tracing` layer keeping each process's last log lines. (The four are re-exported here under
//!   their old paths.)
//! - [`endpoint`]: the opt-in attach endpoint (Unix socket or loopback TCP, `BEAMLINE_OBSERVE`).
//! - `metrics` (feature `metrics`, default on): the opt-in Prometheus/OpenMetrics endpoint
//!   (`GET /metrics`, `BEAMLINE_METRICS`).
//!
//! Counters are per-process relaxed atomics (see `stats.rs`): no lock, allocation or system
//! call per message. While a sampler runs, a process's first change in an interval puts it on
//! the sampler's dirty list (one short lock per process per interval).

#![warn(missing_docs)]

pub mod agent;
pub mod ctx;
pub mod endpoint;
pub mod error;
pub mod exit;
pub mod handle;
pub mod info;
pub mod key_registry;
pub mod mailbox;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod publish;
pub mod registry;
pub mod runtime;
pub mod server;
pub mod supervisor;
pub mod task;
pub mod timer;
pub mod trace;

mod clock;
mod current;
mod deadline;
mod msg_types;
mod node;
mod panic;
mod peek;
mod process;
mod queue;
mod spawn;
mod stats;
mod table;
mod talkers;
mod wait_edge;

pub use publish::flight::FlightConfig;
pub use publish::{flight, logs, observe, record, sampler};

pub use agent::Agent;
pub use beamline_wire as wire;
pub use beamline_wire::Pid;
pub use ctx::Ctx;
pub use current::self_pid;
pub use endpoint::{Endpoint, EndpointConfig, ObserveAddr, ServeError};
pub use error::{CallError, CastError, StartError};
pub use exit::ExitReason;
pub use get_size2 as get_size;
pub use handle::{DEFAULT_CALL_TIMEOUT, ProcessRef, ReplyTo, ServerRef};
pub use info::ProcessInfo;
pub use key_registry::Registry;
pub use mailbox::{Mailbox, Overflow};
pub use msg_types::table::VariantNames;
pub use observe::Observation;
pub use process::{Down, MonitorRef};
pub use registry::Name;
pub use runtime::{Builder, Runtime};
pub use server::{CallReply, FormatStatus, GenServer, Info, InitError, Message, Next, StateSize};
pub use spawn::SpawnOpts;
pub use task::{Task, TaskError, TaskSupervisor};
pub use timer::{TimerRef, send_after, send_interval};
