//! Workload 10: what attaching an observer costs the application (issue 15).
//!
//! `n` idle processes run on a tokio runtime beside a *ticker* task that sleeps 1 ms in a loop
//! and records its longest overshoot: on a current-thread runtime any stretch in which the
//! runtime does not yield shows up there whole, on a multi-thread one whatever blocks the
//! ticker's worker. The ticker's worst overshoot is read over three windows: 500 ms before the
//! attach (the floor), from the attach until the first snapshot is complete, and the 1.5 s after
//! it (which holds the first tick after the snapshot). Meanwhile a thread samples the process's
//! resident set every millisecond, so the peak growth while the snapshot is built and sent is
//! known.
//!
//! The observer either subscribes in-process ([`beamline::Runtime::observe`]) or connects to
//! the endpoint from a separate process (`bench-scale read`, so its buffers are not counted in
//! the runtime's memory), and the same is done for kameo's console (`kameo::console::serve`)
//! for comparison.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The ticker's period.
pub const TICK: Duration = Duration::from_millis(1);
/// How long the floor is measured before attaching.
pub const BEFORE: Duration = Duration::from_millis(500);
/// How long a served endpoint (or kameo's console) is left to settle before the measurement:
/// the endpoint's first scan of every process (for its flight recorder) happens then, as it
/// does at an application's start, not while the observer attaches.
pub const SETTLE: Duration = Duration::from_millis(2000);

/// How long the observer stays attached after its first snapshot.
pub const AFTER: Duration = Duration::from_millis(1500);

/// Resident set size of this process, bytes.
pub fn rss_bytes() -> u64 {
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

/// CPU time of the calling thread, µs.
pub fn thread_cpu_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// Tasks sleeping [`TICK`] in a loop (one per worker), keeping their worst overshoot since the
/// last [`Ticker::take`] in two measures:
///
/// - **wall**: how late the sleep ended. On a machine shared with other work this also counts
///   the worker being descheduled (the observer's own process decoding on the other core, a
///   build), and tokio's 1 ms timer resolution puts its floor at about 1 ms.
/// - **CPU over**: the CPU time the sleeping task's worker thread spent running *other tasks*
///   during the sleep, beyond the sleep's own 1 ms (when the sleep woke on the thread it began
///   on). That is what blocking a worker means; descheduling does not inflate it.
///   On a multi-thread runtime a sleep that woke on another worker is not counted, and a ticker
///   whose worker is held is usually run by another: there the figure can miss a held worker
///   (the current-thread runtime, where one thread runs everything, has no such gap).
pub struct Ticker {
    worst_us: Arc<AtomicU64>,
    worst_cpu_us: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Ticker {
    /// Start ticking on the current tokio runtime, one ticker per worker.
    pub fn start() -> Ticker {
        let worst_us = Arc::new(AtomicU64::new(0));
        let worst_cpu_us = Arc::new(AtomicU64::new(0));
        let workers = tokio::runtime::Handle::current().metrics().num_workers();
        let tasks = (0..workers.max(1))
            .map(|_| {
                let (worst, worst_cpu) = (worst_us.clone(), worst_cpu_us.clone());
                tokio::spawn(async move {
                    loop {
                        let (t, thread, cpu) =
                            (Instant::now(), std::thread::current().id(), thread_cpu_us());
                        tokio::time::sleep(TICK).await;
                        let over = t.elapsed().saturating_sub(TICK).as_micros() as u64;
                        worst.fetch_max(over, Ordering::Relaxed);
                        if std::thread::current().id() == thread {
                            let spent = thread_cpu_us().saturating_sub(cpu);
                            let over = spent.saturating_sub(TICK.as_micros() as u64);
                            worst_cpu.fetch_max(over, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        Ticker {
            worst_us,
            worst_cpu_us,
            tasks,
        }
    }

    /// The worst overshoot since the last call, wall and CPU over (µs), and start a new window.
    pub fn take(&self) -> (u64, u64) {
        (
            self.worst_us.swap(0, Ordering::Relaxed),
            self.worst_cpu_us.swap(0, Ordering::Relaxed),
        )
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A thread sampling [`rss_bytes`] every millisecond, keeping the peak.
pub struct PeakRss {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl PeakRss {
    /// Start sampling.
    pub fn start() -> PeakRss {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut peak = rss_bytes();
                while !stop.load(Ordering::Relaxed) {
                    peak = peak.max(rss_bytes());
                    std::thread::sleep(Duration::from_millis(1));
                }
                peak.max(rss_bytes())
            }
        });
        PeakRss { stop, thread }
    }

    /// Stop and return the peak, bytes.
    pub fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("rss sampler")
    }
}

/// What one attach cost.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Figures {
    /// Processes in the runtime.
    pub n: u64,
    /// The ticker's worst overshoot in the [`BEFORE`] window, µs.
    pub before_us: u64,
    /// Its worst overshoot from the attach until the first snapshot was complete, µs.
    pub stall_us: u64,
    /// Its worst overshoot in the [`AFTER`] window, µs.
    pub after_us: u64,
    /// The worst CPU over (see [`Ticker`]) in the [`BEFORE`] window, µs.
    pub before_cpu_us: u64,
    /// The worst CPU over from the attach until the first snapshot was complete, µs: the
    /// longest a worker was kept from a task by other work while attaching.
    pub stall_cpu_us: u64,
    /// The worst CPU over in the [`AFTER`] window, µs.
    pub after_cpu_us: u64,
    /// From the attach until the observer held a complete snapshot, ms (for the endpoint: as
    /// the reading process timed it, connect to last byte decoded).
    pub first_ms: f64,
    /// Encoded bytes of that snapshot, as sent (0 for an in-process subscription).
    pub bytes: u64,
    /// Processes the snapshot carried.
    pub processes: u64,
    /// Peak resident-set growth of the runtime's process while attaching, bytes.
    pub rss_growth: u64,
}

/// What an attach reports: how long it took by its own clock (or `None` to use the wall time
/// around it), bytes and processes received, and whatever must stay alive while attached.
pub struct Attached {
    /// Time to a complete snapshot by the observer's own clock.
    pub ms: Option<f64>,
    /// Bytes received.
    pub bytes: u64,
    /// Processes received.
    pub processes: u64,
    /// Kept until the end of the [`AFTER`] window (the subscription, the reading child).
    pub keep: Box<dyn Send>,
}

/// Run the three windows around `attach` (call on the runtime under test, with the processes
/// already started).
pub async fn measure<F, Fut>(n: u64, attach: F) -> Figures
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Attached>,
{
    let ticker = Ticker::start();
    tokio::time::sleep(BEFORE).await;
    let (before_us, before_cpu_us) = ticker.take();
    let rss0 = rss_bytes();
    let peak = PeakRss::start();
    let t = Instant::now();
    let got = attach().await;
    let wall_ms = t.elapsed().as_secs_f64() * 1e3;
    // Let an overdue ticker run and record its overshoot in this window (on a current-thread
    // runtime it has not run since before the attach if the attach never yielded).
    tokio::time::sleep(3 * TICK).await;
    let (stall_us, stall_cpu_us) = ticker.take();
    let rss_peak = peak.finish();
    tokio::time::sleep(AFTER).await;
    let (after_us, after_cpu_us) = ticker.take();
    drop(got.keep);
    Figures {
        n,
        before_us,
        stall_us,
        after_us,
        before_cpu_us,
        stall_cpu_us,
        after_cpu_us,
        first_ms: got.ms.unwrap_or(wall_ms),
        bytes: got.bytes,
        processes: got.processes,
        rss_growth: rss_peak.saturating_sub(rss0),
    }
}

/// What the reading process prints once it holds a complete snapshot.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ReadReport {
    /// Connect to complete snapshot, ms.
    pub ms: f64,
    /// Bytes read for it.
    pub bytes: u64,
    /// Processes in it (kameo's console: not decoded, reported as asked).
    pub processes: u64,
}

/// A child process reading from an endpoint (`bench-scale read <kind> <addr> <n> <hold ms>`);
/// killed when dropped.
pub struct Reader(Child);

impl Reader {
    /// Start `bench-scale read` (this very executable) and wait, off the runtime, for its report.
    pub async fn start(kind: &str, addr: &str, n: u64) -> (Reader, ReadReport) {
        let args = [kind.to_string(), addr.to_string(), n.to_string()];
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Started from a thread of its own: starting a process from a parent of gigabytes takes
        // milliseconds, which would count as a stall of the runtime under test.
        std::thread::spawn(move || {
            let mut child = Command::new(std::env::current_exe().expect("own path"))
                .arg("read")
                .args(&args)
                .arg(AFTER.as_millis().to_string())
                .stdout(Stdio::piped())
                .spawn()
                .expect("reader starts");
            let stdout = child.stdout.take().expect("piped");
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send((child, line));
        });
        let (child, line) = rx.await.expect("reader thread");
        let report = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("reader printed {line:?}: {e}"));
        (Reader(child), report)
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl From<(Reader, ReadReport)> for Attached {
    fn from((reader, r): (Reader, ReadReport)) -> Attached {
        Attached {
            ms: Some(r.ms),
            bytes: r.bytes,
            processes: r.processes,
            keep: Box::new(reader),
        }
    }
}
