//! Tests of supervision trees: one module per area of the supervision issue.

mod support;

mod api;
mod dynamic;
mod intensity;
mod names;
mod restarting;
mod shutdown;
mod strategies;
