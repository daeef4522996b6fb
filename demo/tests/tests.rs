//! The demo's tests, one binary: scenarios (each fault's signature in the stats), the default
//! workload (30 virtual seconds, nothing exits unexpectedly) and the real binary's command line.

mod cli;
mod diagnosis;
mod scenarios;
mod support;
mod workload;
