use crate::support::*;
use beamline::supervisor::{Restart, Strategy, Supervisor, SupervisorSpec};
use beamline::{ExitReason, Runtime};

fn three(strategy: Strategy, l: &Log) -> SupervisorSpec {
    SupervisorSpec::new(strategy)
        .child(worker("a", l))
        .child(worker("b", l))
        .child(worker("c", l))
}

#[tokio::test(start_paused = true)]
async fn children_start_in_order_and_stop_in_reverse() {
    let rt = Runtime::new();
    let l = log();
    let sup = Supervisor::start(&rt, three(Strategy::OneForOne, &l))
        .await
        .unwrap();
    assert_eq!(take(&l), ["start a", "start b", "start c"]);
    sup.stop().await.unwrap();
    assert_eq!(
        take(&l),
        ["stop c shutdown", "stop b shutdown", "stop a shutdown"]
    );
}

#[tokio::test(start_paused = true)]
async fn one_for_one_restarts_only_the_failed_child() {
    let rt = Runtime::new();
    let l = log();
    let sup = Supervisor::start(&rt, three(Strategy::OneForOne, &l))
        .await
        .unwrap();
    take(&l);
    crash(&sup, "b").await;
    assert_eq!(take(&l), ["stop b panic: b crashed", "start b"]);
}

#[tokio::test(start_paused = true)]
async fn one_for_all_stops_the_others_in_reverse_then_restarts_all_in_order() {
    let rt = Runtime::new();
    let l = log();
    let sup = Supervisor::start(&rt, three(Strategy::OneForAll, &l))
        .await
        .unwrap();
    take(&l);
    crash(&sup, "b").await;
    assert_eq!(
        take(&l),
        [
            "stop b panic: b crashed",
            "stop c shutdown",
            "stop a shutdown",
            "start a",
            "start b",
            "start c"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_restarts_the_failed_child_and_those_after_it() {
    let rt = Runtime::new();
    let l = log();
    let sup = Supervisor::start(&rt, three(Strategy::RestForOne, &l))
        .await
        .unwrap();
    take(&l);
    crash(&sup, "b").await;
    assert_eq!(
        take(&l),
        [
            "stop b panic: b crashed",
            "stop c shutdown",
            "start b",
            "start c"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn restart_types_permanent_transient_temporary() {
    let rt = Runtime::new();
    let l = log();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("perm", &l))
        .child(worker("trans", &l).restart(Restart::Transient))
        .child(worker("temp", &l).restart(Restart::Temporary));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    take(&l);

    // Normal exits: only the permanent child comes back.
    for id in ["perm", "trans", "temp"] {
        let p = child_of(&sup, id).await;
        p.downcast::<Worker>()
            .unwrap()
            .cast(Cmd::Exit(ExitReason::Normal))
            .await
            .unwrap();
        p.wait().await;
        settle().await;
    }
    let children = sup.which_children().await.unwrap();
    let running: Vec<(&str, bool)> = children
        .iter()
        .map(|c| (c.id.as_str(), c.process.is_some()))
        .collect();
    assert_eq!(
        running,
        [("perm", true), ("trans", false)],
        "temporary child forgotten"
    );

    // An abnormal exit restarts the transient child.
    let sup2 = Supervisor::start(
        &rt,
        SupervisorSpec::new(Strategy::OneForOne)
            .child(worker("t2", &l).restart(Restart::Transient)),
    )
    .await
    .unwrap();
    crash(&sup2, "t2").await;
    assert!(child_of(&sup2, "t2").await.is_alive());
    // Shutdown is not abnormal: no restart.
    let p = child_of(&sup2, "t2").await;
    p.downcast::<Worker>()
        .unwrap()
        .cast(Cmd::Exit(ExitReason::Shutdown))
        .await
        .unwrap();
    p.wait().await;
    settle().await;
    assert!(sup2.which_children().await.unwrap()[0].process.is_none());
}

#[tokio::test(start_paused = true)]
async fn tree_edges_slot_restarts_and_exit_history_are_in_the_stats() {
    let rt = Runtime::new();
    let l = log();
    let sup = Supervisor::start(&rt, three(Strategy::OneForOne, &l))
        .await
        .unwrap();
    let before = child_of(&sup, "a").await;
    assert_eq!(before.info().parent, Some(sup.pid()));
    assert_eq!(before.info().child_id.as_deref(), Some("a"));
    crash(&sup, "a").await;
    let after = child_of(&sup, "a").await;
    assert_ne!(after.pid(), before.pid());
    let info = after.info();
    assert_eq!(info.restarts, 1, "restart count belongs to the slot");
    assert_eq!(info.parent, Some(sup.pid()));
    assert_eq!(
        sup.process().info().kind,
        beamline::wire::ProcessKind::Supervisor
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_specs_are_rejected_with_a_clear_error() {
    let rt = Runtime::new();
    let l = log();
    let dup = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("x", &l))
        .child(worker("x", &l));
    let err = Supervisor::start(&rt, dup).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid supervisor spec: duplicate child id \"x\""
    );
    let empty = SupervisorSpec::new(Strategy::OneForOne).child(worker(" ", &l));
    assert!(Supervisor::start(&rt, empty).await.is_err());
    assert!(take(&l).is_empty(), "nothing started");
}

#[tokio::test(start_paused = true)]
async fn a_failing_child_at_start_stops_the_ones_before_it() {
    let rt = Runtime::new();
    let l = log();
    let bad = args("bad", &l);
    bad.fail_init
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("a", &l))
        .child(beamline::supervisor::ChildSpec::worker::<Worker>(
            "bad", bad,
        ))
        .child(worker("c", &l));
    assert!(Supervisor::start(&rt, spec).await.is_err());
    assert_eq!(take(&l), ["start a", "fail bad", "stop a shutdown"]);
}
