//! What attaching an observer costs the application (issue 15): with N processes (1% of them
//! changing), an observer connects through the endpoint and reads until its first screen is
//! complete, then leaves. Printed as one JSON line per attach:
//!
//! - `stall_us`: the longest overshoot of a 1 ms sleep on the measured runtime's workers, from
//!   connecting until 2 s after the first screen (so the first ticks after it count too);
//! - `detach_stall_us`: the same for the 1.5 s after the observer leaves;
//! - `first_screen_ms`: from connecting to the last frame of the first snapshot decoded;
//! - `snapshot_bytes`, `bytes_per_process`: that snapshot's frames on the wire;
//! - `rss_*`: the runtime process's resident memory before attaching, at its peak while the
//!   snapshot was sent, and 2 s later (what the sampler keeps while observed). The observer
//!   runs in this process too but keeps no samples (it counts and drops them).
//!
//! `first` attaches to an idle sampler; `second` attaches while another observer (which keeps up)
//! is attached, so the sampler is already running; `quiet` is the noise floor: 3 s of the same
//! sleeps with nobody attaching.
//!
//! usage: attach-probe <n> <ct|mt>

use beamline::wire::{ClientMsg, Hello, PROTOCOL_VERSION, ServerMsg, frame};
use beamline::{EndpointConfig, Runtime};
use beamline_benches::flavor::Flavor;
use beamline_benches::peers::beamline::Beamline;
use beamline_benches::publishing::{Churn, idle_processes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The token the probe's endpoint requires and its observer presents (a loopback endpoint
/// refuses a `Hello` without its cookie or token).
const TOKEN: &str = "attach-probe-token";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(flavor)) = (
        args.first().and_then(|a| a.parse::<usize>().ok()),
        args.get(1).and_then(|a| Flavor::parse(a)),
    ) else {
        eprintln!("usage: attach-probe <n> <ct|mt>");
        std::process::exit(2);
    };
    let rss = RssWatch::start();
    let tokio_rt = flavor.runtime();
    beamline_benches::flavor::run(&tokio_rt, async move {
        let bl = Beamline::new(true);
        let idle = idle_processes(&bl.rt, n).await;
        let _churn = Churn::start(idle[..n / 100].to_vec());
        let endpoint = bl
            .rt
            .serve(
                EndpointConfig::parse("127.0.0.1:0")
                    .expect("address")
                    .token(TOKEN),
            )
            .expect("endpoint binds");
        let addr = endpoint.local_addr().expect("tcp address");
        let stall = Stall::start(if flavor == Flavor::Multi { 4 } else { 1 });
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The noise floor: the same wait with nobody attaching (the machine may be busy).
        stall.reset();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (quiet, quiet_cpu) = stall.reset();
        println!(
            "{}",
            serde_json::json!({"case": "quiet", "processes": n, "flavor": flavor.label(), "stall_us": quiet, "stall_cpu_us": quiet_cpu})
        );
        for case in ["first", "second"] {
            let keeper = (case == "second").then(|| Client::attach(addr));
            if let Some(k) = &keeper {
                k.wait_first_screen().await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            attach_once(case, n, flavor, &bl.rt, addr, &stall, &rss).await;
            drop(keeper);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        std::mem::forget(idle);
    });
}

async fn attach_once(
    case: &str,
    n: usize,
    flavor: Flavor,
    _rt: &Runtime,
    addr: SocketAddr,
    stall: &Stall,
    rss: &RssWatch,
) {
    let rss_before = rss.now();
    rss.reset_peak();
    stall.reset();
    let started = Instant::now();
    let client = Client::attach(addr);
    client.wait_first_screen().await;
    let first_screen = started.elapsed();
    let rss_peak_snapshot = rss.peak();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (stall_us, stall_cpu_us) = stall.reset();
    let rss_after = rss.now();
    let rss_peak = rss.peak();
    let bytes = client.snapshot_bytes.load(Relaxed);
    drop(client);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (detach_stall_us, detach_stall_cpu_us) = stall.reset();
    println!(
        "{}",
        serde_json::json!({
            "case": case,
            "processes": n,
            "flavor": flavor.label(),
            "stall_us": stall_us,
            "stall_cpu_us": stall_cpu_us,
            "detach_stall_us": detach_stall_us,
            "detach_stall_cpu_us": detach_stall_cpu_us,
            "first_screen_ms": first_screen.as_secs_f64() * 1e3,
            "snapshot_bytes": bytes,
            "bytes_per_process": bytes as f64 / n as f64,
            "rss_before_mb": rss_before as f64 / 1e6,
            "rss_peak_during_snapshot_mb": rss_peak_snapshot as f64 / 1e6,
            "rss_peak_mb": rss_peak as f64 / 1e6,
            "rss_after_mb": rss_after as f64 / 1e6,
            "transient_per_process_b": rss_peak.saturating_sub(rss_after) as f64 / n as f64,
            "growth_per_process_b": rss_peak.saturating_sub(rss_before) as f64 / n as f64,
        })
    );
}

/// Tasks that sleep 1 ms over and over and note the longest overshoot, and the most CPU time
/// their worker thread spent on other tasks meanwhile (`cpu`): on a machine shared with other
/// work the thread may also just be descheduled, which the wall-clock overshoot counts but the
/// CPU time does not.
struct Stall {
    worst_us: Arc<AtomicU64>,
    worst_cpu_us: Arc<AtomicU64>,
}

/// CPU time of the calling thread, in microseconds.
fn thread_cpu_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

impl Stall {
    fn start(tickers: usize) -> Stall {
        let worst_us = Arc::new(AtomicU64::new(0));
        let worst_cpu_us = Arc::new(AtomicU64::new(0));
        for _ in 0..tickers {
            let (worst, worst_cpu) = (worst_us.clone(), worst_cpu_us.clone());
            tokio::spawn(async move {
                loop {
                    let (t, thread, cpu) =
                        (Instant::now(), std::thread::current().id(), thread_cpu_us());
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    let over = t.elapsed().saturating_sub(Duration::from_millis(1));
                    worst.fetch_max(over.as_micros() as u64, Relaxed);
                    if std::thread::current().id() == thread {
                        worst_cpu.fetch_max(thread_cpu_us().saturating_sub(cpu), Relaxed);
                    }
                }
            });
        }
        Stall {
            worst_us,
            worst_cpu_us,
        }
    }

    /// The worst overshoot since the last reset, and the worst CPU time spent meanwhile.
    fn reset(&self) -> (u64, u64) {
        (
            self.worst_us.swap(0, Relaxed),
            self.worst_cpu_us.swap(0, Relaxed),
        )
    }
}

/// Resident memory of this process, polled every 2 ms on its own thread.
struct RssWatch {
    peak: Arc<AtomicU64>,
}

impl RssWatch {
    fn start() -> RssWatch {
        let peak = Arc::new(AtomicU64::new(0));
        let p = peak.clone();
        std::thread::spawn(move || {
            loop {
                p.fetch_max(rss_now(), Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        RssWatch { peak }
    }

    fn now(&self) -> u64 {
        rss_now()
    }

    fn reset_peak(&self) {
        self.peak.store(rss_now(), Relaxed);
    }

    fn peak(&self) -> u64 {
        self.peak.load(Relaxed).max(rss_now())
    }
}

fn rss_now() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// An observer on its own thread and tokio runtime: it decodes every frame and counts the
/// processes of the first snapshot, keeping none of them.
struct Client {
    done: Arc<tokio::sync::Notify>,
    complete: Arc<AtomicBool>,
    snapshot_bytes: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Client {
    fn attach(addr: SocketAddr) -> Client {
        let (tx, stop) = tokio::sync::oneshot::channel();
        let c = Client {
            done: Arc::default(),
            complete: Arc::default(),
            snapshot_bytes: Arc::default(),
            stop: Some(tx),
        };
        let (done, complete, bytes) =
            (c.done.clone(), c.complete.clone(), c.snapshot_bytes.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("client runtime");
            rt.block_on(read(addr, done, complete, bytes, stop));
        });
        c
    }

    async fn wait_first_screen(&self) {
        while !self.complete.load(Relaxed) {
            let _ = tokio::time::timeout(Duration::from_millis(50), self.done.notified()).await;
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn read(
    addr: SocketAddr,
    done: Arc<tokio::sync::Notify>,
    complete: Arc<AtomicBool>,
    bytes: Arc<AtomicU64>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = sock.into_split();
    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        token: Some(TOKEN.into()),
        client: "attach-probe".into(),
    });
    frame::write(&mut wr, &hello).await.expect("hello");
    let (mut want, mut got, mut at) = (u64::MAX, 0u64, None);
    loop {
        // A frame read is not cancel safe, but a stop ends the connection anyway.
        let msg = tokio::select! {
            _ = &mut stop => return,
            m = frame::read::<ServerMsg, _>(&mut rd, frame::MAX_FRAME_LEN) => match m {
                Ok(Some(m)) => m,
                _ => return,
            },
        };
        if complete.load(Relaxed) {
            continue;
        }
        let size = frame::encode(&msg).map_or(0, |f| f.len() as u64);
        match msg {
            ServerMsg::Snapshot(s) if at.is_none() => {
                at = Some(s.at_ms);
                want = s.system.processes;
                got += s.processes.len() as u64;
                bytes.fetch_add(size, Relaxed);
            }
            ServerMsg::Delta(d) if at == Some(d.at_ms) => {
                got += d.changed.len() as u64;
                bytes.fetch_add(size, Relaxed);
            }
            _ => {}
        }
        if at.is_some() && got >= want {
            complete.store(true, Relaxed);
            done.notify_waiters();
        }
    }
}
