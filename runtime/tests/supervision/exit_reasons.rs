//! A child chooses its exit reason on shutdown: a trapping child gets its supervisor's
//! `shutdown` as an exit message. Translated from Elixir's `dynamic_supervisor_test.exs`
//! ("terminate/2" cases) and OTP's `supervisor_SUITE` (`sup_stop_timeout`).

use crate::support::*;
use beamline::supervisor::{
    DynamicSupervisor, DynamicSupervisorSpec, Shutdown, Strategy, Supervisor, SupervisorSpec,
};
use beamline::{ExitReason, ProcessRef, Runtime};
use std::time::Duration;

async fn dynamic_with(
    rt: &Runtime,
    specs: Vec<beamline::supervisor::ChildSpec>,
) -> (DynamicSupervisor, Vec<ProcessRef>) {
    let sup = DynamicSupervisor::start(rt, DynamicSupervisorSpec::new())
        .await
        .unwrap();
    let mut kids = Vec::new();
    for s in specs {
        kids.push(sup.start_child(s).await.unwrap().unwrap());
    }
    (sup, kids)
}

fn oops() -> ExitReason {
    ExitReason::ShutdownWith("oops".into())
}

#[tokio::test(start_paused = true)]
async fn terminates_children_with_infinity_shutdown_and_abnormal_reason() {
    let rt = Runtime::new();
    let l = log();
    let specs = (0..3)
        .map(|i| trapper(&format!("t{i}"), &l, OnExit::Stop(oops())).shutdown(Shutdown::Infinity))
        .collect();
    let (sup, kids) = dynamic_with(&rt, specs).await;
    assert_eq!(sup.stop().await, Ok(ExitReason::Shutdown));
    for k in &kids {
        assert_eq!(k.exit_reason(), Some(oops()), "the reason monitors get");
    }
    assert_eq!(
        take(&l),
        [
            "exit t2 shutdown",
            "stop t2 shutdown: oops",
            "exit t1 shutdown",
            "stop t1 shutdown: oops",
            "exit t0 shutdown",
            "stop t0 shutdown: oops"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn terminates_children_with_integer_shutdown_and_abnormal_reason() {
    let rt = Runtime::new();
    let l = log();
    let specs = (0..3)
        .map(|i| {
            trapper(&format!("t{i}"), &l, OnExit::Stop(oops()))
                .shutdown(Shutdown::Timeout(Duration::from_secs(1)))
        })
        .collect();
    let (sup, kids) = dynamic_with(&rt, specs).await;
    let t0 = tokio::time::Instant::now();
    sup.stop().await.unwrap();
    assert_eq!(t0.elapsed(), Duration::ZERO, "no one waited for a timeout");
    for k in &kids {
        assert_eq!(k.exit_reason(), Some(oops()));
    }
}

#[tokio::test(start_paused = true)]
async fn terminates_children_with_expired_integer_shutdown() {
    let rt = Runtime::new();
    let l = log();
    let timeout = Shutdown::Timeout(Duration::from_millis(1));
    let specs = vec![
        worker("w1", &l).shutdown(timeout),
        trapper("stuck", &l, OnExit::Hang).shutdown(timeout),
        worker("w3", &l).shutdown(timeout),
    ];
    let (sup, kids) = dynamic_with(&rt, specs).await;
    sup.stop().await.unwrap();
    let reasons: Vec<_> = kids.iter().map(|k| k.exit_reason().unwrap()).collect();
    assert_eq!(
        reasons,
        [
            ExitReason::Shutdown,
            ExitReason::Killed,
            ExitReason::Shutdown
        ],
        "a trapping child that does not stop in time is still killed"
    );
}

#[tokio::test(start_paused = true)]
async fn terminates_children_with_permanent_restart_and_normal_reason() {
    let rt = Runtime::new();
    let l = log();
    let specs = (0..3)
        .map(|i| {
            trapper(&format!("t{i}"), &l, OnExit::Stop(ExitReason::Normal))
                .shutdown(Shutdown::Infinity)
        })
        .collect();
    let (sup, kids) = dynamic_with(&rt, specs).await;
    sup.stop().await.unwrap();
    for k in &kids {
        assert_eq!(k.exit_reason(), Some(ExitReason::Normal));
    }
}

#[tokio::test(start_paused = true)]
async fn a_trapping_child_that_ignores_the_shutdown_still_stops_with_it() {
    // As OTP's gen_server: its parent's exit ends it whatever handle_info does.
    let rt = Runtime::new();
    let l = log();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(trapper("t", &l, OnExit::Ignore).shutdown(Shutdown::Infinity));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    let t = child_of(&sup, "t").await;
    sup.stop().await.unwrap();
    assert_eq!(t.exit_reason(), Some(ExitReason::Shutdown));
    assert_eq!(take(&l), ["exit t shutdown", "stop t shutdown"]);
}

#[tokio::test(start_paused = true)]
async fn terminate_child_lets_a_trapping_child_choose_its_reason() {
    let rt = Runtime::new();
    let l = log();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(trapper("t", &l, OnExit::Stop(oops())))
        .child(worker("w", &l));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    let t = child_of(&sup, "t").await;
    let w = child_of(&sup, "w").await;
    sup.terminate_child("t").await.unwrap();
    sup.terminate_child("w").await.unwrap();
    assert_eq!(t.exit_reason(), Some(oops()));
    assert_eq!(
        w.exit_reason(),
        Some(ExitReason::Shutdown),
        "a child not trapping exits is asked to stop: its terminate runs"
    );
    assert!(take(&l).contains(&"stop w shutdown".to_string()));
}
