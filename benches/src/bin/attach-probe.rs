//! What attaching an observer costs the application (issue 15): with N processes (1% of them
//! changing), an observer connects through the endpoint and reads until its first screen is
//! complete, then leaves. Printed as one JSON line per attach:
//!
//! - `stall_us`: the longest overshoot of a 1 ms sleep on the measured runtime's workers, from
//!   connecting until 2 s after the first screen (so the first ticks after it count too);
//! - `stall_cpu_over_us`: the same in the worker's CPU time (what it ran during one sleep
//!   beyond that sleep's 1 ms), which descheduling by a loaded machine does not inflate;
//! - `detach_stall_us`, `detach_stall_cpu_over_us`: the same for the 1.5 s after the observer
//!   leaves;
//! - `first_screen_ms`: from connecting to the last frame of the first snapshot decoded
//!   (`welcome_ms`, `first_frame_ms`, `complete_ms`: the observer's own clock from connecting);
//! - `runtime_cpu_ms`: CPU time of the runtime's process from connecting to the first screen
//!   (sampler, snapshot, writes, and the probe's own ticker and churn), and `observer_cpu_ms`
//!   the observer's (decoding): on a loaded machine these say more than wall-clock times;
//! - `snapshot_bytes`, `bytes_per_process`, `snapshot_frames`: that snapshot on the wire;
//! - `rss_*`: the runtime process's resident memory before attaching, at its peak while the
//!   snapshot was sent, and 2 s later (what the sampler keeps while observed);
//!   `snapshot_growth_per_process_b` is the peak while sending over the memory before, per
//!   process: for `second` (the sampler already running) that is the snapshot's transient
//!   memory alone. The observer runs in a child process (`attach-probe observe <addr>`), so
//!   none of this is its memory or CPU.
//!
//! `first` attaches to an idle sampler; `second` attaches while another observer (which keeps up)
//! is attached, so the sampler is already running; `quiet` is the noise floor: 3 s of the same
//! sleeps with nobody attaching.
//!
//! Built with `RUSTFLAGS="--cfg tokio_unstable"` (in a target directory of its own), it also
//! prints to stderr, at each measurement's end, the task polls behind its worst stall (see
//! `polls` at the end of this file): which task held the worker, how often, how long.
//!
//! usage: `attach-probe <n> <ct|mt>`

use beamline::wire::{ClientMsg, Hello, PROTOCOL_VERSION, ServerMsg, frame};
use beamline::{EndpointConfig, Runtime};
use beamline_benches::attach::thread_cpu_us;
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
    if let [mode, addr] = args.as_slice()
        && mode == "observe"
    {
        return observe_main(addr);
    }
    let (Some(n), Some(flavor)) = (
        args.first().and_then(|a| a.parse::<usize>().ok()),
        args.get(1).and_then(|a| Flavor::parse(a)),
    ) else {
        eprintln!("usage: attach-probe <n> <ct|mt>");
        std::process::exit(2);
    };
    let rss = RssWatch::start();
    #[cfg(not(tokio_unstable))]
    let tokio_rt = flavor.runtime();
    #[cfg(tokio_unstable)]
    let tokio_rt = polls::runtime(flavor);
    beamline_benches::flavor::run(&tokio_rt, async move {
        let bl = Beamline::new(true);
        let idle = idle_processes(&bl.rt, n).await;
        // 1% of the processes move in every interval of the runtime's sampler (the default
        // 1 s): poked every quarter of it. Poked every 25 ms instead (as for the 100 ms
        // sampler-cost workload) they were 400,000 casts a second at 1,000,000 processes,
        // most of a core: the probe measured its own load.
        let period = bl.rt.interval() / 4;
        let _churn = Churn::every(idle[..n / 100].to_vec(), period);
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
            serde_json::json!({"case": "quiet", "processes": n, "flavor": flavor.label(), "stall_us": quiet, "stall_cpu_over_us": quiet_cpu})
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
    let cpu = process_cpu_us();
    let client = Client::attach(addr);
    client.wait_first_screen().await;
    let first_screen = started.elapsed();
    let runtime_cpu_ms = process_cpu_us().saturating_sub(cpu) as f64 / 1e3;
    let rss_peak_snapshot = rss.peak();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (stall_us, stall_cpu_us) = stall.reset();
    let rss_after = rss.now();
    let rss_peak = rss.peak();
    let bytes = client.mark("snapshot_bytes") as u64;
    let seen = [
        "welcome_ms",
        "first_frame_ms",
        "complete_ms",
        "observer_cpu_ms",
        "snapshot_frames",
    ]
    .map(|k| client.mark(k));
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
            "stall_cpu_over_us": stall_cpu_us,
            "detach_stall_us": detach_stall_us,
            "detach_stall_cpu_over_us": detach_stall_cpu_us,
            "first_screen_ms": first_screen.as_secs_f64() * 1e3,
            "runtime_cpu_ms": runtime_cpu_ms,
            "welcome_ms": seen[0],
            "first_frame_ms": seen[1],
            "complete_ms": seen[2],
            "observer_cpu_ms": seen[3],
            "snapshot_frames": seen[4],
            "snapshot_bytes": bytes,
            "bytes_per_process": bytes as f64 / n as f64,
            "rss_before_mb": rss_before as f64 / 1e6,
            "rss_peak_during_snapshot_mb": rss_peak_snapshot as f64 / 1e6,
            "rss_peak_mb": rss_peak as f64 / 1e6,
            "rss_after_mb": rss_after as f64 / 1e6,
            "transient_per_process_b": rss_peak.saturating_sub(rss_after) as f64 / n as f64,
            "growth_per_process_b": rss_peak.saturating_sub(rss_before) as f64 / n as f64,
            "snapshot_growth_per_process_b": rss_peak_snapshot.saturating_sub(rss_before) as f64 / n as f64,
        })
    );
}

/// Tasks that sleep 1 ms over and over and note the longest overshoot, and the most CPU time
/// their worker thread spent on other tasks during one sleep beyond its 1 ms (`cpu_over`): on a
/// machine shared with other work the thread may also just be descheduled, which the
/// wall-clock overshoot counts but the CPU time does not.
struct Stall {
    worst_us: Arc<AtomicU64>,
    worst_cpu_us: Arc<AtomicU64>,
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
                    #[cfg(tokio_unstable)]
                    let ran = polls::take();
                    if std::thread::current().id() == thread {
                        // Beyond the 1 ms the sleep lends to other tasks: the part of the
                        // overshoot that was work on this worker, not the machine's load.
                        let spent = thread_cpu_us().saturating_sub(cpu);
                        let over = spent.saturating_sub(1000);
                        let before = worst_cpu.fetch_max(over, Relaxed);
                        #[cfg(tokio_unstable)]
                        if over > before {
                            polls::keep_worst(ran);
                        }
                        let _ = before;
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
        #[cfg(tokio_unstable)]
        polls::print_worst();
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

/// An observer in a child process (this binary, run as `attach-probe observe <addr>`), so that
/// its memory and CPU are not the runtime's: it decodes every frame, counts the processes of
/// the first snapshot (keeping none of them), prints what it measured as one JSON line, and
/// goes on reading until its standard input closes.
struct Client {
    child: std::process::Child,
    done: Arc<tokio::sync::Notify>,
    complete: Arc<AtomicBool>,
    marks: Arc<std::sync::Mutex<serde_json::Value>>,
}

impl Client {
    fn attach(addr: SocketAddr) -> Client {
        let mut child = std::process::Command::new(std::env::current_exe().expect("own path"))
            .args(["observe", &addr.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("observer process");
        let out = child.stdout.take().expect("piped");
        let c = Client {
            child,
            done: Arc::default(),
            complete: Arc::default(),
            marks: Arc::default(),
        };
        let (done, complete, marks) = (c.done.clone(), c.complete.clone(), c.marks.clone());
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut line = String::new();
            let _ = std::io::BufReader::new(out).read_line(&mut line);
            *marks.lock().expect("marks") = serde_json::from_str(&line).unwrap_or_default();
            complete.store(true, Relaxed);
            done.notify_waiters();
        });
        c
    }

    async fn wait_first_screen(&self) {
        loop {
            let notified = self.done.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.complete.load(Relaxed) {
                return;
            }
            notified.await;
        }
    }

    /// A figure the observer reported (0 if it reported none).
    fn mark(&self, key: &str) -> f64 {
        self.marks.lock().expect("marks")[key]
            .as_f64()
            .unwrap_or(0.0)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Closing its input tells the observer to leave; it is waited for so none is left.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The observer process: read until the first screen is complete, report, read on until told
/// to stop (standard input closed).
fn observe_main(addr: &str) {
    let addr: SocketAddr = addr.parse().expect("observer address");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("observer runtime");
    rt.block_on(async {
        let stop = tokio::task::spawn_blocking(|| {
            use std::io::Read;
            let mut sink = [0u8; 64];
            while std::io::stdin().read(&mut sink).is_ok_and(|n| n > 0) {}
        });
        tokio::select! {
            _ = stop => {}
            () = read(addr) => {}
        }
    });
}

/// Read one frame's body, counting its bytes on the wire (no re-encoding: the probe must not
/// add work of its own to the time it measures).
async fn read_body<R: tokio::io::AsyncRead + Unpin>(rd: &mut R) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut len = [0u8; 4];
    rd.read_exact(&mut len).await.ok()?;
    let len = u32::from_be_bytes(len) as usize;
    if len > frame::MAX_FRAME_LEN {
        return None;
    }
    let mut body = vec![0u8; len];
    rd.read_exact(&mut body).await.ok()?;
    Some(body)
}

async fn read(addr: SocketAddr) {
    let started = Instant::now();
    let ms = || started.elapsed().as_secs_f64() * 1e3;
    let sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = sock.into_split();
    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        token: Some(TOKEN.into()),
        client: "attach-probe".into(),
    });
    frame::write(&mut wr, &hello).await.expect("hello");
    let cpu = process_cpu_us();
    let (mut want, mut got, mut at, mut bytes) = (u64::MAX, 0u64, None, 0u64);
    let (mut welcome_ms, mut first_frame_ms, mut frames) = (0.0, 0.0, 0u64);
    let mut complete = false;
    while let Some(body) = read_body(&mut rd).await {
        if complete {
            continue;
        }
        let size = body.len() as u64 + 4;
        let Ok(msg) = frame::decode_body::<ServerMsg>(&body) else {
            return;
        };
        drop(body);
        match msg {
            ServerMsg::Welcome(_) => welcome_ms = ms(),
            ServerMsg::Snapshot(s) if at.is_none() => {
                first_frame_ms = ms();
                at = Some(s.at_ms);
                want = s.system.processes;
                got += s.processes.len() as u64;
                bytes += size;
                frames += 1;
            }
            ServerMsg::Delta(d) if at == Some(d.at_ms) => {
                got += d.changed.len() as u64;
                bytes += size;
                frames += 1;
            }
            _ => {}
        }
        if at.is_some() && got >= want {
            complete = true;
            let report = serde_json::json!({
                "welcome_ms": welcome_ms,
                "first_frame_ms": first_frame_ms,
                "complete_ms": ms(),
                "observer_cpu_ms": process_cpu_us().saturating_sub(cpu) as f64 / 1e3,
                "snapshot_bytes": bytes,
                "snapshot_frames": frames,
            });
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{report}");
            let _ = out.flush();
        }
    }
}

/// CPU time of this whole process, in microseconds.
fn process_cpu_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// Built with `RUSTFLAGS="--cfg tokio_unstable"` (in a target directory of its own), the probe
/// also says what ran on the worker during the sleep with the most CPU over: every task poll,
/// grouped by where the task was spawned (count, total and longest poll), printed to stderr at
/// each reset. This tells a long poll (one slice that is too long) from queueing (many short
/// polls woken at once).
#[cfg(tokio_unstable)]
mod polls {
    use super::Flavor;
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;
    use std::panic::Location;
    use std::sync::Mutex;

    type Ran = Vec<(&'static Location<'static>, u32, u64, u64)>;

    thread_local! {
        static START: Cell<Option<u64>> = const { Cell::new(None) };
        static ACC: RefCell<HashMap<&'static Location<'static>, (u32, u64, u64)>> =
            RefCell::new(HashMap::new());
    }
    static WORST: Mutex<Ran> = Mutex::new(Vec::new());

    /// The flavor's runtime, with poll hooks.
    pub fn runtime(flavor: Flavor) -> tokio::runtime::Runtime {
        let mut b = match flavor {
            Flavor::Current => tokio::runtime::Builder::new_current_thread(),
            Flavor::Multi => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(2);
                b
            }
        };
        // Thread CPU time, not wall-clock: a loaded machine deschedules the thread mid-poll.
        b.on_before_task_poll(|_| START.set(Some(super::thread_cpu_us())))
            .on_after_task_poll(|meta| {
                let Some(t) = START.take() else { return };
                let ns = super::thread_cpu_us().saturating_sub(t) * 1000;
                ACC.with_borrow_mut(|a| {
                    let e = a.entry(meta.spawned_at()).or_default();
                    e.0 += 1;
                    e.1 += ns;
                    e.2 = e.2.max(ns);
                });
            });
        b.enable_all().build().expect("tokio runtime")
    }

    /// The polls on this thread since the last call.
    pub fn take() -> Ran {
        ACC.with_borrow_mut(|a| a.drain().map(|(l, (n, t, m))| (l, n, t, m)).collect())
    }

    pub fn keep_worst(mut ran: Ran) {
        ran.sort_by_key(|r| std::cmp::Reverse(r.2));
        *WORST.lock().expect("worst") = ran;
    }

    pub fn print_worst() {
        let ran = std::mem::take(&mut *WORST.lock().expect("worst"));
        for (l, n, t, m) in ran.iter().take(6) {
            eprintln!(
                "  polls from {l}: {n}, total {} us, longest {} us",
                t / 1000,
                m / 1000
            );
        }
        eprintln!("--");
    }
}
