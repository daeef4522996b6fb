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
//! - [`attach`], [`observers`]: what attaching an observer costs the application (workload 10).
//! - [`stats`]: alternating rounds: the order of systems per round, medians, spreads, ratios.
//! - [`report`]: holding a run's samples and writing the `BENCHMARKS.md` tables.
//! - [`callgrind`]: instructions per operation under `valgrind --tool=callgrind`.
//!
//! Targets: `bench-scale` (one measurement per child process), `bench-table` (runs every
//! system in alternating rounds, profiles under callgrind, writes the tables), and
//! `benches/peers.rs` (criterion, workloads 1, 2, 8, 9, for looking at one cell by hand).

pub mod attach;
pub mod callgrind;
pub mod flavor;
pub mod observers;
pub mod peers;
pub mod publishing;
pub mod report;
pub mod stats;
pub mod verdict;
pub mod workload;

pub use flavor::Flavor;
pub use workload::{Done, Peer};
