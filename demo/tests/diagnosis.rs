//! The whole chain, in-process: each scenario runs on the runtime, the real sampler publishes it,
//! and the observer's model and diagnosis (the same code the TUI and `--json` use) must raise
//! the scenario's alert naming the right process first; the calm workload must raise none.

use beamline::Runtime;
use beamline::wire::ServerMsg;
use beamline_observer::model::Model;
use beamline_observer::source::SourceEvent;
use beamline_observer::{Alert, AlertKind, Thresholds};
use demo::Scenario;
use demo::scenarios::{bottleneck, crash, deadlock, leak, overflow};
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
