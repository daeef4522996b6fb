//! Workloads that need a fresh process each: spawn plus first message at N processes (3), RSS
//! per idle process (4), sampler cost per sample (5) and stream bytes (6). `bench-table` runs
//! one child per measurement so that one framework's memory never pollutes another's.
//!
//! ```text
//! bench-scale spawn <peer> <ct|mt> <n>   # {"ns_per_process":..,"rss_bytes_per_process":..}
//! bench-scale publish <n>                # {"cost_us":..,"snapshot_bytes":..,"delta_bytes":..}
//! bench-scale cast <peer> <n>            # one cast 1 -> 1 run (ct), for profiling
//! bench-scale call <peer> <n>            # sequential call round trips (ct), for profiling
//! ```
//!
//! Peers: tokio, beamline, beamline-off, ractor, kameo (kameo-console when built with that
//! feature), actix (ct only). Exits 2 on bad arguments.

use beamline_benches::flavor::{self, Flavor};
use beamline_benches::peers::KAMEO;
use beamline_benches::peers::actix::Actix;
use beamline_benches::peers::beamline::Beamline;
use beamline_benches::peers::kameo::Kameo;
use beamline_benches::peers::ractor::Ractor;
use beamline_benches::peers::tokio_raw::Raw;
use beamline_benches::publishing::{self, Churn};
use beamline_benches::workload::{self, Peer};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["spawn", peer, flavor, n] => {
            let (Some(flavor), Ok(n)) = (Flavor::parse(flavor), n.parse()) else {
                usage()
            };
            spawn(peer, flavor, n);
        }
        [verb @ ("cast" | "call"), peer, n] => {
            let Ok(n) = n.parse() else { usage() };
            cast(peer, n, *verb == "call");
        }
        ["publish", n] => {
            let Ok(n) = n.parse() else { usage() };
            publish(n);
        }
        _ => usage(),
    }
    // Tearing down a million actors can take longer than creating them; nothing to flush.
    std::process::exit(0);
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-scale spawn <peer> <ct|mt> <n> | bench-scale publish <n> | bench-scale cast|call <peer> <n>"
    );
    std::process::exit(2);
}

/// Resident set size of this process, bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("statm resident field");
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    pages * page
}

fn spawn(peer: &str, flavor: Flavor, n: usize) {
    let (elapsed, rss_growth) = match peer {
        "tokio" => on_tokio(flavor, || Raw, n),
        "beamline" => on_tokio(flavor, || Beamline::new(true), n),
        "beamline-off" => on_tokio(flavor, || Beamline::new(false), n),
        "ractor" => on_tokio(flavor, || Ractor, n),
        p if p == KAMEO => on_tokio(flavor, || Kameo, n),
        "actix" if flavor == Flavor::Current => flavor::run_actix(async move {
            let before = rss();
            let (elapsed, workers) = workload::spawn(Actix, n).await;
            let growth = rss().saturating_sub(before);
            std::mem::forget(workers);
            (elapsed, growth)
        }),
        _ => usage(),
    };
    println!(
        "{}",
        serde_json::json!({
            "ns_per_process": elapsed.as_nanos() as f64 / n as f64,
            "rss_bytes_per_process": rss_growth as f64 / n as f64,
        })
    );
}

/// One cast 1 -> 1 run (`call`: sequential call round trips) of `n` messages on the
/// current-thread flavor: a target for `valgrind --tool=callgrind`.
fn cast(peer: &str, n: u64, call: bool) {
    let rt = Flavor::Current.runtime();
    let elapsed = match (peer, call) {
        ("tokio", false) => flavor::run(&rt, workload::cast(Raw, 1, n)),
        ("tokio", true) => flavor::run(&rt, workload::call(Raw, 1, n)),
        ("beamline" | "beamline-off", _) => {
            let bl = rt.block_on(async { Beamline::new(peer == "beamline") });
            if call {
                flavor::run(&rt, workload::call(bl, 1, n))
            } else {
                flavor::run(&rt, workload::cast(bl, 1, n))
            }
        }
        _ => usage(),
    };
    println!(
        "{}",
        serde_json::json!({ "ns_per_message": elapsed.as_nanos() as f64 / n as f64 })
    );
}

/// Spawn `n` workers of `make()`'s peer and measure time and RSS growth, in this process.
fn on_tokio<P: Peer>(flavor: Flavor, make: impl FnOnce() -> P, n: usize) -> (Duration, u64) {
    let rt = flavor.runtime();
    let peer = {
        let _guard = rt.enter();
        make()
    };
    let before = rss();
    let (elapsed, workers) = flavor::run(&rt, workload::spawn(peer, n));
    let growth = rss().saturating_sub(before);
    std::mem::forget(workers);
    std::mem::forget(rt);
    (elapsed, growth)
}

/// `n` idle instrumented processes, 1% of them changing every interval, one subscriber: the
/// sampler's own timing of each tick, and the encoded size of the snapshot and of each delta.
fn publish(n: usize) {
    const TICKS: usize = 12;
    const SKIP: usize = 2;
    let rt = Flavor::Current.runtime();
    let out = rt.block_on(async move {
        let bl = Beamline::new(true);
        let idle = publishing::idle_processes(&bl.rt, n).await;
        let busy = idle[..n / 100].to_vec();
        let _churn = Churn::start(busy);
        let stream = publishing::watch(&bl.rt, TICKS).await;
        std::mem::forget(idle);
        stream
    });
    let cost = median(&out.cost_us[SKIP..]);
    println!(
        "{}",
        serde_json::json!({
            "processes": n,
            "cost_us": cost,
            "cost_us_all": out.cost_us,
            "snapshot_bytes": out.snapshot_bytes,
            "snapshot_processes": out.snapshot_processes,
            "delta_bytes": median(&out.delta_bytes[SKIP..]),
            "delta_changed": median(&out.delta_changed[SKIP..]),
        })
    );
}

fn median(xs: &[u64]) -> u64 {
    let mut v = xs.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}
