use crate::support::*;
use beamline::supervisor::{ChildSpec, Strategy, Supervisor, SupervisorSpec};
use beamline::{ExitReason, Runtime};
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn exceeding_intensity_stops_children_and_exits_with_shutdown() {
    let rt = Runtime::new();
    let l = log();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(3, Duration::from_secs(5))
        .child(worker("a", &l))
        .child(worker("b", &l));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    for _ in 0..3 {
        crash(&sup, "b").await;
    }
    assert!(sup.process().is_alive(), "3 restarts in 5 s are allowed");
    take(&l);
    let b = child_of(&sup, "b").await;
    b.downcast::<Worker>()
        .unwrap()
        .cast(Cmd::Crash)
        .await
        .unwrap();
    assert_eq!(sup.process().wait().await, ExitReason::Shutdown);
    assert_eq!(take(&l), ["stop b panic: b crashed", "stop a shutdown"]);
}

#[tokio::test(start_paused = true)]
async fn restarts_spread_over_time_are_fine() {
    let rt = Runtime::new();
    let l = log();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(1, Duration::from_secs(5))
        .child(worker("a", &l));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    for _ in 0..5 {
        crash(&sup, "a").await;
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    assert!(sup.process().is_alive());
    assert_eq!(child_of(&sup, "a").await.info().restarts, 5);
}

#[tokio::test(start_paused = true)]
async fn escalation_through_three_levels() {
    // top (one_for_one, intensity 1) -> mid (one_for_one, 1 in 5 s) -> leaf (1 in 5 s) -> w
    let rt = Runtime::new();
    let l = log();
    let leaf = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(1, Duration::from_secs(5))
        .child(worker("w", &l));
    let mid = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(1, Duration::from_secs(5))
        .child(ChildSpec::supervisor("leaf", leaf));
    let top = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(1, Duration::from_secs(60))
        .child(ChildSpec::supervisor("mid", mid));
    let top = Supervisor::start(&rt, top).await.unwrap();
    let mid_p = child_of(&top, "mid").await;
    let mid = mid_p.clone();
    let mid_sup = || async {
        // Find the current mid and leaf supervisors through the tree.
        let mid = child_of(&top, "mid").await;
        let leaf_pid = rt
            .processes()
            .into_iter()
            .find(|p| p.parent == Some(mid.pid()))
            .unwrap()
            .pid;
        (mid, leaf_pid)
    };
    let (_, leaf1) = mid_sup().await;
    let crash_w = || async {
        let w = rt
            .processes()
            .into_iter()
            .find(|p| p.child_id.as_deref() == Some("w"))
            .unwrap();
        let p = rt.process(w.pid).unwrap();
        p.exit(ExitReason::error("boom"));
        p.wait().await;
        settle().await;
    };
    // Two crashes of w in a row exceed the leaf's intensity: the leaf gives up (shutdown),
    // mid restarts it (one restart for mid).
    crash_w().await;
    crash_w().await;
    let (mid_now, leaf2) = mid_sup().await;
    assert_eq!(mid_now.pid(), mid.pid(), "mid survived");
    assert_ne!(leaf2, leaf1, "leaf was restarted by mid");
    // Doing it again exceeds mid's intensity: mid gives up and top restarts mid.
    crash_w().await;
    crash_w().await;
    let (mid3, _) = mid_sup().await;
    assert_ne!(mid3.pid(), mid_p.pid(), "mid was restarted by top");
    assert!(top.process().is_alive());
    assert_eq!(mid3.info().restarts, 1);
}

#[tokio::test(start_paused = true)]
async fn failed_restart_attempts_count_towards_intensity() {
    let rt = Runtime::new();
    let l = log();
    let a = args("a", &l);
    let fail = a.fail_init.clone();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(3, Duration::from_secs(5))
        .child(ChildSpec::worker::<Worker>("a", a));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    fail.store(true, Ordering::SeqCst);
    let p = child_of(&sup, "a").await;
    p.exit(ExitReason::error("x"));
    // One crash, then restart attempts that fail: the 4th restart within 5 s ends the supervisor.
    assert_eq!(sup.process().wait().await, ExitReason::Shutdown);
    let fails = take(&l).iter().filter(|s| s.starts_with("fail")).count();
    assert_eq!(fails, 3);
}

#[tokio::test(start_paused = true)]
async fn a_crash_storm_of_1000_crashes_ends_in_the_documented_state() {
    // Documented: a supervisor whose child crashes faster than its intensity allows gives up,
    // stops its children and exits with `shutdown`; its parent restarts it (counted on the slot).
    let rt = Runtime::new();
    let l = log();
    let inner = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(10, Duration::from_secs(1))
        .child(worker("w", &l));
    let outer = SupervisorSpec::new(Strategy::OneForOne)
        .intensity(1_000, Duration::from_secs(3600))
        .child(ChildSpec::supervisor("inner", inner));
    let outer = Supervisor::start(&rt, outer).await.unwrap();
    for _ in 0..1_000 {
        let w = rt
            .processes()
            .into_iter()
            .find(|p| p.child_id.as_deref() == Some("w"))
            .expect("w is always back");
        let p = rt.process(w.pid).unwrap();
        p.exit(ExitReason::error("storm"));
        p.wait().await;
        settle().await;
    }
    let inner = child_of(&outer, "inner").await;
    // 1,000 crashes at 11 per inner incarnation: 90 escalations.
    assert_eq!(inner.info().restarts, 1_000 / 11);
    assert!(outer.process().is_alive());
    let w = rt
        .processes()
        .into_iter()
        .find(|p| p.child_id.as_deref() == Some("w"))
        .unwrap();
    assert_eq!(
        w.restarts,
        (1_000 % 11) as u32,
        "count since the last escalation"
    );
}
