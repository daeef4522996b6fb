use crate::support::*;
use beamline::supervisor::{
    ChildSpec, DynamicSupervisor, DynamicSupervisorSpec, Restart, SupervisorError,
};
use beamline::{ExitReason, Runtime};

#[tokio::test(start_paused = true)]
async fn start_children_at_runtime_with_a_limit() {
    let rt = Runtime::new();
    let l = log();
    let sup = DynamicSupervisor::start(&rt, DynamicSupervisorSpec::new().max_children(2))
        .await
        .unwrap();
    let a = sup.start_child(worker("a", &l)).await.unwrap().unwrap();
    sup.start_child(worker("b", &l)).await.unwrap();
    assert_eq!(
        sup.start_child(worker("c", &l)).await.unwrap_err(),
        SupervisorError::MaxChildren
    );
    assert_eq!(sup.count_children().await.unwrap().active, 2);
    sup.terminate_child(a.pid()).await.unwrap();
    assert_eq!(a.exit_reason(), Some(ExitReason::Shutdown));
    assert_eq!(
        sup.terminate_child(a.pid()).await.unwrap_err(),
        SupervisorError::NotFound
    );
    assert_eq!(sup.which_children().await.unwrap().len(), 1);
    assert_eq!(a.info().parent, Some(sup.pid()));
}

#[tokio::test(start_paused = true)]
async fn children_restart_one_for_one_by_their_restart_type() {
    let rt = Runtime::new();
    let l = log();
    let sup = DynamicSupervisor::start(&rt, DynamicSupervisorSpec::new())
        .await
        .unwrap();
    let perm = sup.start_child(worker("perm", &l)).await.unwrap().unwrap();
    let temp = sup
        .start_child(worker("temp", &l).restart(Restart::Temporary))
        .await
        .unwrap()
        .unwrap();
    take(&l);
    perm.exit(ExitReason::error("x"));
    temp.exit(ExitReason::error("x"));
    perm.wait().await;
    temp.wait().await;
    settle().await;
    assert_eq!(take(&l), ["start perm"]);
    let kids = sup.which_children().await.unwrap();
    assert_eq!(kids.len(), 1);
    assert_eq!(kids[0].process.as_ref().unwrap().info().restarts, 1);
}

#[tokio::test(start_paused = true)]
async fn extra_arguments_reach_every_child() {
    let rt = Runtime::new();
    let l = log();
    let sup = DynamicSupervisor::start(
        &rt,
        DynamicSupervisorSpec::new().extra_arguments(String::from("tenant-7")),
    )
    .await
    .unwrap();
    let l2 = l.clone();
    let spec = ChildSpec::with_extra::<Worker, String>("w", move |tenant| args(tenant, &l2));
    let p = sup.start_child(spec).await.unwrap().unwrap();
    assert_eq!(
        p.downcast::<Worker>()
            .unwrap()
            .call(Cmd::Ping)
            .await
            .unwrap(),
        "tenant-7"
    );
}

#[tokio::test(start_paused = true)]
async fn exceeding_intensity_shuts_the_dynamic_supervisor_down() {
    let rt = Runtime::new();
    let l = log();
    let sup = DynamicSupervisor::start(&rt, DynamicSupervisorSpec::new())
        .await
        .unwrap();
    sup.start_child(worker("w", &l)).await.unwrap();
    for _ in 0..4 {
        let kids = sup.which_children().await;
        let Ok(kids) = kids else { break };
        let p = kids[0].process.clone().unwrap();
        p.exit(ExitReason::error("boom"));
        p.wait().await;
        settle().await;
    }
    assert_eq!(sup.process().wait().await, ExitReason::Shutdown);
}

#[tokio::test(start_paused = true)]
async fn transient_child_is_restarted_unless_normal_shutdown_or_shutdown_with() {
    // Elixir's test sends the exits with `Process.exit/2`: `shutdown` ends a child that does not
    // trap exits, and a transient child is not restarted after it.
    let rt = Runtime::new();
    let l = log();
    let sup = DynamicSupervisor::start(&rt, DynamicSupervisorSpec::new())
        .await
        .unwrap();
    let transient = || worker("t", &l).restart(Restart::Transient);
    for reason in [
        ExitReason::Shutdown,
        ExitReason::ShutdownWith("signal".into()),
    ] {
        let p = sup.start_child(transient()).await.unwrap().unwrap();
        p.exit(reason.clone());
        assert_eq!(p.wait().await, reason);
        settle().await;
        let c = sup.count_children().await.unwrap();
        assert_eq!((c.workers, c.active), (0, 0));
    }
    let p = sup.start_child(transient()).await.unwrap().unwrap();
    p.exit(ExitReason::error("whatever"));
    p.wait().await;
    settle().await;
    let c = sup.count_children().await.unwrap();
    assert_eq!((c.workers, c.active), (1, 1));
}
