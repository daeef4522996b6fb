//! The tracker and exposition fed with hand-made sample streams: counters that survive exits,
//! restarts carried by slots, escalations, caps, and a resynchronising snapshot.

use super::config::{MetricsConfig, PerProcess};
use super::track::Tracker;
use super::{exposition, http};
use beamline_wire::{
    Delta, Pid, ProcessKind, ProcessSample, ServerMsg, Snapshot, Status, SupervisorInfo,
    SystemSample,
};
use std::sync::{Arc, Mutex};

fn config() -> MetricsConfig {
    MetricsConfig::parse("127.0.0.1:0").unwrap()
}

fn server(pid: u64, behaviour: &str) -> ProcessSample {
    ProcessSample::new(Pid(pid), ProcessKind::Server, behaviour)
}

fn delta(at_ms: u64, changed: Vec<ProcessSample>, removed: Vec<u64>) -> ServerMsg {
    ServerMsg::Delta(Delta {
        seq: at_ms,
        at_ms,
        interval_ms: 1000,
        system: SystemSample::default(),
        changed,
        removed: removed.into_iter().map(Pid).collect(),
    })
}

fn snapshot(at_ms: u64, processes: Vec<ProcessSample>) -> ServerMsg {
    ServerMsg::Snapshot(Snapshot {
        seq: at_ms,
        at_ms,
        interval_ms: 1000,
        system: SystemSample::default(),
        processes,
    })
}

/// The exposition of `t`, OpenMetrics text.
fn render(t: Tracker) -> String {
    let registry = exposition::registry("n1", Arc::new(Mutex::new(t)));
    http::render(&registry, true).unwrap()
}

/// A line of `text` starting with `series`, e.g. `beamline_restarts_total{...}`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[test]
fn handled_messages_stay_counted_after_their_process_exits() {
    let mut t = Tracker::new(&config());
    t.apply(&snapshot(0, vec![]));
    let mut a = server(1, "app::Worker");
    (a.handled, a.cast_per_s, a.mean_handle_us) = (5, 5.0, 2000.0);
    a.mailbox_len = 3;
    t.apply(&delta(1000, vec![a.clone()], vec![]));
    (a.handled, a.cast_per_s, a.call_per_s, a.dropped) = (7, 1.0, 1.0, 2);
    a.mean_handle_us = 0.0;
    a.status = Status::Exited {
        reason: "normal".into(),
    };
    t.apply(&delta(2000, vec![a], vec![]));
    t.apply(&delta(3000, vec![], vec![1]));
    let text = render(t);
    let s = |kind: &str| {
        format!(
            r#"beamline_messages_handled_total{{node="n1",behaviour="app::Worker",kind="{kind}"}}"#
        )
    };
    assert_eq!(value(&text, &s("cast")), Some(6.0), "{text}");
    assert_eq!(value(&text, &s("call")), Some(1.0));
    assert_eq!(
        value(
            &text,
            r#"beamline_messages_dropped_total{node="n1",behaviour="app::Worker"}"#
        ),
        Some(2.0)
    );
    // The five messages of the first interval at 2 ms each, the last two at 0 (not observed).
    assert_eq!(
        value(
            &text,
            r#"beamline_message_handle_seconds_count{node="n1",behaviour="app::Worker"}"#
        ),
        Some(5.0)
    );
    assert_eq!(
        value(
            &text,
            r#"beamline_message_handle_seconds_bucket{node="n1",le="0.005",behaviour="app::Worker"}"#
        ),
        Some(5.0),
        "{text}"
    );
    // Gone from the gauges.
    assert!(!text.contains("beamline_processes{"), "{text}");
    assert!(text.contains("beamline_metrics_tracked_processes{node=\"n1\"} 0"));
}

#[test]
fn processes_by_status_and_mailboxes_sum_and_max() {
    let mut t = Tracker::new(&config());
    let mut a = server(1, "W");
    a.mailbox_len = 4;
    let mut b = server(2, "W");
    b.mailbox_len = 10;
    b.status = Status::Hibernating;
    t.apply(&snapshot(0, vec![a, b]));
    let text = render(t);
    let v = |s: &str| value(&text, s);
    assert_eq!(
        v(r#"beamline_processes{node="n1",behaviour="W",status="idle"}"#),
        Some(1.0)
    );
    assert_eq!(
        v(r#"beamline_processes{node="n1",behaviour="W",status="hibernating"}"#),
        Some(1.0)
    );
    assert_eq!(
        v(r#"beamline_mailbox_messages{node="n1",behaviour="W"}"#),
        Some(14.0)
    );
    assert_eq!(
        v(r#"beamline_mailbox_messages_max{node="n1",behaviour="W"}"#),
        Some(10.0)
    );
}

fn supervisor(pid: u64, name: &str) -> ProcessSample {
    let mut s = ProcessSample::new(Pid(pid), ProcessKind::Supervisor, "Supervisor");
    s.name = Some(name.into());
    s.supervisor = Some(SupervisorInfo {
        strategy: "one_for_one".into(),
        max_restarts: 3,
        period_ms: 5000,
        restarts_in_window: 0,
        children: 1,
        restarting: 0,
    });
    s
}

fn child(pid: u64, restarts: u32) -> ProcessSample {
    let mut c = server(pid, "W");
    (c.parent, c.child_id, c.restarts) = (Some(Pid(1)), Some("cache".into()), restarts);
    c
}

#[test]
fn restarts_follow_the_slot_across_replacements_and_escalations_count_once() {
    let mut t = Tracker::new(&config().per_process(PerProcess::None));
    t.apply(&snapshot(0, vec![supervisor(1, "sup"), child(2, 0)]));
    t.apply(&delta(1000, vec![child(3, 1)], vec![2]));
    t.apply(&delta(2000, vec![child(4, 3)], vec![3]));
    let mut gave_up = supervisor(1, "sup");
    gave_up.supervisor.as_mut().unwrap().restarts_in_window = 4;
    t.apply(&delta(3000, vec![gave_up.clone()], vec![]));
    t.apply(&delta(4000, vec![gave_up], vec![]));
    let text = render(t);
    assert_eq!(
        value(
            &text,
            r#"beamline_restarts_total{node="n1",supervisor="sup",child="cache"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"beamline_supervisor_escalations_total{node="n1",supervisor="sup"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn per_process_series_are_capped_and_the_cut_is_counted() {
    let mut t = Tracker::new(&config().per_process_cap(2));
    let named = |pid: u64| {
        let mut p = server(pid, "W");
        p.name = Some(format!("w{pid}"));
        p
    };
    t.apply(&snapshot(
        0,
        vec![named(1), named(2), named(3), server(4, "W")],
    ));
    assert_eq!(t.series.len(), 2);
    assert_eq!(t.capped[0], 1);
    // One leaves: the next named process gets its place.
    t.apply(&delta(1000, vec![named(5)], vec![1]));
    assert_eq!(t.series.len(), 2);
    assert!(t.series.contains_key(&Pid(5)));
    let text = render(t);
    assert!(
        text.contains(
            r#"beamline_process_mailbox_messages{node="n1",process="w5",behaviour="W"} 0"#
        ),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"beamline_metrics_capped_total{node="n1",family="process"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn behaviours_past_the_cap_share_other() {
    let mut t = Tracker::new(&config().max_behaviours(1));
    t.apply(&snapshot(
        0,
        vec![server(1, "A"), server(2, "B"), server(3, "C")],
    ));
    let text = render(t);
    assert!(
        text.contains(r#"beamline_processes{node="n1",behaviour="_other",status="idle"} 2"#),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"beamline_metrics_capped_total{node="n1",family="behaviour"}"#
        ),
        Some(2.0)
    );
}

#[test]
fn a_snapshot_after_lost_ticks_forgets_unlisted_processes_and_keeps_counting() {
    let mut t = Tracker::new(&config());
    let mut a = server(1, "W");
    a.handled = 10;
    t.apply(&snapshot(0, vec![a.clone(), server(2, "W")]));
    // Ticks lost; process 2 exited unseen; process 1 handled 5 more.
    a.handled = 15;
    a.cast_per_s = 0.0;
    a.mean_handle_us = 100.0;
    t.apply(&snapshot(5000, vec![a]));
    assert_eq!(
        t.procs.len(),
        2,
        "a snapshot may come in parts: wait for the tick's end"
    );
    t.apply(&delta(6000, vec![], vec![]));
    assert_eq!(t.procs.len(), 1);
    let text = render(t);
    // The first snapshot's 10 and the 5 since, whose kind is unknown (no rate to split by);
    // no histogram observation from a snapshot.
    let s = |kind: &str| {
        format!(r#"beamline_messages_handled_total{{node="n1",behaviour="W",kind="{kind}"}}"#)
    };
    assert_eq!(value(&text, &s("unknown")), Some(15.0), "{text}");
    assert_eq!(
        value(
            &text,
            r#"beamline_message_handle_seconds_count{node="n1",behaviour="W"}"#
        ),
        Some(0.0)
    );
}
