//! # beamline-benches
//!
//! Beamline side by side with the runtimes users compare it to, on one machine and in one run
//! (issue 8). Every peer implements [`Peer`] with the same two actors — a counter server that
//! takes casts and answers calls, and an idle worker that acknowledges its first message — so
//! the message path, spawn and memory workloads are one generic driver each and differ only in
//! the peer's own API.
//!
//! - [`peers`]: raw tokio (mpsc + oneshot: the floor), Beamline (instrumented or not), ractor,
//!   kameo (with its `console` feature when this crate's `kameo-console` feature is on), actix.
//! - [`workload`]: the generic drivers: cast throughput, call round trip, spawn plus first
//!   message, idle processes for RSS.
//! - [`flavor`]: current-thread and multi-thread tokio, and actix's own system.
//! - [`publishing`]: Beamline-only workloads: sampler cost, stream bytes, being watched.
//! - [`report`]: reading criterion's results and writing the `BENCHMARKS.md` table.
//!
//! Targets: `benches/peers.rs` (criterion: workloads 1, 2, 8, 9), `bench-scale` (workloads 3,
//! 4, 5, 6, one framework per child process), `bench-table` (runs everything, writes the table).

pub mod flavor;
pub mod peers;
pub mod publishing;
pub mod report;
pub mod workload;

pub use flavor::Flavor;
pub use workload::{Done, Peer};
