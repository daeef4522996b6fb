use crate::support::*;
use beamline::supervisor::{ChildSpec, Shutdown, Strategy, Supervisor, SupervisorSpec};
use beamline::{ExitReason, Runtime};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn a_child_that_ignores_shutdown_is_killed_after_its_timeout() {
    let rt = Runtime::new();
    let l = log();
    let mut slow = args("slow", &l);
    slow.slow_terminate = Some(Duration::from_secs(3600));
    let spec = SupervisorSpec::new(Strategy::OneForOne).child(
        ChildSpec::worker::<Worker>("slow", slow)
            .shutdown(Shutdown::Timeout(Duration::from_secs(2))),
    );
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    let child = child_of(&sup, "slow").await;
    let t0 = tokio::time::Instant::now();
    sup.stop().await.unwrap();
    assert_eq!(t0.elapsed(), Duration::from_secs(2));
    assert_eq!(child.exit_reason(), Some(ExitReason::Killed));
}

#[tokio::test(start_paused = true)]
async fn brutal_kill_skips_terminate_and_infinity_waits() {
    let rt = Runtime::new();
    let l = log();
    let mut patient = args("patient", &l);
    patient.slow_terminate = Some(Duration::from_secs(30));
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .child(ChildSpec::worker::<Worker>("patient", patient).shutdown(Shutdown::Infinity))
        .child(worker("brutal", &l).shutdown(Shutdown::Brutal));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    take(&l);
    let t0 = tokio::time::Instant::now();
    sup.stop().await.unwrap();
    assert_eq!(t0.elapsed(), Duration::from_secs(30));
    assert_eq!(
        take(&l),
        ["stop patient shutdown"],
        "brutal child ran no terminate"
    );
}

#[tokio::test(start_paused = true)]
async fn runtime_shutdown_stops_the_whole_tree_in_reverse_start_order() {
    let rt = Runtime::new();
    let l = log();
    rt.supervise(ChildSpec::supervisor(
        "app",
        SupervisorSpec::new(Strategy::OneForOne)
            .child(worker("db", &l))
            .child(ChildSpec::supervisor(
                "web",
                SupervisorSpec::new(Strategy::OneForOne)
                    .child(worker("listener", &l))
                    .child(worker("handler", &l)),
            )),
    ))
    .await
    .unwrap();
    rt.supervise(worker("metrics", &l)).await.unwrap();
    take(&l);
    let root = rt.root().await.unwrap();
    assert_eq!(root.count_children().await.unwrap().active, 2);
    rt.shutdown().await;
    assert_eq!(
        take(&l),
        [
            "stop metrics shutdown",
            "stop handler shutdown",
            "stop listener shutdown",
            "stop db shutdown"
        ]
    );
    assert!(rt.processes().is_empty());
    assert!(matches!(
        rt.start::<Worker>(args("late", &l)).await,
        Err(beamline::StartError::ShuttingDown)
    ));
}
