//! End-to-end tests across Beamline's crates and binaries: one test binary, a module per area,
//! helpers in `support`. The guarantees these check are listed, test by test, in
//! `RELIABILITY.md` at the root.

mod support;

mod cli;
mod cross_crate;
mod endpoint_fuzz;
mod fleet;
mod flight;
mod guarantees;
mod hostile;
mod observer;
mod otlp;
mod security;
mod spans;
mod tls;
mod trace;
