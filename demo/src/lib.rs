//! # Beamline's demo
//!
//! A small living system to watch in the observer: the services people build with GenServers
//! (from the seeds: a bank, a notification queue, a periodic reporter, a cache, contract state
//! machines, sessions, a scraper pipeline, a rate limiter), load that comes and goes in waves,
//! and the failures the seeds warn about, played on a schedule so that each shows on screen.
//!
//! - [`load`]: the wave that drives load, and a tiny deterministic random source.
//! - [`services`]: one module per service, each with its supervisor's child spec.
//! - [`scenarios`]: one module per fault (`overflow`, `bottleneck`, `crash`, `deadlock`,
//!   `self-call`, `leak`), each runnable alone or from the schedule.
//! - [`workload`]: the whole tree under the root supervisor, and the fault schedule.
//! - [`cli`]: the command line (`--serve`, `--scenario`, `--list`, `--duration`).
//!
//! Everything is started from plain functions taking a [`beamline::Runtime`], so the tests in
//! `demo/tests/` drive the same code as the binary, on tokio's paused clock.

pub mod cli;
pub mod load;
pub mod scenarios;
pub mod services;
pub mod workload;

pub use scenarios::Scenario;
