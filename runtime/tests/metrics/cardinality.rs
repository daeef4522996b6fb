//! The series count is bounded by the code, not by the data: 100,000 processes (1,000 of them
//! named, past the per-process cap) give the same handful of series per behaviour.

use crate::support::*;
use beamline::SpawnOpts;
use beamline::metrics::MetricsConfig;
use beamline::supervisor::{ChildSpec, Strategy, Supervisor, SupervisorSpec};

const PROCESSES: usize = 100_000;
const NAMED: usize = 1_000;
const SLOTS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_processes_stay_under_the_documented_series_bound() {
    let rt = runtime();
    let config = MetricsConfig::parse("127.0.0.1:0").unwrap();
    let bound = config.series_bound();
    let ep = rt.serve_metrics(config).unwrap();

    let mut spec = SupervisorSpec::new(Strategy::OneForOne).name("sup");
    for i in 0..SLOTS {
        spec = spec.child(ChildSpec::worker::<Worker>(format!("slot{i}"), ()));
    }
    let _sup = Supervisor::start(&rt, spec).await.unwrap();
    for i in 0..NAMED {
        rt.start_with::<Worker>((), SpawnOpts::new().name(format!("named{i}")))
            .await
            .unwrap();
    }
    let rest = PROCESSES - NAMED - SLOTS - 1;
    for i in 0..rest {
        if i % 2 == 0 {
            rt.start::<Worker>(()).await.unwrap();
        } else {
            rt.start::<Other>(()).await.unwrap();
        }
    }
    assert_eq!(rt.processes().len(), PROCESSES);

    let tracked = r#"beamline_metrics_tracked_processes{node="test"}"#;
    let text = until(&ep, 600, "every process tracked", |t| {
        value(t, tracked).is_some_and(|n| n as usize >= PROCESSES)
    })
    .await;
    let series = series_count(&text);
    // Three behaviours (Worker, Other, the supervisor), 50 slots, 100 processes of their own:
    // 45 per behaviour + 2 per slot + 3 per own process + 19 (docs/METRICS.md).
    let tight = 45 * 3 + 2 * SLOTS + 3 * 100 + 19;
    assert!(series <= tight, "{series} series > {tight}");
    assert!(
        tight <= bound,
        "the documented bound for the defaults is {bound}"
    );
    // Every named process (the supervisor too) asked for its own series; the cap cut off all
    // but 100, and said so.
    let capped = r#"beamline_metrics_capped_total{node="test",family="process"}"#;
    assert_eq!(
        value(&text, capped),
        Some((NAMED + 1 - 100) as f64),
        "{text}"
    );
    let own = text
        .lines()
        .filter(|l| l.starts_with("beamline_process_mailbox_messages{"))
        .count();
    assert_eq!(own, 100);
    let idle = format!(
        r#"beamline_processes{{node="test",behaviour="{}",status="idle"}}"#,
        std::any::type_name::<Other>()
    );
    assert_eq!(value(&text, &idle), Some((rest / 2) as f64));
}
