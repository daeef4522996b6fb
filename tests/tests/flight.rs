//! The flight recorder end to end (issue 17): a runtime that has been overflowing, leaking or
//! storming for 30 s while its endpoint served, then an observer that attaches once. In
//! process with tokio's paused clock (the runtime, its real sampler and recorder, and the
//! observer's model and `--json` line), plus one run of the real binaries.

use crate::support::{DEMO, Demo, OBSERVER, run};
use beamline::supervisor::{ChildSpec, Strategy, SupervisorSpec};
use beamline::wire::ServerMsg;
use beamline::{
    Ctx, EndpointConfig, GenServer, Info, InitError, Next, ObserveAddr, Runtime, StateSize,
};
use beamline_observer::Thresholds;
use beamline_observer::json::{JsonAlert, JsonSample, Selection};
use beamline_observer::model::{Change, Model};
use beamline_observer::source::SourceEvent;
use demo::Scenario;
use demo::scenarios::{leak, overflow};
use std::time::Duration;
use tokio::time::Instant;

/// The sampling interval of these runtimes (the default).
const INTERVAL_MS: u64 = 1000;

/// A runtime serving a Unix socket nobody connects to: what keeps its flight recorder fed.
fn serving() -> (
    Runtime,
    beamline::Endpoint,
    crate::support::TempDir,
    Instant,
) {
    let started = Instant::now();
    let rt = Runtime::builder()
        .observe_from_env(false)
        .quiet_panics(true)
        .build();
    let dir = crate::support::TempDir::new("flight");
    let ep = rt
        .serve(EndpointConfig::new(ObserveAddr::Unix(dir.path("s"))))
        .unwrap();
    (rt, ep, dir, started)
}

/// Milliseconds of runtime time since `started` (the runtime's clock started with it).
fn now_ms(started: Instant) -> u64 {
    started.elapsed().as_millis() as u64
}

/// Attach once, as `observer --attach ADDR --json --once` does: fold everything up to the
/// first live sample into the observer's model and give its JSON line.
async fn attach_once(rt: &Runtime) -> JsonSample {
    let mut obs = rt.observe();
    let mut model = Model::new(Thresholds::default());
    let mut past = 0;
    loop {
        let msg = obs.recv().await.expect("the sampler runs");
        past += matches!(msg, ServerMsg::History(_)) as usize;
        if model.apply(SourceEvent::Msg(msg)) == Change::Sample {
            assert!(past > 20, "the history came first: {past} ticks");
            let m = model.latest().unwrap().clone();
            return JsonSample::new(&model, &m, 0, &Selection::default());
        }
    }
}

/// The alert of `kind` whose culprit is named `name`.
fn alert<'a>(line: &'a JsonSample, kind: &str, name: &str) -> &'a JsonAlert {
    line.alerts
        .iter()
        .find(|a| {
            a.kind == kind
                && line
                    .processes
                    .iter()
                    .any(|p| p.id == a.processes[0] && p.name.as_deref() == Some(name))
        })
        .unwrap_or_else(|| panic!("no {kind} alert on {name}: {:#?}", line.alerts))
}

/// `since` is within one interval of when the fault really began.
fn assert_onset(a: &JsonAlert, fault_ms: u64) {
    assert!(
        a.since_ms + INTERVAL_MS >= fault_ms && a.since_ms <= fault_ms + INTERVAL_MS,
        "since {} for a fault that began at {fault_ms}: {a:?}",
        a.since_ms
    );
}

#[tokio::test(start_paused = true)]
async fn once_after_30s_of_overflow_names_the_consumer_and_when_it_began() {
    let (rt, _ep, _dir, started) = serving();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let fault = now_ms(started);
    demo::workload::start_scenario(&rt, Scenario::Overflow)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let line = attach_once(&rt).await;
    rt.shutdown().await;
    let a = alert(&line, "overflow", overflow::CONSUMER);
    assert_onset(a, fault);
    assert!(line.at_ms >= a.since_ms + 29_000, "{} vs {a:?}", line.at_ms);
}

#[tokio::test(start_paused = true)]
async fn once_after_30s_of_a_leak_names_the_hoarder_and_when_it_began() {
    let (rt, _ep, _dir, started) = serving();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let fault = now_ms(started);
    demo::workload::start_scenario(&rt, Scenario::Leak)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let line = attach_once(&rt).await;
    rt.shutdown().await;
    assert_onset(alert(&line, "state_growth", leak::NAME), fault);
}

/// A worker that panics a fixed time after it starts, and may leak meanwhile.
struct Crashy {
    leak_per_tick: usize,
    kept: Vec<u8>,
}

#[derive(Debug)]
enum Tick {
    Feed,
    Crash,
}

impl GenServer for Crashy {
    /// (Lifetime before the panic, bytes kept per 250 ms.)
    type Args = (Duration, usize);
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Tick;

    async fn init((life, leak): (Duration, usize), ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_after(Tick::Crash, life);
        ctx.send_interval(|| Tick::Feed, Duration::from_millis(250));
        Ok(Crashy {
            leak_per_tick: leak,
            kept: Vec::new(),
        })
    }

    async fn handle_info(&mut self, msg: Info<Tick>, _ctx: &mut Ctx<Self>) -> Next {
        match msg {
            Info::Msg(Tick::Feed) => self
                .kept
                .extend(std::iter::repeat_n(1u8, self.leak_per_tick)),
            Info::Msg(Tick::Crash) => panic!("crashy: gave up after {} bytes", self.kept.len()),
            _ => {}
        }
        Next::noreply()
    }

    fn state_size(&self) -> StateSize {
        StateSize::deep(self.kept.capacity())
    }
}

/// `crashy/sup` (tolerant enough never to give up) over `crashy`.
async fn start_crashy(rt: &Runtime, life: Duration, leak: usize) {
    let sup = SupervisorSpec::new(Strategy::OneForOne)
        .name("crashy/sup")
        .intensity(1000, Duration::from_secs(5))
        .child(ChildSpec::worker::<Crashy>("crashy", (life, leak)).name("crashy"));
    rt.supervise(ChildSpec::supervisor("crashy/sup", sup))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn once_after_30s_of_a_restart_storm_names_the_worker_and_its_first_crash() {
    let (rt, _ep, _dir, started) = serving();
    tokio::time::sleep(Duration::from_secs(5)).await;
    start_crashy(&rt, Duration::from_secs(2), 0).await;
    let first_crash = now_ms(started) + 2000;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let line = attach_once(&rt).await;
    rt.shutdown().await;
    let a = alert(&line, "restart_storm", "crashy");
    assert_eq!(a.severity, "critical");
    assert_onset(a, first_crash);
}

/// Item 4 of the issue with the real sampler: a worker that leaks and crashes every few
/// seconds is still a leak (its slot's series rises across restarts)...
#[tokio::test(start_paused = true)]
async fn a_worker_that_leaks_and_crashes_every_few_seconds_is_a_leak() {
    let (rt, _ep, _dir, _) = serving();
    start_crashy(&rt, Duration::from_secs(4), 64 * 1024).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let line = attach_once(&rt).await;
    rt.shutdown().await;
    let a = alert(&line, "state_growth", "crashy");
    assert!(a.message.contains("across"), "{a:?}");
}

/// ... and a slow crash loop, under the storm threshold, still gets an alert.
#[tokio::test(start_paused = true)]
async fn a_slow_crash_loop_under_the_storm_threshold_gets_an_alert() {
    let (rt, _ep, _dir, _) = serving();
    start_crashy(&rt, Duration::from_secs(15), 0).await;
    tokio::time::sleep(Duration::from_secs(50)).await;
    let line = attach_once(&rt).await;
    rt.shutdown().await;
    let a = alert(&line, "restart_storm", "crashy");
    assert_eq!(a.severity, "warning");
    assert!(a.message.contains("crash-looping"), "{a:?}");
}

/// The real binaries: `demo --serve --scenario overflow` for a while, then `observer --attach
/// ADDR --json --once`: the overflow is named at once, with an onset as old as the fault.
#[test]
fn the_real_observer_attaching_once_sees_how_long_the_overflow_has_lasted() {
    let demo = Demo::serve("127.0.0.1:0", &["--scenario", "overflow"]);
    let started = std::time::Instant::now();
    let addr = demo.addr.clone();
    // A real fault needs real time: ask every second until the alert is there (at most 40 s).
    let (line, age_ms) = loop {
        std::thread::sleep(Duration::from_secs(1));
        let out = run(
            OBSERVER,
            &["--attach", &addr, "--json", "--once"],
            Duration::from_secs(20),
        );
        assert!(out.status.success(), "{out:?}");
        let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let named = line["alerts"].as_array().unwrap().iter().any(|a| {
            a["kind"] == "overflow"
                && a["message"]
                    .as_str()
                    .unwrap()
                    .starts_with(overflow::CONSUMER)
        });
        let age = started.elapsed().as_millis() as u64;
        if named && age > 12_000 {
            break (line, age);
        }
        assert!(age < 40_000, "no overflow alert after 40 s: {line}");
    };
    let a = line["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "overflow")
        .unwrap();
    let (since, at) = (
        a["since_ms"].as_u64().unwrap(),
        line["at_ms"].as_u64().unwrap(),
    );
    // The demo started the fault as it started serving: the alert is about as old as the run
    // (less the time to start up and a couple of intervals of slack).
    assert!(since < at, "{line}");
    assert!(
        at - since + 3_000 >= age_ms.saturating_sub(3_000),
        "since {since}, at {at}, fault running for {age_ms} ms"
    );
    let _ = DEMO;
}
