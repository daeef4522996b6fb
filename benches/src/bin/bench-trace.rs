//! What a message trace costs a sender (issue 19): `n` casts 1 → 1 from a plain task to a
//! counter server on a current-thread runtime, with
//!
//! - `none`: no trace anywhere (the send path reads one relaxed atomic);
//! - `other`: another process traced (senders take the cold path and find nothing to do);
//! - `target`: the counter traced with the highest limits (100,000 events, 10,000 events/s: a
//!   burst of 10,000), so every cast of a run of at most 9,000 is recorded;
//! - `flood`: the counter traced with the defaults (1000 events, 500/s) and flooded: the rate
//!   limit trips at once and the rest of the run is untraced.
//!
//! Prints `{"mode": ..., "ns": <per cast>}`. Run alternately with `nice`, several times.

use beamline::trace::{TraceSpec, TraceTarget};
use beamline_benches::peers::beamline::{Counter, runtime};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(n)) = (args.get(1), args.get(2).and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: bench-trace <none|other|target|flood> <n>");
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ns = rt.block_on(run(mode, n));
    println!("{{\"mode\":\"{mode}\",\"ns\":{ns:.1}}}");
}

async fn run(mode: &str, n: u64) -> f64 {
    let rt = runtime(true);
    let server = rt.start::<Counter>(()).await.expect("starts");
    let other = rt.start::<Counter>(()).await.expect("starts");
    let most = TraceSpec {
        max_events: u64::MAX,
        max_ms: u64::MAX,
        rate_per_s: u32::MAX,
    };
    let _trace = match mode {
        "none" => None,
        "other" => Some(rt.trace(TraceTarget::Pid(other.pid()), TraceSpec::default())),
        "target" => Some(rt.trace(TraceTarget::Pid(server.pid()), most)),
        "flood" => Some(rt.trace(TraceTarget::Pid(server.pid()), TraceSpec::default())),
        _ => panic!("unknown mode {mode}"),
    };
    server.call(()).await.expect("replies");
    let start = Instant::now();
    for i in 0..n {
        let _ = server.cast(i).await;
    }
    black_box(server.call(()).await.expect("replies"));
    start.elapsed().as_nanos() as f64 / n as f64
}
