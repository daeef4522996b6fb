//! Long-running measurements, not part of CI (figures in RELIABILITY.md):
//!
//! - `soak rss [--secs N] [--rate R]`: a loaded runtime at a fixed rate of casts (processes spawned and exiting, messages, crashes
//!   under a supervisor, an observer attached over TCP) printing its resident memory every
//!   10 s, to show that it stays flat;
//! - `soak throughput [--stuck N] [--secs S] [--rounds R]`: casts per second with no observer
//!   and with N observers that connect and never read, alternating R times, to show hostile
//!   clients do not slow processes.
//!
//! Exit codes: 0 done, 1 setup failed (one line on stderr), 2 bad arguments (usage).

use beamline::supervisor::{ChildSpec, Strategy, SupervisorSpec};
use beamline::wire::{
    ClientMsg, Hello, MAX_FRAME_LEN, PROTOCOL_VERSION, ServerMsg, frame, table::ProcessTable,
};
use beamline::{CallReply, Ctx, EndpointConfig, GenServer, InitError, Next, Runtime};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "soak",
    about = "Beamline soak and throughput measurements (not run in CI)"
)]
struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Loaded runtime with an observer attached; prints RSS every 10 s.
    Rss {
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 300)]
        secs: u64,
        /// Casts per second, spread evenly (a fixed load, so that memory can be flat; `0`
        /// sends as fast as possible, which grows mailboxes whenever the sinks fall behind).
        #[arg(long, default_value_t = 100_000)]
        rate: u64,
    },
    /// Casts per second with and without observers that never read.
    Throughput {
        /// Observers that connect and never read.
        #[arg(long, default_value_t = 16)]
        stuck: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5)]
        secs: u64,
        /// Measurements per arm, alternating without and with the stuck observers; the
        /// medians are compared (the shared machine drifts between runs).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

/// Counts casts; crashes on request.
struct Sink(Arc<AtomicU64>);

impl GenServer for Sink {
    type Args = Arc<AtomicU64>;
    type Call = ();
    type Reply = ();
    /// Crash if true.
    type Cast = bool;
    type Info = ();

    async fn init(n: Arc<AtomicU64>, _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Sink(n))
    }
    async fn handle_call(&mut self, _: (), _ctx: &mut Ctx<Self>) -> CallReply<()> {
        CallReply::reply(())
    }
    async fn handle_cast(&mut self, crash: bool, _ctx: &mut Ctx<Self>) -> Next {
        self.0.fetch_add(1, Relaxed);
        if crash {
            panic!("soak: crash on request");
        }
        Next::noreply()
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let tokio = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("soak: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let r = tokio.block_on(async {
        match args.what {
            What::Rss { secs, rate } => rss(secs, rate).await,
            What::Throughput {
                stuck,
                secs,
                rounds,
            } => throughput(stuck, secs, rounds).await,
        }
    });
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Runtime {
    Runtime::builder()
        .node("soak")
        .observe_from_env(false)
        .build()
}

async fn rss(secs: u64, rate: u64) -> Result<(), String> {
    let rt = runtime();
    let ep = rt
        .serve(EndpointConfig::parse("127.0.0.1:0").unwrap())
        .map_err(|e| e.to_string())?;
    let addr = ep.local_addr().unwrap();
    let handled = Arc::new(AtomicU64::new(0));
    let mut spec =
        SupervisorSpec::new(Strategy::OneForOne).intensity(u32::MAX, Duration::from_secs(1));
    for i in 0..16 {
        spec = spec.child(
            ChildSpec::worker::<Sink>(format!("s{i}"), handled.clone()).name(format!("soak/s{i}")),
        );
    }
    rt.supervise(ChildSpec::supervisor("soak", spec))
        .await
        .map_err(|e| e.to_string())?;

    // The observer: applies every sample to a table, as `observer --attach` does.
    let samples = Arc::new(AtomicU64::new(0));
    let tracked = Arc::new(AtomicU64::new(0));
    {
        let (samples, tracked) = (samples.clone(), tracked.clone());
        let mut s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        frame::write(
            &mut s,
            &ClientMsg::Hello(Hello {
                version: PROTOCOL_VERSION,
                token: ep.token().map(String::from),
                client: "soak".into(),
            }),
        )
        .await
        .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let mut table = ProcessTable::default();
            while let Ok(Some(m)) = frame::read::<ServerMsg, _>(&mut s, MAX_FRAME_LEN).await {
                match &m {
                    ServerMsg::Snapshot(snap) => table.apply_snapshot(snap),
                    ServerMsg::Delta(d) => {
                        let _ = table.apply_delta(d);
                    }
                    _ => continue,
                }
                samples.fetch_add(1, Relaxed);
                tracked.store(table.processes.len() as u64, Relaxed);
            }
        });
    }

    // Messages: casts by name to the supervised sinks, one in 50,000 crashing its sink; at
    // `rate` per second in 10 ms slices (or flat out with `--rate 0`).
    let sent = Arc::new(AtomicU64::new(0));
    let per_slice = rate / 2 / 100;
    for t in 0..2u64 {
        let (rt, sent) = (rt.clone(), sent.clone());
        tokio::spawn(async move {
            let mut n = t;
            let mut slice = tokio::time::interval(Duration::from_millis(10));
            slice.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                if per_slice > 0 {
                    slice.tick().await;
                }
                let count = if per_slice > 0 { per_slice } else { 64 };
                for _ in 0..count {
                    let name = format!("soak/s{}", n % 16);
                    let _ = rt.cast::<Sink>(name.as_str(), n % 50_000 == 49_999).await;
                    sent.fetch_add(1, Relaxed);
                    n += 2;
                }
                if per_slice == 0 {
                    tokio::task::yield_now().await;
                }
            }
        });
    }
    // Spawns and exits: short-lived processes, a few messages each.
    let spawned = Arc::new(AtomicU64::new(0));
    {
        let (rt, spawned, handled) = (rt.clone(), spawned.clone(), handled.clone());
        tokio::spawn(async move {
            loop {
                let batch: Vec<_> = futures_join(&rt, &handled).await;
                spawned.fetch_add(batch.len() as u64, Relaxed);
                for p in batch {
                    let _ = p.cast(false).await;
                    let _ = p.call(()).await;
                    let _ = p.stop(beamline::ExitReason::Normal, None).await;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }

    let start = Instant::now();
    println!("secs,rss_kib,sent,handled,spawned,dead_letters,dropped,samples,tracked");
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tick.tick().await;
        let at = start.elapsed().as_secs();
        println!(
            "{at},{},{},{},{},{},{},{},{}",
            rss_kib(),
            sent.load(Relaxed),
            handled.load(Relaxed),
            spawned.load(Relaxed),
            rt.dead_letters(),
            rt.dropped_total(),
            samples.load(Relaxed),
            tracked.load(Relaxed)
        );
        if at >= secs {
            return Ok(());
        }
    }
}

async fn futures_join(rt: &Runtime, handled: &Arc<AtomicU64>) -> Vec<beamline::ServerRef<Sink>> {
    let mut out = Vec::with_capacity(100);
    for _ in 0..100 {
        if let Ok(p) = rt.start::<Sink>(handled.clone()).await {
            out.push(p);
        }
    }
    out
}

async fn throughput(stuck: usize, secs: u64, rounds: usize) -> Result<(), String> {
    let mut without = Vec::new();
    let mut with = Vec::new();
    for (i, n) in (0..rounds.max(1)).flat_map(|_| [0, stuck]).enumerate() {
        let rt = runtime();
        // Idle processes make each snapshot several MB, so stuck clients really are stuck.
        let mut idle = Vec::new();
        for _ in 0..20_000 {
            idle.push(
                rt.start::<Sink>(Arc::new(AtomicU64::new(0)))
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        let ep = rt
            .serve(
                EndpointConfig::parse("127.0.0.1:0")
                    .unwrap()
                    .max_clients(stuck + 1),
            )
            .map_err(|e| e.to_string())?;
        let addr = ep.local_addr().unwrap();
        let mut held = Vec::new();
        let token = ep.token().map(String::from);
        for _ in 0..n {
            held.push(stuck_client(addr, token.clone()).await?);
        }
        // Let the endpoint build each new client's first snapshot (20,000 processes each)
        // before the clock starts: that one-off cost of connecting is not what is measured.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let handled = Arc::new(AtomicU64::new(0));
        let sinks: Vec<_> = futures_join(&rt, &handled)
            .await
            .into_iter()
            .take(4)
            .collect();
        let start = Instant::now();
        let mut sent = 0u64;
        while start.elapsed() < Duration::from_secs(secs) {
            for _ in 0..1024 {
                let _ = sinks[(sent % 4) as usize].cast(false).await;
                sent += 1;
            }
            tokio::task::yield_now().await;
        }
        for s in &sinks {
            let _ = s.call(()).await;
        }
        let per_s = handled.load(Relaxed) as f64 / start.elapsed().as_secs_f64();
        println!(
            "stuck observers: {n:>2}  casts handled: {:>10}  casts/s: {per_s:>12.0}",
            handled.load(Relaxed)
        );
        if i % 2 == 0 {
            without.push(per_s);
        } else {
            with.push(per_s);
        }
        drop(held);
        rt.shutdown().await;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let (a, b) = (median(&mut without), median(&mut with));
    println!(
        "with {stuck} stuck observers: {:.1}% of the throughput without (medians of {} runs each)",
        100.0 * b / a,
        rounds.max(1)
    );
    Ok(())
}

async fn stuck_client(
    addr: SocketAddr,
    token: Option<String>,
) -> Result<tokio::net::TcpStream, String> {
    let sock = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    sock.set_recv_buffer_size(4096).map_err(|e| e.to_string())?;
    let mut s = sock.connect(addr).await.map_err(|e| e.to_string())?;
    frame::write(
        &mut s,
        &ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            token,
            client: "stuck".into(),
        }),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(s)
}
