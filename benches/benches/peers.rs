//! Workloads 1, 2, 8 and 9 of issue 8, every peer side by side in one run.
//!
//! Ids are `<workload>/<peer>/<flavor>`: criterion writes each median to
//! `<criterion home>/<workload>/<peer>/<flavor>/new/estimates.json`, which `bench-table` reads.
//! Each iteration is one message (1), one call (2) or one crash-to-answer (8), so criterion's
//! time per iteration is the figure in the table.
//!
//! With the `kameo-console` feature only the kameo peer runs (as column "kameo-console").

use beamline_benches::flavor::{self, Flavor};
use beamline_benches::peers::actix::Actix;
use beamline_benches::peers::beamline::{self as bl, Beamline};
use beamline_benches::peers::kameo::Kameo;
use beamline_benches::peers::ractor::Ractor;
use beamline_benches::peers::tokio_raw::Raw;
use beamline_benches::peers::{self, KAMEO};
use beamline_benches::publishing::{self, Attached};
use beamline_benches::workload::{self, Peer};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use std::time::Duration;

const ONLY_KAMEO: bool = cfg!(feature = "kameo-console");

/// Processes kept idle in the background for workload 9.
const IDLE: usize = 100_000;

fn configure(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(400))
        .measurement_time(Duration::from_millis(2500));
}

/// One tokio peer on one flavor; `make` builds the peer inside the runtime.
fn tokio_peer<P: Peer>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    flavor: Flavor,
    make: impl FnOnce() -> P,
    work: impl Fn(P, u64) -> std::pin::Pin<Box<dyn std::future::Future<Output = Duration> + Send>>,
) {
    let rt = flavor.runtime();
    let peer = {
        let _guard = rt.enter();
        make()
    };
    g.bench_function(BenchmarkId::new(name, flavor.label()), |b| {
        b.iter_custom(|iters| flavor::run(&rt, work(peer.clone(), iters)))
    });
}

/// Every peer for one message-path workload.
fn message_path(c: &mut Criterion, group: &str, work: fn(usize, u64) -> Workload, arg: usize) {
    let mut g = c.benchmark_group(group);
    configure(&mut g);
    for flavor in Flavor::ALL {
        if !ONLY_KAMEO {
            tokio_peer(
                &mut g,
                "tokio",
                flavor,
                || Raw,
                move |p, n| Box::pin(run_workload(p, work(arg, n))),
            );
            for instrument in [true, false] {
                tokio_peer(
                    &mut g,
                    bl::label(instrument),
                    flavor,
                    || Beamline::new(instrument),
                    move |p, n| Box::pin(run_workload(p, work(arg, n))),
                );
            }
            tokio_peer(
                &mut g,
                "ractor",
                flavor,
                || Ractor,
                move |p, n| Box::pin(run_workload(p, work(arg, n))),
            );
        }
        tokio_peer(
            &mut g,
            KAMEO,
            flavor,
            || Kameo,
            move |p, n| Box::pin(run_workload(p, work(arg, n))),
        );
    }
    if !ONLY_KAMEO {
        g.bench_function(BenchmarkId::new("actix", "ct"), |b| {
            b.iter_custom(|iters| flavor::run_actix(run_workload(Actix, work(arg, iters))))
        });
    }
    g.finish();
}

/// Which generic driver, with its fan-in and count.
#[derive(Clone, Copy)]
enum Workload {
    Cast { senders: usize, n: u64 },
    Call { callers: usize, n: u64 },
}

async fn run_workload<P: Peer>(peer: P, w: Workload) -> Duration {
    match w {
        Workload::Cast { senders, n } => workload::cast(peer, senders, n).await,
        Workload::Call { callers, n } => workload::call(peer, callers, n).await,
    }
}

fn cast(senders: usize, n: u64) -> Workload {
    Workload::Cast { senders, n }
}

fn call(callers: usize, n: u64) -> Workload {
    Workload::Call { callers, n }
}

fn w1_cast(c: &mut Criterion) {
    message_path(c, "cast_1to1", cast, 1);
    message_path(c, "cast_4to1", cast, 4);
}

fn w2_call(c: &mut Criterion) {
    message_path(c, "call_seq", call, 1);
    message_path(c, "call_100", call, 100);
}

fn w8_restart(c: &mut Criterion) {
    peers::quiet_panics();
    let mut g = c.benchmark_group("restart");
    configure(&mut g);
    for flavor in Flavor::ALL {
        let rt = flavor.runtime();
        let id = |name| BenchmarkId::new(name, flavor.label());
        if !ONLY_KAMEO {
            g.bench_function(id("tokio"), |b| {
                b.iter_custom(|n| flavor::run(&rt, peers::tokio_raw::restart(n)))
            });
            for instrument in [true, false] {
                let beamline = rt.block_on(async { bl::runtime(instrument) });
                g.bench_function(id(bl::label(instrument)), |b| {
                    b.iter_custom(|n| flavor::run(&rt, bl::restart(beamline.clone(), n)))
                });
            }
            g.bench_function(id("ractor"), |b| {
                b.iter_custom(|n| flavor::run(&rt, peers::ractor::restart(n)))
            });
        }
        g.bench_function(id(KAMEO), |b| {
            b.iter_custom(|n| flavor::run(&rt, peers::kameo::restart(n)))
        });
    }
    if !ONLY_KAMEO {
        g.bench_function(BenchmarkId::new("actix", "ct"), |b| {
            b.iter_custom(|n| flavor::run_actix(peers::actix::restart(n)))
        });
    }
    g.finish();
}

/// Workload 9: Beamline's cast 1 -> 1 with nothing else, with 100,000 idle processes, and with
/// those processes and an observer attached through the endpoint (sampling every second).
fn w9_watched(c: &mut Criterion) {
    if ONLY_KAMEO {
        return;
    }
    let mut g = c.benchmark_group("watched");
    configure(&mut g);
    g.measurement_time(Duration::from_secs(3));
    for flavor in Flavor::ALL {
        let rt = flavor.runtime();
        let peer = rt.block_on(async { Beamline::new(true) });
        let id = |name| BenchmarkId::new(name, flavor.label());
        g.bench_function(id("bare"), |b| {
            b.iter_custom(|n| flavor::run(&rt, workload::cast(peer.clone(), 1, n)))
        });
        let idle = flavor::run(&rt, {
            let rt = peer.rt.clone();
            async move { publishing::idle_processes(&rt, IDLE).await }
        });
        g.bench_function(id("idle100k"), |b| {
            b.iter_custom(|n| flavor::run(&rt, workload::cast(peer.clone(), 1, n)))
        });
        let attached = rt.block_on(async { Attached::start(&peer.rt) });
        // Let the observer receive its snapshot before measuring (the runtime must be driven
        // meanwhile: on the current-thread flavor nothing else runs the sampler).
        rt.block_on(async {
            while attached.frames() < 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        g.bench_function(id("observed"), |b| {
            b.iter_custom(|n| flavor::run(&rt, workload::cast(peer.clone(), 1, n)))
        });
        drop(attached);
        // Dropping the tokio runtime at the end of this iteration ends the idle processes.
        drop(idle);
    }
    g.finish();
}

criterion_group!(benches, w1_cast, w2_call, w8_restart, w9_watched);
criterion_main!(benches);
