use crate::support::*;
use beamline::supervisor::{Strategy, Supervisor, SupervisorSpec};
use beamline::{CallError, Runtime};

#[tokio::test(start_paused = true)]
async fn names_resolve_to_the_new_incarnation_and_old_handles_are_dead() {
    let rt = Runtime::new();
    let l = log();
    let sup = Supervisor::start(
        &rt,
        SupervisorSpec::new(Strategy::OneForOne).child(worker("db", &l).name("db")),
    )
    .await
    .unwrap();
    let old = rt.whereis::<Worker>("db").unwrap();
    assert_eq!(old.call(Cmd::Ping).await.unwrap(), "db");
    crash(&sup, "db").await;
    let new = rt.whereis::<Worker>("db").expect("the name is back");
    assert_ne!(new.pid(), old.pid());
    assert_eq!(rt.call::<Worker>("db", Cmd::Ping).await.unwrap(), "db");
    assert_eq!(old.call(Cmd::Ping).await, Err(CallError::NoProcess));
}
