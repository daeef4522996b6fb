//! The whole chain, in-process: each scenario runs on the runtime, the real sampler publishes it,
//! and the observer's model and diagnosis (the same code the TUI and `--json` use) must raise
//! the scenario's alert naming the right process first; the calm workload must raise none.

use beamline::Runtime;
use beamline::wire::ServerMsg;
use beamline_observer::model::Model;
use beamline_observer::source::SourceEvent;
use beamline_observer::{Alert, AlertKind, Thresholds};
use demo::Scenario;
use demo::scenarios::{bottleneck, crash, deadlock, leak, overflow, self_call};
use demo::workload::{Workload, start, start_scenario};

/// Feed `samples` sampler ticks into the observer's model; return, per tick, the alerts with
/// the culprit's name.
async fn watch(rt: &Runtime, samples: usize) -> Vec<Vec<(AlertKind, String)>> {
    let mut obs = rt.observe();
    let mut model = Model::new(Thresholds::default());
    let mut out = Vec::new();
    while out.len() < samples {
        let msg = obs.recv().await.expect("the sampler runs");
        let tick = matches!(msg, ServerMsg::Snapshot(_) | ServerMsg::Delta(_));
        model.apply(SourceEvent::Msg(msg));
        if tick {
            let names = |a: &Alert| {
                let culprit = a.processes[0];
                model
                    .latest()
                    .and_then(|m| m.get(culprit).and_then(|p| p.name.clone()))
                    .unwrap_or_else(|| culprit.to_string())
            };
            out.push(model.alerts.iter().map(|a| (a.kind, names(a))).collect());
        }
    }
    out
}

async fn scenario(s: Scenario) -> Vec<Vec<(AlertKind, String)>> {
    let rt = Runtime::builder().observe_from_env(false).build();
    start_scenario(&rt, s).await.unwrap();
    let ticks = watch(&rt, 30).await;
    rt.shutdown().await;
    ticks
}

/// The first tick whose alerts include `kind` naming `culprit`, if any.
fn first(ticks: &[Vec<(AlertKind, String)>], kind: AlertKind, culprit: &str) -> Option<usize> {
    ticks
        .iter()
        .position(|t| t.iter().any(|(k, n)| *k == kind && n == culprit))
}

#[tokio::test(start_paused = true)]
async fn overflow_names_the_slow_consumer() {
    let ticks = scenario(Scenario::Overflow).await;
    let at = first(&ticks, AlertKind::Overflow, overflow::CONSUMER);
    assert!(at.is_some_and(|t| t <= 10), "{ticks:?}");
    assert!(
        ticks.iter().flatten().all(|(_, n)| n != overflow::PRODUCER),
        "the producer is never blamed: {ticks:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn bottleneck_names_the_ledger_not_its_callers() {
    let ticks = scenario(Scenario::Bottleneck).await;
    let at = first(&ticks, AlertKind::Bottleneck, bottleneck::LEDGER);
    assert!(at.is_some_and(|t| t <= 5), "{ticks:?}");
    let later = &ticks[at.unwrap()..];
    assert!(
        later
            .iter()
            .all(|t| t.first().is_some_and(|(_, n)| n == bottleneck::LEDGER)),
        "the ledger stays ranked first: {ticks:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn deadlock_names_both_servers_before_the_call_timeout() {
    let ticks = scenario(Scenario::Deadlock).await;
    let at = ticks
        .iter()
        .position(|t| t.iter().any(|(k, _)| *k == AlertKind::Deadlock))
        .expect("a deadlock alert");
    // The cycle forms about 2 s in; the calls time out after 8 s more.
    assert!(at < 2 + 8, "seen at tick {at}: {ticks:?}");
    let culprits: Vec<&String> = ticks[at]
        .iter()
        .filter(|(k, _)| *k == AlertKind::Deadlock)
        .map(|(_, n)| n)
        .collect();
    assert!(
        culprits
            .iter()
            .all(|n| *n == deadlock::ALICE || *n == deadlock::BOB),
        "{culprits:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn crash_raises_a_restart_storm_on_its_supervisor_or_worker() {
    let ticks = scenario(Scenario::Crash).await;
    let named = ticks.iter().flatten().any(|(k, n)| {
        *k == AlertKind::RestartStorm && (n == crash::SUPERVISOR || n == crash::WORKER)
    });
    assert!(named, "{ticks:?}");
}

#[tokio::test(start_paused = true)]
async fn leak_names_the_hoarder() {
    let ticks = scenario(Scenario::Leak).await;
    assert!(
        first(&ticks, AlertKind::StateGrowth, leak::NAME).is_some(),
        "{ticks:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn self_call_raises_nothing() {
    let ticks = scenario(Scenario::SelfCall).await;
    assert!(ticks.iter().all(Vec::is_empty), "{ticks:?}");
}

/// No alert, but the samples count the refused self-calls, and the event log and the banner's
/// list name the server within 10 s (it makes the mistake every 3 s).
#[tokio::test(start_paused = true)]
async fn self_call_samples_carry_the_refusals_to_the_event_log_and_banner() {
    use beamline_observer::model::events::EventKind;
    let rt = Runtime::builder().observe_from_env(false).build();
    start_scenario(&rt, Scenario::SelfCall).await.unwrap();
    let mut obs = rt.observe();
    let mut model = Model::new(Thresholds::default());
    let mut ticks = 0;
    // Eleven ticks: 0 s to 10 s at the default interval of 1 s; refusals at 3, 6 and 9 s.
    while ticks < 11 {
        let msg = obs.recv().await.expect("the sampler runs");
        ticks += matches!(msg, ServerMsg::Snapshot(_) | ServerMsg::Delta(_)) as usize;
        model.apply(SourceEvent::Msg(msg));
    }
    rt.shutdown().await;
    let latest = model.latest().unwrap();
    let server = (latest.processes.iter())
        .find(|p| p.name.as_deref() == Some(self_call::NAME))
        .unwrap();
    assert!(server.self_calls_refused >= 3, "{server:?}");
    let logged: u64 = (model.events.iter())
        .filter(|e| e.kind == EventKind::SelfCall && e.who == self_call::NAME)
        .count() as u64;
    assert!(logged >= 3, "one event per sample with refusals");
    let banner = model.events.self_calls(latest.at_ms);
    assert_eq!(banner.len(), 1, "{banner:?}");
    assert_eq!(
        (banner[0].who.as_str(), banner[0].refused),
        (self_call::NAME, server.self_calls_refused)
    );
    let others = (latest.processes.iter())
        .filter(|p| p.id != server.id)
        .map(|p| p.self_calls_refused);
    assert_eq!(others.sum::<u64>(), 0, "only the server calls itself");
}

#[tokio::test(start_paused = true)]
async fn the_calm_workload_raises_no_alert_for_a_minute() {
    let rt = Runtime::builder().observe_from_env(false).build();
    start(
        &rt,
        Workload {
            schedule: None,
            ..Workload::default()
        },
    )
    .await
    .unwrap();
    let ticks = watch(&rt, 60).await;
    rt.shutdown().await;
    assert!(ticks.iter().all(Vec::is_empty), "{ticks:?}");
}

// ---- The rules of issue 17, each on its own small workload run by the real sampler. ----

mod rules {
    use super::watch;
    use beamline::{
        CallReply, Ctx, GenServer, InitError, Mailbox, Next, Overflow, Runtime, ServerRef,
        SpawnOpts, Task,
    };
    use beamline_observer::model::Model;
    use beamline_observer::source::SourceEvent;
    use beamline_observer::{AlertKind, Severity, Thresholds};
    use std::time::Duration;

    /// A server that sleeps `work` (on tokio's clock) per message and, if it has a `next`,
    /// calls it from each call it handles: a link in a chain of calls.
    struct Stage {
        work: Duration,
        next: Option<ServerRef<Stage>>,
    }

    #[derive(Debug)]
    enum Cast {
        /// Handle one message.
        Work,
        /// Call `to` for ever (a client).
        CallForEver(ServerRef<Stage>),
    }

    impl GenServer for Stage {
        type Args = (Duration, Option<ServerRef<Stage>>);
        type Call = ();
        type Reply = ();
        type Cast = Cast;
        type Info = ();

        async fn init((work, next): Self::Args, _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
            Ok(Stage { work, next })
        }

        async fn handle_call(&mut self, _: (), _ctx: &mut Ctx<Self>) -> CallReply<()> {
            tokio::time::sleep(self.work).await;
            if let Some(next) = &self.next {
                let _ = next.call_timeout((), Duration::from_secs(600)).await;
            }
            CallReply::reply(())
        }

        async fn handle_cast(&mut self, msg: Cast, _ctx: &mut Ctx<Self>) -> Next {
            match msg {
                Cast::Work => tokio::time::sleep(self.work).await,
                Cast::CallForEver(to) => loop {
                    let _ = to.call_timeout((), Duration::from_secs(600)).await;
                },
            }
            Next::noreply()
        }
    }

    async fn stage(
        rt: &Runtime,
        name: &str,
        work_ms: u64,
        next: Option<ServerRef<Stage>>,
    ) -> ServerRef<Stage> {
        stage_with(rt, name, work_ms, next, Mailbox::Unbounded).await
    }

    async fn stage_with(
        rt: &Runtime,
        name: &str,
        work_ms: u64,
        next: Option<ServerRef<Stage>>,
        mailbox: Mailbox,
    ) -> ServerRef<Stage> {
        let opts = SpawnOpts::new().name(name.to_string()).mailbox(mailbox);
        rt.start_with::<Stage>((Duration::from_millis(work_ms), next), opts)
            .await
            .unwrap()
    }

    fn runtime() -> Runtime {
        Runtime::builder().observe_from_env(false).build()
    }

    /// Three levels: six clients call `api`, which calls `db`, which takes 2 s per call.
    #[tokio::test(start_paused = true)]
    async fn a_call_chain_names_its_slow_end_first_with_the_waits_folded() {
        let rt = runtime();
        let db = stage(&rt, "db", 2000, None).await;
        let api = stage(&rt, "api", 0, Some(db)).await;
        for i in 0..6 {
            let c = stage(&rt, &format!("client{i}"), 0, None).await;
            c.cast(Cast::CallForEver(api.clone())).await.unwrap();
        }
        let ticks = watch(&rt, 30).await;
        rt.shutdown().await;
        let at = ticks
            .iter()
            .position(|t| {
                t.first()
                    .is_some_and(|(k, n)| *k == AlertKind::Bottleneck && n == "db")
            })
            .unwrap_or_else(|| panic!("db never ranked first: {ticks:?}"));
        assert!(at <= 5, "{ticks:?}");
        for t in &ticks[at..] {
            assert_eq!(t.first().map(|(_, n)| n.as_str()), Some("db"), "{ticks:?}");
            assert!(
                t.iter().all(|(k, _)| *k != AlertKind::LongWait),
                "the clients' waits are folded into db's alert: {ticks:?}"
            );
        }
    }

    /// Feeds `samples` ticks to a model and hands each to `f`.
    async fn each_tick(rt: &Runtime, samples: usize, mut f: impl FnMut(&Model)) {
        let mut obs = rt.observe();
        let mut model = Model::new(Thresholds::default());
        let mut n = 0;
        while n < samples {
            let msg = obs.recv().await.expect("the sampler runs");
            let tick = matches!(
                msg,
                beamline::wire::ServerMsg::Snapshot(_) | beamline::wire::ServerMsg::Delta(_)
            );
            model.apply(SourceEvent::Msg(msg));
            if tick {
                n += 1;
                f(&model);
            }
        }
    }

    fn len_of(model: &Model, name: &str) -> u64 {
        model
            .latest()
            .and_then(|m| {
                m.processes
                    .iter()
                    .find(|p| p.name.as_deref() == Some(name))
                    .map(|p| p.mailbox_len)
            })
            .unwrap_or(0)
    }

    /// A consumer handling 100 messages a second with room for 100, sent 500 a second.
    #[tokio::test(start_paused = true)]
    async fn a_bounded_mailbox_dropping_is_critical_and_says_how_many() {
        let rt = runtime();
        let bounded = Mailbox::Bounded {
            capacity: 100,
            overflow: Overflow::DropNewest,
        };
        let sink = stage_with(&rt, "sink", 10, None, bounded).await;
        let s2 = sink.clone();
        tokio::spawn(async move {
            loop {
                for _ in 0..50 {
                    let _ = s2.cast(Cast::Work).await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let mut seen = Vec::new();
        each_tick(&rt, 15, |m| {
            if let Some(a) = m.alerts.iter().find(|a| a.kind == AlertKind::Overflow) {
                seen.push((a.severity, a.message.clone()));
            }
        })
        .await;
        rt.shutdown().await;
        assert!(seen.len() >= 12, "raised at once: {seen:?}");
        assert!(
            seen.iter().all(|(s, _)| *s == Severity::Critical),
            "{seen:?}"
        );
        let (_, last) = seen.last().unwrap();
        let rate: f64 = last
            .split(", dropping ")
            .nth(1)
            .and_then(|r| r.split("/s (").next())
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("{last}"));
        assert!((350.0..=450.0).contains(&rate), "{last}");
        assert!(
            last.starts_with("sink: mailbox") && last.ends_with(" lost in all)"),
            "{last}"
        );
    }

    /// Bursts that drain within two and a half seconds, every six or so.
    #[tokio::test(start_paused = true)]
    async fn a_burst_that_drains_raises_nothing() {
        let rt = runtime();
        // 1 ms per message: a burst of 2,500 is over the limit (1,000) for 1.5 s and gone in 2.5 s.
        let sink = stage(&rt, "sink", 1, None).await;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(5700)).await;
                for _ in 0..2500 {
                    let _ = sink.cast(Cast::Work).await;
                }
            }
        });
        let mut deepest = 0;
        let mut alerts = Vec::new();
        each_tick(&rt, 30, |m| {
            deepest = deepest.max(len_of(m, "sink"));
            alerts.extend(m.alerts.iter().map(|a| a.message.clone()));
        })
        .await;
        rt.shutdown().await;
        assert!(
            deepest > 1000,
            "the sampler saw a burst over the limit: {deepest}"
        );
        assert!(alerts.is_empty(), "{alerts:?}");
    }

    /// A handler awaits a task that calls back into it: the deadlock the observer could not see.
    struct Awaiter;

    impl GenServer for Awaiter {
        type Args = ();
        type Call = ();
        type Reply = ();
        type Cast = ();
        type Info = ();

        async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
            Ok(Awaiter)
        }

        async fn handle_call(&mut self, _: (), _ctx: &mut Ctx<Self>) -> CallReply<()> {
            CallReply::reply(())
        }

        async fn handle_cast(&mut self, _: (), ctx: &mut Ctx<Self>) -> Next {
            let me = ctx.myself().clone();
            let back = Task::start_nolink(ctx.runtime(), async move {
                let _ = me.call_timeout((), Duration::from_secs(60)).await;
            });
            if let Ok(mut t) = back.await {
                let _ = t.await_timeout(Duration::from_secs(60)).await;
            }
            Next::noreply()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_calling_back_into_its_awaiting_caller_is_a_deadlock() {
        let rt = runtime();
        let opts = SpawnOpts::new().name("awaiter".to_string());
        let a = rt.start_with::<Awaiter>((), opts).await.unwrap();
        a.cast(()).await.unwrap();
        let ticks = watch(&rt, 5).await;
        rt.shutdown().await;
        assert!(
            ticks[1..]
                .iter()
                .all(|t| t.first().is_some_and(|(k, _)| *k == AlertKind::Deadlock)),
            "{ticks:?}"
        );
    }

    /// An observer that attaches to a runtime that has been overflowing for 30 s.
    #[tokio::test(start_paused = true)]
    async fn a_late_attach_names_an_overflow_within_three_samples() {
        let rt = runtime();
        let sink = stage(&rt, "sink", 10, None).await;
        let s2 = sink.clone();
        tokio::spawn(async move {
            loop {
                for _ in 0..20 {
                    let _ = s2.cast(Cast::Work).await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        tokio::time::sleep(Duration::from_secs(30)).await;
        let ticks = watch(&rt, 4).await;
        rt.shutdown().await;
        let at = ticks.iter().position(|t| {
            t.iter()
                .any(|(k, n)| *k == AlertKind::Overflow && n == "sink")
        });
        assert!(at.is_some_and(|t| t <= 3), "{ticks:?}");
    }
}
