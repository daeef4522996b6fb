//! The rules of issue 17 on synthetic samples: chains charged to their slow end, drops, severity
//! by depth, speed and duration, the spike rule, storms from the supervisor's window, slow
//! crash loops, leaks across restarts, and the alert lifecycle.

use super::{Scenario, proc};
use crate::model::diagnosis::{AlertKind, Severity};
use beamline_wire::{Pid, ProcessKind, ProcessSample, Status, SupervisorInfo};

/// Clients 10..30 call `api` (2), which calls `db` (3); `db` is busy all the time with an empty
/// queue, `api` has the queue and is not busy.
fn chain(t: u64, onset: u64) -> Vec<ProcessSample> {
    let mut ps = vec![proc(1, None)];
    let mut api = proc(2, Some(1));
    let mut db = proc(3, Some(1));
    if t >= onset {
        api.mailbox_len = 19;
        api.status = Status::Waiting {
            on: Pid(3),
            since_ms: onset * 1000,
        };
        db.busy = 1.0;
    }
    ps.extend([api, db]);
    for c in 10..30 {
        let mut p = proc(c, Some(1));
        if t >= onset {
            p.status = Status::Waiting {
                on: Pid(2),
                since_ms: onset * 1000 + (c - 10) * 100,
            };
        }
        ps.push(p);
    }
    ps
}

#[test]
fn a_call_chain_names_its_slow_end_and_folds_the_waits() {
    let mut sc = Scenario::new();
    for t in 1..=12 {
        let a = sc.sample(chain(t, 3)).to_vec();
        if t < 3 {
            assert!(a.is_empty(), "{a:?}");
            continue;
        }
        assert_eq!(a.len(), 1, "one alert, not one per client: {a:?}");
        assert_eq!(
            (a[0].kind, a[0].processes[0]),
            (AlertKind::Bottleneck, Pid(3))
        );
        assert_eq!(a[0].processes[1], Pid(2), "the caller it holds up next");
        assert!(
            a[0].message.contains("21 processes wait on it") && a[0].message.contains("through p2"),
            "{}",
            a[0].message
        );
        assert_eq!(a[0].since_ms, 3000, "since the longest wait began");
    }
}

#[test]
fn a_long_wait_on_a_process_that_is_not_busy_is_still_reported() {
    let mut sc = Scenario::new();
    let mut a = Vec::new();
    for t in 1..=8 {
        let mut waiter = proc(2, None);
        waiter.status = Status::Waiting {
            on: Pid(3),
            since_ms: 1000,
        };
        a = sc.sample(vec![waiter, proc(3, None)]).to_vec();
        if t < 6 {
            assert!(a.is_empty());
        }
    }
    assert_eq!(a[0].kind, AlertKind::LongWait);
    assert_eq!(a[0].since_ms, 1000, "from the wait's own start");
}

fn with_len(len: u64) -> Vec<ProcessSample> {
    let mut p = proc(2, None);
    p.mailbox_len = len;
    vec![p]
}

#[test]
fn a_burst_that_drains_within_two_seconds_raises_nothing() {
    let mut sc = Scenario::new();
    for len in [0, 8000, 3000, 0, 0, 9000, 12000, 500, 0] {
        let a = sc.sample(with_len(len));
        assert!(a.is_empty(), "burst to {len}: {a:?}");
    }
    for len in [5000, 5000] {
        assert!(sc.sample(with_len(len)).is_empty());
    }
    assert_eq!(
        sc.sample(with_len(5000))[0].kind,
        AlertKind::Overflow,
        "over the limit for 2 s"
    );
}

#[test]
fn a_bounded_mailbox_dropping_is_critical_and_says_how_many() {
    let mut sc = Scenario::new();
    let mut sevs = Vec::new();
    for t in 0..10u64 {
        let mut p = proc(2, None);
        p.mailbox_capacity = Some(1000);
        // At capacity, one message being handled or not at the instant of the sample.
        p.mailbox_len = 999 + t % 2;
        p.mailbox_peak = 1000;
        p.dropped = 400 * t;
        let a = sc.sample(vec![p]).to_vec();
        if t >= 1 {
            assert_eq!(
                a[0].message,
                format!(
                    "p2: mailbox {}/1000, dropping 400/s ({} lost in all)",
                    999 + t % 2,
                    400 * t
                )
            );
            sevs.push(a[0].severity);
        }
    }
    assert!(sevs.iter().all(|s| *s == Severity::Critical), "{sevs:?}");
}

#[test]
fn a_full_bounded_mailbox_stays_critical_between_drops() {
    let mut sc = Scenario::new();
    let mut last = None;
    for t in 0..8u64 {
        let mut p = proc(2, None);
        p.mailbox_capacity = Some(100);
        p.mailbox_len = 99 + t % 2;
        p.mailbox_peak = 100;
        if let Some(a) = sc.sample(vec![p]).first() {
            if let Some(prev) = last {
                assert_eq!(a.severity, prev, "no flip at t={t}");
            }
            last = Some(a.severity);
        }
    }
    assert_eq!(last, Some(Severity::Critical));
}

#[test]
fn severity_follows_depth_speed_and_duration() {
    // 14,000 deep and growing 800/s: critical.
    let mut sc = Scenario::new();
    let mut a = Vec::new();
    for t in 0..17 {
        a = sc.sample(with_len(400 + 800 * t)).to_vec();
    }
    assert_eq!(
        (a[0].kind, a[0].severity),
        (AlertKind::Overflow, Severity::Critical)
    );
    // Slow growth: a warning that turns critical once it has lasted `critical_after_ms`.
    let mut sc = Scenario::new();
    for t in 0..20 {
        a = sc.sample(with_len(800 + 150 * t)).to_vec();
    }
    let log: Vec<Severity> = a[0].severity_log.iter().map(|(_, s)| *s).collect();
    assert_eq!(log, [Severity::Warning, Severity::Critical]);
    let turned = a[0].severity_log[1].0;
    assert_eq!(
        turned - a[0].since_ms,
        10_000,
        "critical 10 s after it went over"
    );
}

fn supervised(sup_window: u32, child_spawned_ms: u64) -> Vec<ProcessSample> {
    let mut sup = proc(1, None);
    sup.kind = ProcessKind::Supervisor;
    sup.supervisor = Some(SupervisorInfo {
        strategy: "one_for_one".into(),
        max_restarts: 3,
        period_ms: 5000,
        restarts_in_window: sup_window,
        children: 1,
        restarting: 0,
    });
    let mut child = proc(7, Some(1));
    child.child_id = Some("worker".into());
    child.restarts = 9;
    child.spawned_ms = child_spawned_ms;
    child.exit_history = vec!["panic: a".into(), "panic: b".into(), "panic: boom".into()];
    vec![sup, child]
}

#[test]
fn a_storm_is_flagged_at_the_first_sample_from_the_supervisors_window() {
    let mut sc = Scenario::new();
    let a = sc.sample(supervised(3, 800)).to_vec();
    assert_eq!(a[0].kind, AlertKind::RestartStorm);
    assert_eq!(a[0].processes, [Pid(7), Pid(1)], "the child first");
    assert_eq!(
        a[0].message,
        "p1 is at its restart limit (3 of 3 in 5s): one more crash escalates; \
         worker last exited: panic: a; panic: b; panic: boom"
    );
    let mut sc = Scenario::new();
    let a = sc.sample(supervised(4, 800)).to_vec();
    assert!(
        a[0].message.starts_with(
            "p1 exceeded its restart limit (4 restarts in 5s, at most 3): it gives up"
        ),
        "{}",
        a[0].message
    );
}

#[test]
fn a_supervisors_window_is_stale_once_its_newest_restart_is_older() {
    let mut sc = Scenario::new();
    for _ in 0..7 {
        sc.sample(supervised(3, 0));
    }
    assert!(sc.alerts.is_empty(), "{:?}", sc.alerts);
}

#[test]
fn a_slow_crash_loop_is_a_warning() {
    let mut sc = Scenario::new();
    let mut a = Vec::new();
    for t in 1..=40u64 {
        let restarts = (t / 8) as u32;
        let mut sup = proc(1, None);
        sup.kind = ProcessKind::Supervisor;
        let mut child = proc(100 + restarts as u64, Some(1));
        child.child_id = Some("worker".into());
        child.restarts = restarts;
        child.exit_history = vec!["panic: slow".into()];
        a = sc.sample(vec![sup, child]).to_vec();
        if t < 24 {
            assert!(a.is_empty(), "at {t}: {a:?}");
        }
    }
    assert_eq!(
        (a[0].kind, a[0].severity),
        (AlertKind::RestartStorm, Severity::Warning)
    );
    assert_eq!(
        a[0].message,
        "worker is crash-looping: restarted 5 times in the last 120s (5 in all); last exits: panic: slow"
    );
}

#[test]
fn a_leak_that_crashes_every_few_seconds_is_still_growth() {
    let mut sc = Scenario::new();
    let mut hit = None;
    for t in 0..20u64 {
        let incarnation = t / 3;
        let mut child = proc(100 + incarnation, Some(1));
        child.child_id = Some("hoarder".into());
        child.restarts = incarnation as u32;
        child.state_bytes = 100_000 + 40_000 * (t % 3) + 20_000 * incarnation;
        let a = sc.sample(vec![proc(1, None), child]).to_vec();
        if hit.is_none() && a.iter().any(|a| a.kind == AlertKind::StateGrowth) {
            hit = Some(t);
        }
    }
    assert!(hit.is_some_and(|t| t <= 8), "{hit:?}");
}

#[test]
fn alerts_keep_their_id_while_they_last_and_stay_listed_once_resolved() {
    let mut sc = Scenario::new();
    for _ in 0..3 {
        sc.sample(with_len(2000));
    }
    let id = sc.alerts[0].id;
    assert_eq!(
        sc.alerts[0].since_ms, 1000,
        "since it went over, not since it was raised"
    );
    sc.sample(with_len(2500));
    assert_eq!(sc.alerts[0].id, id);
    assert!(sc.sample(with_len(0)).is_empty());
    let gone = sc.diagnoser.resolved();
    assert_eq!(gone.len(), 1);
    assert_eq!((gone[0].id, gone[0].resolved_at_ms), (id, Some(5000)));
    for _ in 0..3 {
        sc.sample(with_len(2000));
    }
    assert_ne!(sc.alerts[0].id, id, "a new occurrence is a new alert");
    for _ in 0..310 {
        sc.sample(with_len(0));
    }
    assert!(
        sc.diagnoser.resolved().is_empty(),
        "forgotten after five minutes: {:?}",
        sc.diagnoser.resolved()
    );
}
