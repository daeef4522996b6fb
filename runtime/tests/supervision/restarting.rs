//! OTP's restart loop: a child whose restart failed stays *restarting* and is retried, and a
//! group restart stays whole. Translated from OTP's `supervisor_SUITE`
//! (`one_for_all_other_child_fails_restart`, `rest_for_one_other_child_fails_restart`,
//! `hanging_restart_loop`) and Elixir's `dynamic_supervisor_test.exs`.

use crate::support::*;
use beamline::supervisor::{
    ChildSpec, Counts, DynamicSupervisor, DynamicSupervisorSpec, Strategy, Supervisor,
    SupervisorError, SupervisorSpec,
};
use beamline::{ExitReason, Runtime};
use std::sync::atomic::Ordering;
use std::time::Duration;

fn counts(specs: usize, active: usize, workers: usize) -> Counts {
    Counts {
        specs,
        active,
        supervisors: 0,
        workers,
    }
}

#[tokio::test(start_paused = true)]
async fn one_for_all_other_child_fails_restart() {
    let rt = Runtime::new();
    let l = log();
    let b = args("b", &l);
    let b_fails = b.fail_times.clone();
    let spec = SupervisorSpec::new(Strategy::OneForAll)
        .intensity(3, Duration::from_secs(3600))
        .child(worker("a", &l))
        .child(ChildSpec::worker::<Worker>("b", b))
        .child(worker("c", &l));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    take(&l);
    b_fails.store(1, Ordering::SeqCst);
    child_of(&sup, "a").await.exit(ExitReason::error("die"));
    settle().await;
    assert_eq!(
        take(&l),
        [
            "stop c shutdown",
            "stop b shutdown",
            "start a",
            "fail b",
            // The retry shuts the group down again (the restarted a too) and starts it whole.
            "stop a shutdown",
            "start a",
            "start b",
            "start c"
        ]
    );
    assert_eq!(sup.count_children().await.unwrap(), counts(3, 3, 3));
    let restarts = published(&rt, sup.pid()).await.restarts_in_window;
    assert_eq!(restarts, 2, "the crash and the retry both count");
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_other_child_fails_restart() {
    let rt = Runtime::new();
    let l = log();
    let b = args("b", &l);
    let b_fails = b.fail_times.clone();
    let spec = SupervisorSpec::new(Strategy::RestForOne)
        .intensity(3, Duration::from_secs(3600))
        .child(worker("a", &l))
        .child(ChildSpec::worker::<Worker>("b", b))
        .child(worker("c", &l));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    take(&l);
    b_fails.store(1, Ordering::SeqCst);
    let a1 = child_of(&sup, "a").await;
    a1.exit(ExitReason::error("die"));
    settle().await;
    assert_eq!(
        take(&l),
        [
            "stop c shutdown",
            "stop b shutdown",
            "start a",
            "fail b",
            // The retry restarts b and those after it, not a.
            "start b",
            "start c"
        ]
    );
    assert_eq!(sup.count_children().await.unwrap(), counts(3, 3, 3));
}

#[tokio::test(start_paused = true)]
async fn a_failed_group_restart_never_leaves_part_of_the_group_running() {
    // one_for_all, the middle child failing every time: the supervisor gives up with no child
    // of the group left running at any point where it handles a request.
    let rt = Runtime::new();
    let l = log();
    let b = args("b", &l);
    let b_fail = b.fail_init.clone();
    let spec = SupervisorSpec::new(Strategy::OneForAll)
        .intensity(2, Duration::from_secs(3600))
        .child(worker("a", &l))
        .child(ChildSpec::worker::<Worker>("b", b));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    take(&l);
    b_fail.store(true, Ordering::SeqCst);
    child_of(&sup, "a").await.exit(ExitReason::error("die"));
    assert_eq!(sup.process().wait().await, ExitReason::Shutdown);
    assert_eq!(
        take(&l),
        [
            "stop b shutdown",
            "start a",
            "fail b",
            "stop a shutdown",
            "start a",
            "fail b",
            "stop a shutdown"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn hanging_restart_loop() {
    let rt = Runtime::new();
    let l = log();
    let mut c = args("child1", &l);
    c.init_delay = Some(Duration::from_secs(1));
    let fail = c.fail_init.clone();
    let spec = ChildSpec::worker::<Worker>("child1", c.clone());
    let sup = Supervisor::start(
        &rt,
        SupervisorSpec::new(Strategy::OneForOne).intensity(8, Duration::from_secs(10)),
    )
    .await
    .unwrap();
    let p1 = sup.start_child(spec.clone()).await.unwrap().unwrap();
    fail.store(true, Ordering::SeqCst);
    p1.exit(ExitReason::error("error"));
    tokio::time::sleep(Duration::from_millis(2500)).await;

    assert_eq!(
        sup.start_child(spec.clone()).await.unwrap_err(),
        SupervisorError::AlreadyPresent
    );
    assert_eq!(
        sup.restart_child("child1").await.unwrap_err(),
        SupervisorError::Restarting
    );
    assert_eq!(
        sup.delete_child("child1").await.unwrap_err(),
        SupervisorError::Restarting
    );
    let kids = sup.which_children().await.unwrap();
    assert!(kids[0].restarting && kids[0].process.is_none());
    assert_eq!(sup.count_children().await.unwrap(), counts(1, 0, 1));
    let sample = published(&rt, sup.pid()).await;
    assert_eq!((sample.children, sample.restarting), (0, 1), "published");

    sup.terminate_child("child1").await.unwrap();
    let kids = sup.which_children().await.unwrap();
    assert!(!kids[0].restarting && kids[0].process.is_none());
    let attempts = take(&l).len();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(take(&l).is_empty(), "no retry after terminate_child");
    assert!(attempts >= 2);

    fail.store(false, Ordering::SeqCst);
    let p2 = sup.restart_child("child1").await.unwrap().unwrap();
    fail.store(true, Ordering::SeqCst);
    p2.exit(ExitReason::error("error"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // The supervisor does not hang in its restart loop: it stops between attempts.
    let t0 = tokio::time::Instant::now();
    assert_eq!(sup.stop().await, Ok(ExitReason::Shutdown));
    assert!(t0.elapsed() <= Duration::from_secs(1));
    assert_eq!(p2.exit_reason(), Some(ExitReason::error("error")));
}

#[tokio::test(start_paused = true)]
async fn dynamic_restarting_on_init_children_counted_in_max_children() {
    let rt = Runtime::new();
    let l = log();
    let sup = DynamicSupervisor::start(
        &rt,
        DynamicSupervisorSpec::new()
            .max_children(1)
            .intensity(1000, Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    let mut a = args("a", &l);
    a.init_delay = Some(Duration::from_secs(1));
    let fail = a.fail_init.clone();
    let p = sup
        .start_child(ChildSpec::worker::<Worker>("a", a))
        .await
        .unwrap()
        .unwrap();
    fail.store(true, Ordering::SeqCst);
    p.exit(ExitReason::Shutdown);
    p.wait().await;
    settle().await;
    assert_eq!(sup.count_children().await.unwrap(), counts(1, 0, 1));
    assert_eq!(
        sup.start_child(worker("b", &l)).await.unwrap_err(),
        SupervisorError::MaxChildren
    );
    let kids = sup.which_children().await.unwrap();
    assert_eq!(kids.len(), 1);
    assert!(kids[0].restarting);
    assert_eq!(published(&rt, sup.pid()).await.restarting, 1);
}

#[tokio::test(start_paused = true)]
async fn dynamic_child_is_restarted_with_different_values() {
    // A restart that is ignored forgets the child; one that fails leaves it restarting.
    let rt = Runtime::new();
    let l = log();
    let sup = DynamicSupervisor::start(
        &rt,
        DynamicSupervisorSpec::new().intensity(100_000, Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    let ok = sup.start_child(worker("ok", &l)).await.unwrap().unwrap();
    let ignored = args("ignored", &l);
    let ignore = ignored.ignore_init.clone();
    let ignored = sup
        .start_child(ChildSpec::worker::<Worker>("ignored", ignored))
        .await
        .unwrap()
        .unwrap();
    let mut failing = args("failing", &l);
    failing.init_delay = Some(Duration::from_secs(1));
    let fail = failing.fail_init.clone();
    let failing = sup
        .start_child(ChildSpec::worker::<Worker>("failing", failing))
        .await
        .unwrap()
        .unwrap();

    ok.exit(ExitReason::Shutdown);
    ok.wait().await;
    settle().await;
    assert_eq!(sup.count_children().await.unwrap(), counts(3, 3, 3));

    ignore.store(true, Ordering::SeqCst);
    ignored.exit(ExitReason::Shutdown);
    ignored.wait().await;
    settle().await;
    assert_eq!(sup.count_children().await.unwrap(), counts(2, 2, 2));

    fail.store(true, Ordering::SeqCst);
    failing.exit(ExitReason::Shutdown);
    failing.wait().await;
    settle().await;
    assert_eq!(sup.count_children().await.unwrap(), counts(2, 1, 2));
    let kids = sup.which_children().await.unwrap();
    let ids: Vec<_> = kids.iter().map(|k| (k.id.as_str(), k.restarting)).collect();
    assert_eq!(ids, [("ok", false), ("failing", true)], "kept in place");
}

#[tokio::test(start_paused = true)]
async fn dynamic_child_is_restarted_when_trying_again() {
    let rt = Runtime::new();
    let l = log();
    let sup = DynamicSupervisor::start(
        &rt,
        DynamicSupervisorSpec::new().intensity(2, Duration::from_secs(5)),
    )
    .await
    .unwrap();
    let a = args("a", &l);
    let fails = a.fail_times.clone();
    let p = sup
        .start_child(ChildSpec::worker::<Worker>("a", a))
        .await
        .unwrap()
        .unwrap();
    fails.store(1, Ordering::SeqCst);
    p.exit(ExitReason::Shutdown);
    p.wait().await;
    settle().await;
    assert_eq!(take(&l), ["start a", "fail a", "start a"]);
    assert_eq!(sup.count_children().await.unwrap(), counts(1, 1, 1));
    assert!(sup.process().is_alive());
}

#[tokio::test(start_paused = true)]
async fn dynamic_child_triggers_maximum_intensity_when_trying_again() {
    let rt = Runtime::new();
    let l = log();
    let sup = DynamicSupervisor::start(
        &rt,
        DynamicSupervisorSpec::new().intensity(10, Duration::from_secs(5)),
    )
    .await
    .unwrap();
    let a = args("a", &l);
    let fail = a.fail_init.clone();
    let p = sup
        .start_child(ChildSpec::worker::<Worker>("a", a))
        .await
        .unwrap()
        .unwrap();
    fail.store(true, Ordering::SeqCst);
    p.exit(ExitReason::Shutdown);
    assert_eq!(sup.process().wait().await, ExitReason::Shutdown);
    let fails = take(&l).iter().filter(|s| s.starts_with("fail")).count();
    assert_eq!(
        fails, 10,
        "every attempt counts: the 11th restart is refused"
    );
}

#[tokio::test(start_paused = true)]
async fn dynamic_terminates_restarting_child() {
    let rt = Runtime::new();
    let l = log();
    let sup = DynamicSupervisor::start(
        &rt,
        DynamicSupervisorSpec::new().intensity(100_000, Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    let mut a = args("a", &l);
    a.init_delay = Some(Duration::from_secs(1));
    let fail = a.fail_init.clone();
    let p = sup
        .start_child(ChildSpec::worker::<Worker>("a", a))
        .await
        .unwrap()
        .unwrap();
    fail.store(true, Ordering::SeqCst);
    p.exit(ExitReason::Shutdown);
    p.wait().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    sup.terminate_child(p.pid()).await.unwrap();
    assert_eq!(
        sup.terminate_child(p.pid()).await.unwrap_err(),
        SupervisorError::NotFound
    );
    assert_eq!(sup.count_children().await.unwrap(), counts(0, 0, 0));
    take(&l);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(take(&l).is_empty(), "no retry after terminate_child");
}
