//! The event log read off consecutive samples.

use super::*;
use beamline_wire::{Snapshot, SystemSample};

fn child(id: u64, restarts: u32, status: Status) -> ProcessSample {
    let mut p = ProcessSample::new(Pid(id), ProcessKind::Server, "T");
    p.parent = Some(Pid(1));
    p.child_id = Some("worker".into());
    p.name = Some("worker".into());
    p.restarts = restarts;
    p.status = status;
    p
}

fn table(seq: u64, ps: Vec<ProcessSample>) -> ProcessTable {
    let mut sup = ProcessSample::new(Pid(1), ProcessKind::Supervisor, "S");
    sup.name = Some("sup".into());
    let mut all = vec![sup];
    all.extend(ps);
    ProcessTable::from_snapshot(Snapshot {
        seq,
        at_ms: seq * 1000,
        interval_ms: 1000,
        system: SystemSample::default(),
        processes: all,
    })
}

fn exited(reason: &str) -> Status {
    Status::Exited {
        reason: reason.into(),
    }
}

#[test]
fn a_crash_and_its_restart_are_logged_with_old_and_new_pid() {
    let mut ev = Events::default();
    let t0 = table(0, vec![child(5, 0, Status::Idle)]);
    let t1 = table(
        1,
        vec![
            child(5, 0, exited("panic: boom")),
            child(9, 1, Status::Idle),
        ],
    );
    ev.observe(None, &t0);
    ev.observe(Some(&t0), &t1);
    let got: Vec<(EventKind, &str)> = ev.iter().map(|e| (e.kind, e.text.as_str())).collect();
    assert_eq!(
        got,
        [
            (EventKind::Exit, "exited: panic: boom"),
            (
                EventKind::Restart,
                "restarted: <0.5.0> → <0.9.0> (restart 1)"
            )
        ]
    );
    assert_eq!(ev.successor(Pid(5)), Some(Pid(9)));
    assert_eq!(ev.start_order(&t1.processes[2]), Pid(5));
}

#[test]
fn three_restarts_within_a_minute_are_a_crash_loop() {
    let mut ev = Events::default();
    let mut prev = table(0, vec![child(10, 0, Status::Idle)]);
    ev.observe(None, &prev);
    for i in 1..=3u64 {
        let next = table(i, vec![child(10 + i, i as u32, Status::Idle)]);
        ev.observe(Some(&prev), &next);
        prev = next;
    }
    assert_eq!(ev.successor(Pid(10)), Some(Pid(13)));
    let loops = ev.crash_loops(3000);
    assert_eq!(loops.len(), 1);
    assert_eq!((loops[0].pid, loops[0].restarts), (Pid(13), 3));
    assert!(ev.crash_loops(3000 + LOOP_WINDOW_MS).is_empty());
}

#[test]
fn a_supervisor_exiting_with_a_full_restart_window_escalates() {
    let mut ev = Events::default();
    let mut sup = ProcessSample::new(Pid(7), ProcessKind::Supervisor, "S");
    sup.supervisor = Some(beamline_wire::SupervisorInfo {
        strategy: "one_for_one".into(),
        max_restarts: 3,
        period_ms: 5000,
        restarts_in_window: 3,
        children: 0,
        restarting: 0,
    });
    let t0 = table(0, vec![sup.clone()]);
    sup.status = exited("shutdown");
    let t1 = table(1, vec![sup]);
    ev.observe(None, &t0);
    ev.observe(Some(&t0), &t1);
    assert_eq!(ev.iter().next().unwrap().kind, EventKind::Escalation);
}

#[test]
fn a_sibling_with_the_same_child_id_is_not_a_restart() {
    let mut ev = Events::default();
    let t0 = table(0, vec![child(5, 0, Status::Idle)]);
    let t1 = table(
        1,
        vec![child(5, 0, Status::Idle), child(6, 0, Status::Idle)],
    );
    ev.observe(None, &t0);
    ev.observe(Some(&t0), &t1);
    assert_eq!(ev.iter().len(), 0);
}

#[test]
fn refused_self_calls_are_logged_with_the_count_since_the_last_sample() {
    let mut ev = Events::default();
    let mut me = child(5, 0, Status::Idle);
    let t0 = table(0, vec![me.clone()]);
    me.self_calls_refused = 2;
    let t1 = table(1, vec![me.clone()]);
    me.self_calls_refused = 3;
    let t2 = table(2, vec![me]);
    ev.observe(None, &t0);
    ev.observe(Some(&t0), &t1);
    ev.observe(Some(&t1), &t2);
    let got: Vec<(EventKind, u64, &str)> = ev
        .iter()
        .map(|e| (e.kind, e.at_ms, e.text.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                EventKind::SelfCall,
                1000,
                "called itself: refused ×2 (2 since spawn)"
            ),
            (
                EventKind::SelfCall,
                2000,
                "called itself: refused ×1 (3 since spawn)"
            ),
        ]
    );
    let recent = ev.self_calls(2000);
    assert_eq!(
        recent,
        [SelfCalls {
            pid: Pid(5),
            who: "worker".into(),
            refused: 3
        }]
    );
    assert!(ev.self_calls(2000 + self_calls::WINDOW_MS + 1).is_empty());
}

#[test]
fn a_process_first_seen_with_refused_self_calls_is_logged_at_once() {
    let mut ev = Events::default();
    let mut me = child(5, 0, Status::Idle);
    me.self_calls_refused = 4;
    ev.observe(None, &table(0, vec![me]));
    assert_eq!(ev.self_calls(0)[0].refused, 4);
    assert_eq!(ev.iter().len(), 1);
}

/// The demo's crash scenario restarts its worker every ~4 s: the banner must name the loop at
/// the second restart (within its first 10 s), not wait for a third; one restart is no loop.
#[test]
fn a_second_restart_within_a_minute_is_a_crash_loop_and_one_is_not() {
    let mut ev = Events::default();
    let t0 = table(0, vec![child(10, 0, Status::Idle)]);
    ev.observe(None, &t0);
    let t1 = table(1, vec![child(11, 1, Status::Idle)]);
    ev.observe(Some(&t0), &t1);
    assert!(ev.crash_loops(1000).is_empty(), "one restart is no loop");
    let t2 = table(2, vec![child(12, 2, Status::Idle)]);
    ev.observe(Some(&t1), &t2);
    let loops = ev.crash_loops(2000);
    assert_eq!((loops.len(), loops[0].restarts), (1, 2));
}
