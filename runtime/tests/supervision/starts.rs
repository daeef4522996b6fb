//! How supervisors take what a start function does: panics, ignores and bad specs. Translated
//! from Elixir's `dynamic_supervisor_test.exs` ("with throw/error/exit", "with non-ok init") and
//! OTP's `supervisor_SUITE` (`sup_start_ignore_*`).

use crate::support::*;
use beamline::supervisor::{
    ChildKind, ChildSpec, Counts, DynamicSupervisor, DynamicSupervisorSpec, Restart, Strategy,
    Supervisor, SupervisorError, SupervisorSpec,
};
use beamline::{ExitReason, Runtime, StartError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// A child whose start function panics (before starting anything) while `panic` is set, and
/// otherwise starts a worker. Counts its calls.
fn panicky(id: &str, l: &Log, panic: Arc<AtomicBool>, calls: Arc<AtomicU32>) -> ChildSpec {
    let a = args(id, l);
    ChildSpec::custom(id, ChildKind::Worker, move |start| {
        calls.fetch_add(1, Ordering::SeqCst);
        if panic.load(Ordering::SeqCst) {
            panic!("oops");
        }
        let a = a.clone();
        Box::pin(async move {
            start
                .runtime()
                .start_with::<Worker>(a, start.opts())
                .await
                .map(|s| s.process())
        })
    })
}

fn counts(specs: usize, active: usize) -> Counts {
    Counts {
        specs,
        active,
        supervisors: 0,
        workers: specs,
    }
}

#[tokio::test(start_paused = true)]
async fn start_child_with_throw_error_exit() {
    let rt = Runtime::new();
    let l = log();
    let always = Arc::new(AtomicBool::new(true));
    let calls = Arc::new(AtomicU32::new(0));
    let dynamic = DynamicSupervisor::start(&rt, DynamicSupervisorSpec::new())
        .await
        .unwrap();
    let err = dynamic
        .start_child(panicky("p", &l, always.clone(), calls.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SupervisorError::Start("init failed: panic: oops".into())
    );
    assert!(dynamic.process().is_alive(), "the supervisor lives");
    assert_eq!(dynamic.count_children().await.unwrap(), counts(0, 0));

    let fixed = Supervisor::start(&rt, SupervisorSpec::new(Strategy::OneForOne))
        .await
        .unwrap();
    let err = fixed
        .start_child(panicky("p", &l, always, calls))
        .await
        .unwrap_err();
    assert!(matches!(err, SupervisorError::Start(m) if m.contains("panic: oops")));
    assert!(fixed.process().is_alive());
    assert_eq!(fixed.count_children().await.unwrap(), counts(0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_start_function_panicking_at_init_fails_the_supervisor_start_cleanly() {
    let rt = Runtime::new();
    let l = log();
    let panic = Arc::new(AtomicBool::new(true));
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(worker("a", &l))
        .child(panicky("p", &l, panic, Arc::new(AtomicU32::new(0))));
    let Err(StartError::InitFailed(reason)) = Supervisor::start(&rt, spec).await else {
        panic!("the start fails");
    };
    assert!(
        matches!(&reason, ExitReason::ShutdownWith(m) if m.contains("panic: oops")),
        "{reason}"
    );
    assert_eq!(take(&l), ["start a", "stop a shutdown"]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_restart_attempt_counts_as_a_failed_attempt() {
    for dynamic in [false, true] {
        let rt = Runtime::new();
        let l = log();
        let panic = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicU32::new(0));
        let spec = panicky("p", &l, panic.clone(), calls.clone());
        let (sup, child) = if dynamic {
            let sup = DynamicSupervisor::start(
                &rt,
                DynamicSupervisorSpec::new().intensity(3, Duration::from_secs(5)),
            )
            .await
            .unwrap();
            let child = sup.start_child(spec).await.unwrap().unwrap();
            (sup.process(), child)
        } else {
            let s = SupervisorSpec::new(Strategy::OneForOne)
                .intensity(3, Duration::from_secs(5))
                .child(spec);
            let sup = Supervisor::start(&rt, s).await.unwrap();
            let child = child_of(&sup, "p").await;
            (sup.process(), child)
        };
        panic.store(true, Ordering::SeqCst);
        child.exit(ExitReason::error("crash"));
        assert_eq!(
            sup.wait().await,
            ExitReason::Shutdown,
            "intensity exceeded, not a crash of the supervisor"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1 + 3,
            "the start, then 3 attempts"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn start_link_with_non_ok_init_rejects_a_zero_period() {
    let rt = Runtime::new();
    let dynamic = DynamicSupervisor::start(
        &rt,
        DynamicSupervisorSpec::new().intensity(3, Duration::ZERO),
    )
    .await;
    let fixed = Supervisor::start(
        &rt,
        SupervisorSpec::new(Strategy::OneForOne).intensity(3, Duration::ZERO),
    )
    .await;
    let (Err(StartError::InvalidSpec(d)), Err(StartError::InvalidSpec(f))) = (dynamic, fixed)
    else {
        panic!("both reject a zero period");
    };
    assert_eq!(d, f, "one validation for both");
    assert!(rt.processes().is_empty(), "nothing started");
}

#[tokio::test(start_paused = true)]
async fn sup_start_ignore_temporary_child() {
    let rt = Runtime::new();
    let l = log();
    let c1 = args("child1", &l);
    c1.ignore_init.store(true, Ordering::SeqCst);
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(ChildSpec::worker::<Worker>("child1", c1).restart(Restart::Temporary))
        .child(worker("child2", &l).restart(Restart::Temporary));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    let kids = sup.which_children().await.unwrap();
    assert_eq!(kids.len(), 1);
    assert_eq!(kids[0].id, "child2");
    assert!(kids[0].process.is_some());
    assert_eq!(sup.count_children().await.unwrap(), counts(1, 1));
}

#[tokio::test(start_paused = true)]
async fn sup_start_ignore_temporary_child_start_child() {
    let rt = Runtime::new();
    let l = log();
    let sup = Supervisor::start(&rt, SupervisorSpec::new(Strategy::OneForOne))
        .await
        .unwrap();
    let c1 = args("child1", &l);
    c1.ignore_init.store(true, Ordering::SeqCst);
    let ignored = ChildSpec::worker::<Worker>("child1", c1).restart(Restart::Temporary);
    assert_eq!(sup.start_child(ignored).await, Ok(None));
    let p2 = sup
        .start_child(worker("child2", &l).restart(Restart::Temporary))
        .await
        .unwrap();
    let kids = sup.which_children().await.unwrap();
    assert_eq!(kids.len(), 1);
    assert_eq!(kids[0].process, p2);
    assert_eq!(sup.count_children().await.unwrap(), counts(1, 1));
}

#[tokio::test(start_paused = true)]
async fn sup_start_ignore_child() {
    // A permanent child that is ignored keeps its spec, with no process: in the initial spec
    // and through start_child.
    let rt = Runtime::new();
    let l = log();
    let c0 = args("child0", &l);
    c0.ignore_init.store(true, Ordering::SeqCst);
    let spec =
        SupervisorSpec::new(Strategy::OneForOne).child(ChildSpec::worker::<Worker>("child0", c0));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    let c1 = args("child1", &l);
    c1.ignore_init.store(true, Ordering::SeqCst);
    assert_eq!(
        sup.start_child(ChildSpec::worker::<Worker>("child1", c1))
            .await,
        Ok(None)
    );
    sup.start_child(worker("child2", &l))
        .await
        .unwrap()
        .unwrap();
    let kids = sup.which_children().await.unwrap();
    let listed: Vec<_> = kids
        .iter()
        .map(|k| (k.id.as_str(), k.process.is_some()))
        .collect();
    assert_eq!(
        listed,
        [("child0", false), ("child1", false), ("child2", true)]
    );
    assert_eq!(sup.count_children().await.unwrap(), counts(3, 1));
}
