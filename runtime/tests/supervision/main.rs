//! Tests of supervision trees: one module per area of the supervision issue.

mod support;

mod api;
mod dynamic;
mod exit_reasons;
mod intensity;
mod names;
mod restarting;
mod shutdown;
mod starts;
mod strategies;
