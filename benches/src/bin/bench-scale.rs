//! One measurement per process: `bench-table` starts a fresh child for every sample of every
//! system, so that one framework's memory, allocator state or leftover tasks never pollute
//! another's, and so that the order of the systems can be rotated freely between rounds.
//!
//! ```text
//! bench-scale cast <peer> <ct|mt> <senders> <n>     # {"ns": per cast}, after a warm-up of n/10
//! bench-scale call <peer> <ct|mt> <callers> <n>     # {"ns": per call}, after a warm-up of n/10
//! bench-scale restart <peer> <ct|mt> <n>            # {"ns": per crash-to-answer}
//! bench-scale spawn <peer> <ct|mt> <n>              # {"ns_per_process":..,"rss_bytes_per_process":..}
//! bench-scale watched <bare|idle|observed> <ct|mt> <n>  # Beamline cast 1 -> 1 beside 100,000 idle
//! bench-scale publish <n>                           # {"cost_us":..,"snapshot_bytes":..,"delta_bytes":..}
//! bench-scale attach <observe|endpoint|kameo-console> <ct|mt> <n>   # attach figures (workload 10)
//! bench-scale profile <cast|call|spawn> <peer> <n>  # exactly n operations on ct, no warm-up:
//!                                                   # a target for valgrind --tool=callgrind
//! bench-scale read <beamline|kameo> <addr> <n> <hold ms>  # the observer side of `attach`
//! ```
//!
//! Peers: tokio, beamline, beamline-off, ractor, kameo (kameo-console when built with that
//! feature), actix (ct only). Exits 2 on bad arguments.

use beamline_benches::attach::{self, rss_bytes};
use beamline_benches::flavor::{self, Flavor};
use beamline_benches::peers::actix::{self as ax, Actix};
use beamline_benches::peers::beamline::{self as bl, Beamline};
use beamline_benches::peers::kameo::{self as km, Kameo};
use beamline_benches::peers::ractor::{self as rc, Ractor};
use beamline_benches::peers::tokio_raw::{self as raw, Raw};
use beamline_benches::peers::{self, KAMEO};
use beamline_benches::publishing::{self, Attached, Churn};
use beamline_benches::workload::{self, Peer};
use beamline_benches::{observers, stats};
use serde_json::json;
use std::time::Duration;

/// Idle processes beside the measured server in `watched idle|observed`.
const WATCHED_IDLE: usize = 100_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = match args.as_slice() {
        [verb @ ("cast" | "call"), peer, fl, fan, n] => {
            let (fl, fan, n) = (flavor(fl), num(fan) as usize, num(n));
            let job = if *verb == "cast" {
                Job::Cast(fan, n)
            } else {
                Job::Call(fan, n)
            };
            job.run(peer, fl, true);
            let (t, _) = job.run(peer, fl, false);
            json!({ "ns": t.as_nanos() as f64 / n as f64 })
        }
        ["spawn", peer, fl, n] => {
            let n = num(n);
            let (t, rss) = Job::Spawn(n as usize).run(peer, flavor(fl), false);
            json!({
                "ns_per_process": t.as_nanos() as f64 / n as f64,
                "rss_bytes_per_process": rss as f64 / n as f64,
            })
        }
        ["restart", peer, fl, n] => {
            let n = num(n);
            restart(peer, flavor(fl), n / 10 + 1);
            json!({ "ns": restart(peer, flavor(fl), n).as_nanos() as f64 / n as f64 })
        }
        ["watched", how, fl, n] => watched(how, flavor(fl), num(n)),
        ["publish", n] => publish(num(n) as usize),
        ["attach", via, fl, n] => attach(via, flavor(fl), num(n)),
        ["profile", op, peer, n] => {
            let n = num(n);
            let job = match *op {
                "cast" => Job::Cast(1, n),
                "call" => Job::Call(1, n),
                "spawn" => Job::Spawn(n as usize),
                _ => usage(),
            };
            // Beamline's clock calibrates the CPU's counter once per process (0.5 to 200 ms of
            // spinning, a different count of instructions every run): a first runtime does it
            // here, outside `profiled`, the one function callgrind counts.
            drop(beamline::runtime::Runtime::new());
            let t = profiled(job, peer);
            json!({ "ops": n, "ns": t.as_nanos() as f64 / n.max(1) as f64 })
        }
        ["read", kind, addr, n, hold] => {
            let hold = Duration::from_millis(num(hold));
            match *kind {
                "beamline" => json!(observers::read_beamline(addr, num(n), hold)),
                "kameo" => json!(observers::read_kameo(addr, num(n), hold)),
                _ => usage(),
            };
            // The report was printed as soon as the snapshot was complete.
            std::process::exit(0);
        }
        _ => usage(),
    };
    println!("{out}");
    // Tearing down a million actors can take longer than creating them; nothing to flush.
    std::process::exit(0);
}

/// The operations callgrind counts: `bench-table` runs `profile` with
/// `--toggle-collect=bench_scale::profiled`, so nothing before or after this call is counted.
#[inline(never)]
fn profiled(job: Job, peer: &str) -> Duration {
    job.run(peer, Flavor::Current, false).0
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-scale cast|call <peer> <ct|mt> <fan> <n> | spawn|restart <peer> <ct|mt> <n> \
         | watched <bare|idle|observed> <ct|mt> <n> | publish <n> \
         | attach <observe|endpoint|kameo-console> <ct|mt> <n> | profile <cast|call|spawn> <peer> <n> \
         | read <beamline|kameo> <addr> <n> <hold ms>"
    );
    std::process::exit(2);
}

fn num(s: &str) -> u64 {
    s.parse().unwrap_or_else(|_| usage())
}

fn flavor(s: &str) -> Flavor {
    Flavor::parse(s).unwrap_or_else(|| usage())
}

/// A generic workload, run on one peer.
#[derive(Clone, Copy)]
enum Job {
    /// `n` casts from `fan` senders.
    Cast(usize, u64),
    /// `n` calls from `fan` callers.
    Call(usize, u64),
    /// `n` workers spawned and poked; the RSS growth is measured too.
    Spawn(usize),
}

impl Job {
    /// Run on `peer`; `warm_up` runs a tenth of the work instead (its figures are discarded).
    fn run(self, peer: &str, fl: Flavor, warm_up: bool) -> (Duration, u64) {
        let job = match (self, warm_up) {
            (Job::Cast(f, n), true) => Job::Cast(f, n / 10),
            (Job::Call(f, n), true) => Job::Call(f, n / 10),
            (j, _) => j,
        };
        match peer {
            "tokio" => on_tokio(fl, || Raw, job),
            "beamline" => on_tokio(fl, || Beamline::new(true), job),
            "beamline-off" => on_tokio(fl, || Beamline::new(false), job),
            "ractor" => on_tokio(fl, || Ractor, job),
            p if p == KAMEO => on_tokio(fl, || Kameo, job),
            "actix" if fl == Flavor::Current => flavor::run_actix(job.drive(Actix)),
            _ => usage(),
        }
    }

    async fn drive<P: Peer>(self, peer: P) -> (Duration, u64) {
        match self {
            Job::Cast(fan, n) => (workload::cast(peer, fan, n).await, 0),
            Job::Call(fan, n) => (workload::call(peer, fan, n).await, 0),
            Job::Spawn(n) => {
                let before = rss_bytes();
                let (elapsed, workers) = workload::spawn(peer, n).await;
                let growth = rss_bytes().saturating_sub(before);
                std::mem::forget(workers);
                (elapsed, growth)
            }
        }
    }
}

/// Build `make()`'s peer inside a fresh runtime of flavor `fl` and run `job` on it.
fn on_tokio<P: Peer>(fl: Flavor, make: impl FnOnce() -> P, job: Job) -> (Duration, u64) {
    let rt = fl.runtime();
    let peer = {
        let _guard = rt.enter();
        make()
    };
    let out = flavor::run(&rt, job.drive(peer));
    std::mem::forget(rt);
    out
}

/// `n` supervisor restarts (workload 8).
fn restart(peer: &str, fl: Flavor, n: u64) -> Duration {
    peers::quiet_panics();
    let rt = fl.runtime();
    match peer {
        "tokio" => flavor::run(&rt, raw::restart(n)),
        "beamline" | "beamline-off" => {
            let b = rt.block_on(async { bl::runtime(peer == "beamline") });
            flavor::run(&rt, bl::restart(b, n))
        }
        "ractor" => flavor::run(&rt, rc::restart(n)),
        p if p == KAMEO => flavor::run(&rt, km::restart(n)),
        "actix" if fl == Flavor::Current => flavor::run_actix(ax::restart(n)),
        _ => usage(),
    }
}

/// Workload 9: Beamline's cast 1 -> 1 alone, beside 100,000 idle processes, or beside those
/// with an observer attached through the endpoint (after its first snapshot).
fn watched(how: &str, fl: Flavor, n: u64) -> serde_json::Value {
    let rt = fl.runtime();
    let peer = rt.block_on(async { Beamline::new(true) });
    let idle = match how {
        "bare" => Vec::new(),
        "idle" | "observed" => flavor::run(&rt, {
            let rt = peer.rt.clone();
            async move { publishing::idle_processes(&rt, WATCHED_IDLE).await }
        }),
        _ => usage(),
    };
    let attached = (how == "observed").then(|| {
        let a = rt.block_on(async { Attached::start(&peer.rt) });
        // The runtime must be driven meanwhile: on ct nothing else runs the sampler.
        rt.block_on(async {
            while a.frames() < 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        a
    });
    flavor::run(&rt, workload::cast(peer.clone(), 1, n / 10));
    let t = flavor::run(&rt, workload::cast(peer, 1, n));
    std::mem::forget((idle, attached, rt));
    json!({ "ns": t.as_nanos() as f64 / n as f64 })
}

/// `n` idle instrumented processes, 1% of them changing every interval, one subscriber: the
/// sampler's own timing of each tick, and the encoded size of the snapshot and of each delta.
fn publish(n: usize) -> serde_json::Value {
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
    let median = |xs: &[u64]| {
        let v: Vec<f64> = xs.iter().map(|&x| x as f64).collect();
        stats::spread(&v).map_or(0.0, |s| s.median)
    };
    json!({
        "processes": n,
        "cost_us": median(&out.cost_us[SKIP..]),
        "cost_us_all": out.cost_us,
        "snapshot_bytes": out.snapshot_bytes,
        "snapshot_processes": out.snapshot_processes,
        "delta_bytes": median(&out.delta_bytes[SKIP..]),
        "snapshot_bytes_v3": out.snapshot_bytes_v3,
        "delta_bytes_v3": median(&out.delta_bytes_v3[SKIP..]),
        "delta_changed": median(&out.delta_changed[SKIP..]),
        "delta_changed_all": out.delta_changed,
    })
}

/// Workload 10: `n` idle processes, then an observer attaches (see `beamline_benches::attach`).
fn attach(via: &str, fl: Flavor, n: u64) -> serde_json::Value {
    let rt = fl.runtime();
    let figures = match via {
        "observe" | "endpoint" => {
            let b = rt.block_on(async { Beamline::new(true) });
            let endpoint = via == "endpoint";
            flavor::run(&rt, async move {
                let idle = publishing::idle_processes(&b.rt, n as usize).await;
                // An application configured with an endpoint serves it from its start, and the
                // endpoint's sampler scans every process once then (for the flight recorder):
                // serve first and let that settle, then measure an observer attaching.
                let served = endpoint.then(|| observers::serve(&b.rt));
                if served.is_some() {
                    tokio::time::sleep(attach::SETTLE).await;
                }
                let f = attach::measure(n, || async {
                    match &served {
                        Some((_, path)) => observers::endpoint(path, n).await,
                        None => observers::observe(&b.rt, n).await,
                    }
                })
                .await;
                drop(served);
                std::mem::forget(idle);
                f
            })
        }
        #[cfg(feature = "kameo-console")]
        "kameo-console" => flavor::run(&rt, async move {
            let (_, idle) = workload::spawn(Kameo, n as usize).await;
            // Served from the start too, as the endpoint is.
            let console = observers::kameo_console_serve().await;
            tokio::time::sleep(attach::SETTLE).await;
            let f = attach::measure(n, || observers::kameo_console(&console, n)).await;
            drop(console);
            std::mem::forget(idle);
            f
        }),
        _ => usage(),
    };
    std::mem::forget(rt);
    json!(figures)
}
