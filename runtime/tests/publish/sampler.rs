//! The sampler's figures over an interval, deltas holding only what changed, and exited
//! processes seen once then gone.

use crate::support::*;
use beamline::ExitReason;
use beamline::wire::{ServerMsg, Status, table::ProcessTable};
use proptest::prelude::*;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn rates_busy_peak_and_handle_times_over_one_interval() {
    let rt = runtime(1000);
    let w = rt.start::<Worker>(()).await.unwrap();
    let mut obs = rt.observe();
    assert!(matches!(obs.recv().await, Some(ServerMsg::Welcome(_))));
    let first = sample(&mut obs).await;
    assert!(matches!(first, ServerMsg::Snapshot(_)));
    for _ in 0..5 {
        w.cast(Work::Busy(Duration::from_millis(100)))
            .await
            .unwrap();
    }
    let d = sample(&mut obs).await;
    let ServerMsg::Delta(delta) = &d else {
        panic!("{d:?}")
    };
    assert_eq!(delta.interval_ms, 1000);
    let p = changed(&d, w.pid()).expect("the worker changed");
    assert_eq!(p.in_per_s, 5.0);
    assert_eq!(p.cast_per_s, 5.0);
    assert_eq!(p.call_per_s, 0.0);
    assert_eq!(p.busy, 0.5);
    assert_eq!(p.mailbox_peak, 5);
    assert_eq!(p.mailbox_len, 0);
    assert_eq!(p.mean_handle_us, 100_000.0);
    assert_eq!(p.max_handle_us, 100_000.0);
    assert_eq!(p.received, 5);
    assert_eq!(p.handled, 5);
    assert_eq!(delta.system.msgs_per_s, 5.0);

    // Nothing happens: rates drop to zero once (so the observer sees it), the peak resets...
    let d = sample(&mut obs).await;
    let p = changed(&d, w.pid()).expect("rates went back to zero");
    assert_eq!(
        (p.in_per_s, p.busy, p.mailbox_peak, p.max_handle_us),
        (0.0, 0.0, 0, 0.0)
    );
    // ...then the process is no longer sent at all.
    let d = sample(&mut obs).await;
    assert!(changed(&d, w.pid()).is_none(), "{d:?}");
}

/// A busy process handles up to 128 messages back to back, and a batch's handle time is known
/// when it ends: an interval that falls inside a long batch shows the last batch's figure, not
/// zero.
#[tokio::test(start_paused = true)]
async fn a_long_batch_keeps_the_last_max_handle_time_instead_of_zero() {
    let rt = runtime(1000);
    let w = rt.start::<Worker>(()).await.unwrap();
    let mut obs = rt.observe();
    sample(&mut obs).await;
    for _ in 0..300 {
        w.cast(Work::Busy(Duration::from_millis(40))).await.unwrap();
    }
    // The first batch (128 × 40 ms) ends after 5.12 s; the second runs until 10.24 s.
    let mut maxes = Vec::new();
    for _ in 0..9 {
        let d = sample(&mut obs).await;
        maxes.push(changed(&d, w.pid()).map_or(-1.0, |p| p.max_handle_us));
    }
    assert_eq!(&maxes[5..], &[40_000.0; 4], "{maxes:?}");
}

#[tokio::test(start_paused = true)]
async fn a_callback_in_progress_counts_as_busy_and_shows_its_status() {
    let rt = runtime(1000);
    let w = rt.start::<Worker>(()).await.unwrap();
    let mut obs = rt.observe();
    sample(&mut obs).await;
    w.cast(Work::Busy(Duration::from_millis(1500)))
        .await
        .unwrap();
    let d = sample(&mut obs).await;
    let p = changed(&d, w.pid()).unwrap();
    assert_eq!(p.busy, 1.0);
    assert!(
        matches!(p.status, Status::Handling { .. }),
        "{:?}",
        p.status
    );
}

#[tokio::test(start_paused = true)]
async fn deltas_carry_only_changed_processes() {
    let rt = runtime(1000);
    let mut workers = Vec::new();
    for _ in 0..100 {
        workers.push(rt.start::<Worker>(()).await.unwrap());
    }
    let mut obs = rt.observe();
    let ServerMsg::Snapshot(s) = sample(&mut obs).await else {
        panic!()
    };
    assert_eq!(s.processes.len(), 100);
    assert_eq!(s.system.processes, 100);
    // Quiet tick: nothing was active, nothing is sent.
    let ServerMsg::Delta(d) = sample(&mut obs).await else {
        panic!()
    };
    assert!(d.changed.is_empty() && d.removed.is_empty(), "{d:?}");
    workers[42].cast(Work::Busy(Duration::ZERO)).await.unwrap();
    let ServerMsg::Delta(d) = sample(&mut obs).await else {
        panic!()
    };
    let ids: Vec<_> = d.changed.iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![workers[42].pid()]);
}

#[tokio::test(start_paused = true)]
async fn exited_processes_are_seen_once_then_removed_and_forgotten() {
    let rt = runtime(1000);
    let mut obs = rt.observe();
    sample(&mut obs).await;
    // Spawned and gone within one interval: still reported once.
    let w = rt.start::<Worker>(()).await.unwrap();
    let pid = w.pid();
    w.cast(Work::Stop).await.unwrap();
    w.process().wait().await;
    let d = sample(&mut obs).await;
    let p = changed(&d, pid).expect("seen once");
    assert_eq!(
        p.status,
        Status::Exited {
            reason: ExitReason::Normal.to_string()
        }
    );
    let ServerMsg::Delta(d) = sample(&mut obs).await else {
        panic!()
    };
    assert_eq!(d.removed, vec![pid]);
    assert!(d.changed.iter().all(|p| p.id != pid));
    assert!(rt.process(pid).is_none(), "forgotten once reported");
    let ServerMsg::Delta(d) = sample(&mut obs).await else {
        panic!()
    };
    assert!(d.removed.is_empty());
}

#[tokio::test(start_paused = true)]
async fn system_sample_has_tokio_figures_and_counts() {
    let rt = runtime(1000);
    rt.start::<Worker>(()).await.unwrap();
    let mut obs = rt.observe();
    let ServerMsg::Snapshot(s) = sample(&mut obs).await else {
        panic!()
    };
    assert_eq!(s.system.workers, 1);
    assert!(s.system.alive_tasks >= 2, "{:?}", s.system);
    assert_eq!(s.system.spawned_total, 1);
    assert_eq!(s.system.processes, 1);
}

#[tokio::test(start_paused = true)]
async fn task_metrics_are_opt_in() {
    let rt = beamline::Runtime::builder()
        .observe_from_env(false)
        .task_metrics(true)
        .build();
    let w = rt.start::<Worker>(()).await.unwrap();
    let mut obs = rt.observe();
    sample(&mut obs).await;
    w.cast(Work::Busy(Duration::ZERO)).await.unwrap();
    let d = sample(&mut obs).await;
    assert!(changed(&d, w.pid()).unwrap().task.is_some());

    let plain = runtime(1000);
    let w = plain.start::<Worker>(()).await.unwrap();
    let mut obs = plain.observe();
    let s = sample(&mut obs).await;
    assert!(changed(&s, w.pid()).unwrap().task.is_none());
}

#[derive(Clone, Debug)]
enum Op {
    Spawn,
    Cast(usize),
    Stop(usize),
    Tick,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            2 => Just(Op::Spawn),
            3 => (0usize..16).prop_map(Op::Cast),
            1 => (0usize..16).prop_map(Op::Stop),
            2 => Just(Op::Tick),
        ],
        1..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A subscriber that applied every delta since its snapshot holds exactly what a new
    /// subscriber's fresh snapshot says.
    #[test]
    fn applying_deltas_reproduces_a_fresh_snapshot(ops in ops()) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async move {
            let rt = runtime(100);
            let mut old = rt.observe();
            let mut table = ProcessTable::default();
            apply(&mut table, &sample(&mut old).await);
            let mut workers = Vec::new();
            for op in ops {
                match op {
                    Op::Spawn => workers.push(rt.start::<Worker>(()).await.unwrap()),
                    Op::Cast(i) if !workers.is_empty() => {
                        let _ = workers[i % workers.len()].cast(Work::Busy(Duration::from_millis(7))).await;
                    }
                    Op::Stop(i) if !workers.is_empty() => {
                        let w = workers.remove(i % workers.len());
                        let _ = w.cast(Work::Stop).await;
                    }
                    Op::Tick => apply(&mut table, &sample(&mut old).await),
                    _ => {}
                }
            }
            let mut fresh = rt.observe();
            let mut other = ProcessTable::default();
            apply(&mut other, &sample(&mut fresh).await);
            while table.seq < other.seq {
                apply(&mut table, &sample(&mut old).await);
            }
            assert_eq!(table.seq, other.seq);
            assert_eq!(table, other);
        });
    }
}

/// Measures the sampler's cost; run in release:
/// `BEAMLINE_BENCH_PROCESSES=1000000 cargo test --release -p beamline --test publish -- --ignored --nocapture sampler_cost`
#[test]
#[ignore]
fn sampler_cost() {
    let n: usize = std::env::var("BEAMLINE_BENCH_PROCESSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let rt = runtime(100);
        let mut workers = Vec::with_capacity(n);
        for _ in 0..n {
            workers.push(rt.start::<Worker>(()).await.unwrap());
        }
        let mut obs = rt.observe();
        let mut costs = Vec::new();
        let mut last_at = None;
        let mut i = 0;
        while costs.len() < 6 {
            let (at, cost, sent) = match sample(&mut obs).await {
                ServerMsg::Snapshot(s) => (
                    s.at_ms,
                    s.system.sample_cost_us,
                    ("snapshot", s.processes.len()),
                ),
                ServerMsg::Delta(d) => {
                    (d.at_ms, d.system.sample_cost_us, ("delta", d.changed.len()))
                }
                _ => unreachable!(),
            };
            if last_at == Some(at) {
                continue; // another frame of the same tick
            }
            last_at = Some(at);
            costs.push((cost, sent));
            // 1% of the processes get a message before the next tick.
            for w in workers.iter().skip(i).step_by(100) {
                w.cast(Work::Busy(Duration::ZERO)).await.unwrap();
            }
            i += 1;
        }
        println!("sampler cost at {n} processes (us, samples sent): {costs:?}");
    });
}

/// A state that grows with each cast and reports its deep size.
struct Hoarder(Vec<u8>);

impl beamline::GenServer for Hoarder {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = usize;
    type Info = ();
    async fn init(_: (), _ctx: &mut beamline::Ctx<Self>) -> Result<Self, beamline::InitError> {
        Ok(Hoarder(Vec::new()))
    }
    async fn handle_cast(&mut self, n: usize, _ctx: &mut beamline::Ctx<Self>) -> beamline::Next {
        self.0.extend(std::iter::repeat_n(1u8, n));
        beamline::Next::noreply()
    }
    fn state_size(&self) -> beamline::StateSize {
        beamline::StateSize::deep(std::mem::size_of::<Self>() + self.0.len())
    }
}

/// Regression: the sampler never asked processes to measure their state, so state size stayed
/// at its value after `init` and a leak was invisible.
#[tokio::test(start_paused = true)]
async fn state_size_follows_the_state_at_most_once_per_interval() {
    let rt = runtime(1000);
    let h = rt.start::<Hoarder>(()).await.unwrap();
    let mut obs = rt.observe();
    sample(&mut obs).await;
    let mut sizes = Vec::new();
    for _ in 0..4 {
        h.cast(10_000).await.unwrap();
        let d = sample(&mut obs).await;
        if let Some(p) = changed(&d, h.pid()) {
            assert!(p.state_deep);
            sizes.push(p.state_bytes);
        }
    }
    assert!(sizes.len() >= 3, "{sizes:?}");
    assert!(
        sizes.windows(2).all(|w| w[1] > w[0]),
        "state size grows with the state: {sizes:?}"
    );
    assert!(*sizes.last().unwrap() >= 30_000, "{sizes:?}");
}

/// A server whose `init` outlasts two sampling intervals (a supervisor starting slow children
/// does: `scenario/overflow` in the demo).
struct SlowInit;

impl beamline::GenServer for SlowInit {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();

    async fn init(_: (), _ctx: &mut beamline::Ctx<Self>) -> Result<Self, beamline::InitError> {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        Ok(SlowInit)
    }
}

#[tokio::test(start_paused = true)]
async fn a_process_is_idle_once_its_init_returns_even_with_no_message_after() {
    let rt = runtime(1000);
    let mut obs = rt.observe();
    let mut table = ProcessTable::default();
    apply(&mut table, &sample(&mut obs).await);
    let starter = {
        let rt = rt.clone();
        tokio::spawn(async move { rt.start::<SlowInit>(()).await.unwrap().pid() })
    };
    for _ in 0..2 {
        apply(&mut table, &sample(&mut obs).await);
    }
    let starting: Vec<_> = table.processes.iter().map(|p| p.status.clone()).collect();
    assert_eq!(starting, [Status::Starting], "seen while in init");
    let pid = starter.await.unwrap();
    for _ in 0..2 {
        apply(&mut table, &sample(&mut obs).await);
    }
    assert_eq!(table.get(pid).map(|p| &p.status), Some(&Status::Idle));
}

/// A server that, asked `true`, calls itself (the mistake); asked `false`, just answers.
struct SelfCaller;

impl beamline::GenServer for SelfCaller {
    type Args = ();
    type Call = bool;
    type Reply = bool;
    type Cast = ();
    type Info = ();

    async fn init(_: (), _ctx: &mut beamline::Ctx<Self>) -> Result<Self, beamline::InitError> {
        Ok(SelfCaller)
    }

    async fn handle_call(
        &mut self,
        ask_myself: bool,
        ctx: &mut beamline::Ctx<Self>,
    ) -> beamline::CallReply<bool> {
        if ask_myself {
            let refused = ctx.myself().call(false).await == Err(beamline::CallError::CallingSelf);
            return beamline::CallReply::reply(refused);
        }
        beamline::CallReply::reply(true)
    }
}

/// In OTP a `gen_server:call` to oneself blocks until its timeout; Beamline refuses it at once
/// and counts it, so the observer can name the bug. Calls from others never count.
#[tokio::test(start_paused = true)]
async fn refused_self_calls_are_counted_in_samples_and_other_calls_are_not() {
    let rt = runtime(1000);
    let s = rt.start::<SelfCaller>(()).await.unwrap();
    let mut obs = rt.observe();
    sample(&mut obs).await;
    assert_eq!(s.call(false).await, Ok(true));
    assert_eq!(s.call(false).await, Ok(true));
    let d = sample(&mut obs).await;
    assert_eq!(changed(&d, s.pid()).unwrap().self_calls_refused, 0);
    assert_eq!(s.call(true).await, Ok(true));
    assert_eq!(s.call(true).await, Ok(true));
    let d = sample(&mut obs).await;
    let p = changed(&d, s.pid()).expect("the refusals changed the sample");
    assert_eq!((p.self_calls_refused, p.handled), (2, 4));
}
