//! Publishing: how the counters every process keeps reach an observer, one job per file.
//!
//! | hop | file |
//! |---|---|
//! | a process that changed goes on the dirty list | `publish/dirty.rs` |
//! | once per interval the sampler reads the dirty processes | `publish/sampler.rs` |
//! | ... turning counters into wire samples | `publish/to_wire.rs` |
//! | ... naming each one's hottest message type by a small id | `publish/type_names.rs` |
//! | ... cut into frames, encoded once for every connection | `publish/frames.rs` |
//! | the tick goes into the hub's ring | `publish/hub.rs` |
//! | a subscription takes it from there | `publish/observe.rs` |
//! | and may act on the runtime | `publish/control.rs` |
//!
//! Beside them: how often to sample when observers ask for different intervals
//! (`publish/interval.rs`), per-process tokio task monitors (`publish/task_monitors.rs`),
//! recording a stream to a file ([`record`]) and per-process log lines ([`logs`]). The attach
//! endpoint (`endpoint.rs`) serves one [`observe::Observation`] per connection.
//!
//! Publishing reaches the processes through the runtime's shared state, never through
//! [`crate::Runtime`] (which owns it).

pub(crate) mod control;
pub(crate) mod dirty;
pub mod flight;
pub(crate) mod frames;
pub(crate) mod hub;
pub mod interval;
pub mod logs;
pub mod observe;
pub(crate) mod prev;
pub mod record;
pub mod sampler;
pub(crate) mod slice;
pub(crate) mod stream;
pub(crate) mod task_monitors;
pub(crate) mod to_wire;
pub(crate) mod type_names;
pub(crate) mod welcome;
