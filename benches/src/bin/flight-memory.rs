//! Memory of the flight recorder (issue 17): N processes that all change every tick (the worst
//! case: every process a point at every tick) while an endpoint serves and an observation is
//! held (so the sampler runs in both cases), with the recorder on or off: the difference is
//! the recorder's. Prints one JSON line: the recorder's own count of what it holds and its
//! estimate, and the process's resident set before and after the ticks.
//!
//! `cargo run -p beamline-benches --release --bin flight-memory -- N [TICKS] [off]`

use beamline::{
    Ctx, EndpointConfig, FlightConfig, GenServer, InitError, Next, ObserveAddr, Runtime,
};
use beamline_benches::attach::rss_bytes;
use std::time::Duration;

/// The resident set once the allocator gave back what it holds free (glibc keeps freed
/// memory, which would count the sampler's churn as the recorder's).
fn settled_rss() -> u64 {
    // SAFETY: malloc_trim only releases free memory back to the system; no pointer is touched.
    unsafe { libc::malloc_trim(0) };
    rss_bytes()
}

/// Counts what it is sent.
struct Counter(u64);

impl GenServer for Counter {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = u64;
    type Info = ();

    async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Counter(0))
    }

    async fn handle_cast(&mut self, n: u64, _ctx: &mut Ctx<Self>) -> Next {
        self.0 += n;
        Next::noreply()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let ticks: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    let on = args.get(2).map(String::as_str) != Some("off");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(run(n, ticks, on));
}

async fn run(n: usize, ticks: usize, on: bool) {
    let interval = Duration::from_millis(1000);
    let config = if on {
        FlightConfig::default()
    } else {
        FlightConfig::off()
    };
    let rt = Runtime::builder()
        .observe_from_env(false)
        .interval(interval)
        .flight_recorder(config)
        .build();
    let mut procs = Vec::with_capacity(n);
    for _ in 0..n {
        procs.push(rt.start::<Counter>(()).await.expect("start"));
    }
    let dir = std::env::temp_dir().join(format!("flight-memory-{}", std::process::id()));
    let _ep = rt
        .serve(EndpointConfig::new(ObserveAddr::Unix(dir)))
        .expect("serve");
    // Never read: it keeps the sampler ticking with the recorder off too (it lags, as a slow
    // subscriber does, holding the hub's ring of ticks).
    let _watching = rt.observe();
    tokio::time::sleep(2 * interval).await;
    let before = settled_rss();
    let mut peak = before;
    for _ in 0..ticks {
        for p in &procs {
            let _ = p.cast(1).await;
        }
        tokio::time::sleep(interval).await;
        peak = peak.max(rss_bytes());
    }
    let held = rt.flight_held();
    let after = settled_rss();
    println!(
        "{{\"processes\":{n},\"ticks\":{ticks},\"recorder\":{on},\"points\":{},\"past_ticks\":{},\"named\":{},\"approx_mb\":{:.1},\"rss_before_mb\":{:.1},\"rss_after_mb\":{:.1},\"rss_peak_mb\":{:.1},\"growth_mb\":{:.1}}}",
        held.points,
        held.ticks,
        held.processes,
        held.approx_bytes as f64 / 1e6,
        before as f64 / 1e6,
        after as f64 / 1e6,
        peak as f64 / 1e6,
        (after as f64 - before as f64) / 1e6,
    );
}
