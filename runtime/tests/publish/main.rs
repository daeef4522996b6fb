//! Tests of publishing (issue 4): the sampler, the local channel, the attach endpoint, control
//! requests, recordings and per-process logs. One binary, one module per area.

mod support;
#[path = "../common/tls.rs"]
mod tls;

mod attach;
mod channel;
mod control;
mod endpoint;
mod flight;
mod hot_type;
mod look_inside;
mod record;
mod sampler;
mod trace;
