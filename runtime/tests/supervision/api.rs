use crate::support::*;
use beamline::supervisor::{
    Counts, Restart, Strategy, Supervisor, SupervisorError, SupervisorSpec,
};
use beamline::{ExitReason, Runtime};

#[tokio::test(start_paused = true)]
async fn which_and_count_children() {
    let rt = Runtime::new();
    let l = log();
    let sup = Supervisor::start(
        &rt,
        SupervisorSpec::new(Strategy::OneForOne)
            .child(worker("a", &l))
            .child(beamline::supervisor::ChildSpec::supervisor(
                "sub",
                SupervisorSpec::new(Strategy::OneForAll),
            )),
    )
    .await
    .unwrap();
    let ids: Vec<String> = sup
        .which_children()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["a", "sub"]);
    assert_eq!(
        sup.count_children().await.unwrap(),
        Counts {
            specs: 2,
            active: 2,
            supervisors: 1,
            workers: 1
        }
    );
}

#[tokio::test(start_paused = true)]
async fn start_terminate_restart_delete_child_with_otp_errors() {
    let rt = Runtime::new();
    let l = log();
    let sup = Supervisor::start(&rt, SupervisorSpec::new(Strategy::OneForOne))
        .await
        .unwrap();
    let p = sup.start_child(worker("x", &l)).await.unwrap().unwrap();
    assert_eq!(
        sup.start_child(worker("x", &l)).await.unwrap_err(),
        SupervisorError::AlreadyStarted(p.pid())
    );
    assert_eq!(
        sup.restart_child("x").await.unwrap_err(),
        SupervisorError::Running
    );
    assert_eq!(
        sup.delete_child("x").await.unwrap_err(),
        SupervisorError::Running
    );
    sup.terminate_child("x").await.unwrap();
    assert_eq!(p.exit_reason(), Some(ExitReason::Shutdown));
    assert_eq!(
        sup.start_child(worker("x", &l)).await.unwrap_err(),
        SupervisorError::AlreadyPresent
    );
    let p2 = sup.restart_child("x").await.unwrap().unwrap();
    assert!(p2.is_alive());
    sup.terminate_child("x").await.unwrap();
    sup.delete_child("x").await.unwrap();
    assert_eq!(
        sup.delete_child("x").await.unwrap_err(),
        SupervisorError::NotFound
    );
    assert_eq!(
        sup.terminate_child("nope").await.unwrap_err(),
        SupervisorError::NotFound
    );
    assert_eq!(
        sup.restart_child("nope").await.unwrap_err(),
        SupervisorError::NotFound
    );
    assert_eq!(sup.count_children().await.unwrap().specs, 0);
    // A terminated temporary child's spec is deleted at once.
    sup.start_child(worker("t", &l).restart(Restart::Temporary))
        .await
        .unwrap();
    sup.terminate_child("t").await.unwrap();
    assert_eq!(sup.count_children().await.unwrap().specs, 0);
}
