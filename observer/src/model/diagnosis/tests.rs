//! Detectors on synthetic graphs, and whole scenarios run sample by sample through history and
//! diagnosis as the model runs them: the culprit must be ranked first within 3 samples of onset,
//! and a calm system must stay quiet.

use super::waits::wait_cycles;
use super::*;
use beamline_wire::{Pid, ProcessKind, ProcessSample, Snapshot, Status, SystemSample};
use std::collections::HashMap;

fn proc(id: u64, parent: Option<u64>) -> ProcessSample {
    let mut p = ProcessSample::new(Pid(id), ProcessKind::Server, "T");
    p.parent = parent.map(Pid);
    p.name = Some(format!("p{id}"));
    p
}

/// Feeds one snapshot per simulated second and returns the alerts after each.
struct Scenario {
    history: History,
    diagnoser: Diagnoser,
    alerts: Vec<Alert>,
    t: u64,
}

impl Scenario {
    fn new() -> Self {
        Scenario {
            history: History::default(),
            diagnoser: Diagnoser::new(Thresholds::default()),
            alerts: Vec::new(),
            t: 0,
        }
    }

    fn sample(&mut self, processes: Vec<ProcessSample>) -> &[Alert] {
        self.t += 1;
        let snap = Snapshot {
            seq: self.t,
            at_ms: self.t * 1000,
            interval_ms: 1000,
            system: SystemSample::default(),
            processes,
        };
        let m = ProcessTable::from_snapshot(snap);
        self.history.record(&m);
        self.alerts = self.diagnoser.update(&m, &self.history);
        &self.alerts
    }
}

/// Runs `samples` samples from `build(t, onset)`, returning how many samples after onset the
/// first alert named `culprit` with `kind`, checking nothing was raised before onset.
fn first_blame(
    build: impl Fn(u64, u64) -> Vec<ProcessSample>,
    onset: u64,
    kind: AlertKind,
    culprit: Pid,
) -> u64 {
    let mut sc = Scenario::new();
    for t in 1..=onset + 10 {
        let alerts = sc.sample(build(t, onset)).to_vec();
        if t < onset {
            assert!(alerts.is_empty(), "alert before onset at {t}: {alerts:?}");
        } else if let Some(a) = alerts.first()
            && a.kind == kind
            && a.processes.first() == Some(&culprit)
        {
            return t - onset;
        }
    }
    panic!("{kind:?} on {culprit} never ranked first");
}

#[test]
fn wait_cycles_finds_each_cycle_once_and_ignores_chains() {
    let g = |edges: &[(u64, u64)]| -> HashMap<Pid, Pid> {
        edges.iter().map(|(a, b)| (Pid(*a), Pid(*b))).collect()
    };
    assert!(wait_cycles(&g(&[(1, 2), (2, 3), (3, 4)])).is_empty());
    assert_eq!(wait_cycles(&g(&[(5, 4), (4, 5)])), [vec![Pid(4), Pid(5)]]);
    assert_eq!(
        wait_cycles(&g(&[(9, 7), (7, 8), (8, 6), (6, 7), (1, 1)])),
        [vec![Pid(1)], vec![Pid(6), Pid(7), Pid(8)]],
        "tails excluded, self-calls are cycles"
    );
}

fn pipeline(t: u64, onset: u64) -> Vec<ProcessSample> {
    let mut ps = vec![proc(1, None)];
    for stage in 2..=5 {
        let mut p = proc(stage, Some(1));
        p.busy = 0.3;
        p.mailbox_len = 1;
        p.in_per_s = 100.0;
        if stage == 4 && t >= onset {
            // The third stage slows down: busy all the time, its queue grows.
            p.busy = 0.99;
            p.mailbox_len = 30 * (t - onset + 1);
        }
        if stage == 5 && t >= onset {
            // Starving behind it: nothing arrives.
            p.busy = 0.02;
            p.mailbox_len = 0;
        }
        ps.push(p);
    }
    ps
}

#[test]
fn pipeline_names_the_slow_stage_not_the_starving_one() {
    let after = first_blame(pipeline, 5, AlertKind::Bottleneck, Pid(4));
    assert!(after <= 3, "took {after} samples");
}

fn fan_in(t: u64, onset: u64) -> Vec<ProcessSample> {
    let mut ps = vec![proc(1, None)];
    let mut server = proc(2, Some(1));
    server.busy = if t >= onset { 0.99 } else { 0.2 };
    server.mailbox_len = if t >= onset { 20 } else { 0 };
    ps.push(server);
    for c in 10..30 {
        let mut p = proc(c, Some(1));
        if t >= onset {
            p.status = Status::Waiting {
                on: Pid(2),
                since_ms: onset * 1000,
            };
        }
        ps.push(p);
    }
    ps
}

#[test]
fn fan_in_names_the_serialising_server() {
    let after = first_blame(fan_in, 4, AlertKind::Bottleneck, Pid(2));
    assert!(after <= 3, "took {after} samples");
}

fn call_cycle(t: u64, onset: u64) -> Vec<ProcessSample> {
    let mut ps = vec![proc(1, None)];
    for (a, b) in [(2, 3), (3, 4), (4, 2)] {
        let mut p = proc(a, Some(1));
        if t >= onset {
            p.status = Status::Waiting {
                on: Pid(b),
                since_ms: onset * 1000,
            };
        }
        ps.push(p);
    }
    ps
}

#[test]
fn a_call_cycle_is_a_deadlock_at_once() {
    assert_eq!(first_blame(call_cycle, 3, AlertKind::Deadlock, Pid(2)), 0);
    let mut sc = Scenario::new();
    for t in 1..=20 {
        sc.sample(call_cycle(t, 3));
    }
    let a = &sc.alerts;
    assert_eq!(a[0].processes, [Pid(2), Pid(3), Pid(4)]);
    assert_eq!(a[0].since_ms, 3000, "onset is kept while it lasts");
    assert!(
        a.iter().all(|a| a.kind != AlertKind::LongWait),
        "waits inside a deadlock are not reported twice: {a:?}"
    );
}

fn crash_storm(t: u64, onset: u64) -> Vec<ProcessSample> {
    let mut sup = proc(1, None);
    sup.kind = ProcessKind::Supervisor;
    let restarts = t.saturating_sub(onset - 1) as u32;
    // Each restart is a new process in the same child slot.
    let mut child = proc(100 + restarts as u64, Some(1));
    child.child_id = Some("worker".into());
    child.restarts = if t >= onset { restarts } else { 0 };
    vec![sup, child]
}

#[test]
fn a_crash_storm_names_the_child_slot() {
    let mut sc = Scenario::new();
    let onset = 4;
    let mut hit = None;
    for t in 1..=onset + 6 {
        let alerts = sc.sample(crash_storm(t, onset)).to_vec();
        if hit.is_none()
            && let Some(a) = alerts.first()
            && a.kind == AlertKind::RestartStorm
        {
            assert_eq!(a.processes[1], Pid(1), "the supervisor is named too");
            assert!(a.message.starts_with("worker restarted"), "{}", a.message);
            hit = Some(t - onset);
        }
    }
    assert!(hit.is_some_and(|h| h <= 3), "{hit:?}");
}

fn leak(t: u64, onset: u64) -> Vec<ProcessSample> {
    let mut a = proc(2, None);
    a.state_bytes = 10_000 + 30_000 * t.saturating_sub(onset);
    let mut b = proc(3, None);
    b.state_bytes = 50_000;
    vec![a, b]
}

#[test]
fn a_leak_is_state_growth() {
    let after = first_blame(leak, 5, AlertKind::StateGrowth, Pid(2));
    assert!(after <= 3, "took {after} samples");
}

#[test]
fn overflow_has_hysteresis() {
    let mut sc = Scenario::new();
    let with_len = |len| {
        let mut p = proc(2, None);
        p.mailbox_len = len;
        vec![p]
    };
    assert!(sc.sample(with_len(900)).is_empty(), "below the limit");
    assert!(
        sc.sample(with_len(1200)).is_empty(),
        "not yet longer than a spike"
    );
    assert!(sc.sample(with_len(1200)).is_empty());
    assert_eq!(sc.sample(with_len(1200))[0].kind, AlertKind::Overflow);
    assert_eq!(
        sc.sample(with_len(700)).len(),
        1,
        "held above the clear level"
    );
    assert!(sc.sample(with_len(400)).is_empty(), "cleared");
    assert!(
        sc.sample(with_len(900)).is_empty(),
        "needs the raise level again"
    );
}

#[test]
fn bounded_overflow_estimates_time_to_full() {
    let mut sc = Scenario::new();
    let mut msg = String::new();
    for t in 0..6 {
        let mut p = proc(2, None);
        p.mailbox_capacity = Some(1000);
        p.mailbox_len = 300 + 100 * t;
        let a = sc.sample(vec![p]);
        if let Some(a) = a.first() {
            msg = a.message.clone();
        }
    }
    assert_eq!(
        msg,
        "p2: mailbox 800/1000 and growing 100/s; full in about 2s"
    );
}

#[test]
fn a_calm_workload_raises_nothing_for_a_minute() {
    let mut sc = Scenario::new();
    let mut seed = 0x9e37_79b9_u64;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for t in 1..=60 {
        let mut ps = vec![proc(1, None)];
        for id in 2..60 {
            let mut p = proc(id, Some(1 + id / 20));
            p.busy = (10 + rnd(60)) as f64 / 100.0;
            p.mailbox_len = rnd(6);
            p.state_bytes = 8000 + rnd(2000);
            p.in_per_s = 50.0 + rnd(20) as f64;
            // Short calls from the upper half to the lower half: no cycles in a calm system.
            if id >= 30 && rnd(5) == 0 {
                p.status = Status::Waiting {
                    on: Pid(2 + rnd(28)),
                    since_ms: t * 1000 - rnd(500),
                };
            }
            ps.push(p);
        }
        let a = sc.sample(ps);
        assert!(a.is_empty(), "alert at {t}s in a calm system: {a:?}");
    }
}

#[test]
fn thresholds_from_config_text_and_flags() {
    let mut th = Thresholds::default();
    th.apply_config("# tighter for tests\nmailbox_limit = 50\n\nbusy_ratio=0.75 # busy\n")
        .unwrap();
    assert_eq!(th.mailbox_limit, 50);
    assert_eq!(th.busy_ratio, 0.75);
    th.set("long_wait_ms=100").unwrap();
    assert_eq!(th.long_wait_ms, 100);
    assert!(
        th.set("nonsense=1")
            .unwrap_err()
            .contains("unknown threshold")
    );
    assert!(th.set("mailbox_limit=lots").is_err());
    assert!(th.set("mailbox_limit").is_err());
    assert_eq!(
        th.apply_config("a\n").unwrap_err(),
        "line 1: expected key=value, got \"a\""
    );
}

#[test]
fn the_list_is_capped_with_the_worst_first() {
    let mut sc = Scenario::new();
    let ps: Vec<ProcessSample> = (1..=300)
        .map(|id| {
            let mut p = proc(id, None);
            p.mailbox_len = 1000 + id;
            p
        })
        .collect();
    for _ in 0..2 {
        sc.sample(ps.clone());
    }
    let a = sc.sample(ps);
    assert_eq!(a.len(), MAX_ALERTS);
    assert_eq!(a[0].processes, [Pid(300)], "deepest mailbox first");
}

mod rules;
