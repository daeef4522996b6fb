//! Tests of the Prometheus/OpenMetrics endpoint (issue 20): the HTTP listener and its rules,
//! figures from real processes, and the series count under 100,000 processes.

mod cardinality;
mod endpoint;
mod support;
#[path = "../common/tls.rs"]
mod tls;
