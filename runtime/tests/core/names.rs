use crate::support::*;
use beamline::{ExitReason, Name, Runtime, SpawnOpts, StartError};

#[tokio::test(start_paused = true)]
async fn start_under_a_name_whereis_and_call_by_name() {
    let rt = Runtime::new();
    let p = rt
        .start_with::<Probe>(Args::new(&log()), SpawnOpts::new().name("cache"))
        .await
        .unwrap();
    assert_eq!(rt.whereis::<Probe>("cache"), Some(p.clone()));
    assert_eq!(rt.whereis_process("cache").map(|r| r.pid()), Some(p.pid()));
    assert_eq!(
        rt.call::<Probe>("cache", Call::Echo(4)).await,
        Ok(Reply::Num(4))
    );
    assert_eq!(p.info().name, Some(Name::new("cache")));
}

#[tokio::test(start_paused = true)]
async fn a_taken_name_returns_already_started_with_the_holder() {
    let rt = Runtime::new();
    let first = rt
        .start_with::<Probe>(Args::new(&log()), SpawnOpts::new().name("single"))
        .await
        .unwrap();
    let second = rt
        .start_with::<Probe>(Args::new(&log()), SpawnOpts::new().name("single"))
        .await;
    match second {
        Err(StartError::AlreadyStarted(holder)) => {
            assert_eq!(holder.pid(), first.pid());
            assert_eq!(holder.downcast::<Probe>(), Some(first));
        }
        other => panic!("expected AlreadyStarted, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_name_is_freed_when_its_process_exits() {
    let rt = Runtime::new();
    let p = rt
        .start_with::<Probe>(Args::new(&log()), SpawnOpts::new().name("temp"))
        .await
        .unwrap();
    p.stop(ExitReason::Normal, None).await.unwrap();
    assert!(rt.whereis::<Probe>("temp").is_none());
    let again = rt
        .start_with::<Probe>(Args::new(&log()), SpawnOpts::new().name("temp"))
        .await
        .unwrap();
    assert_ne!(again.pid(), p.pid());
}

#[tokio::test(start_paused = true)]
async fn keyed_names_register_one_process_per_key() {
    let rt = Runtime::new();
    for id in [3, 1, 2] {
        rt.start_with::<Probe>(
            Args::new(&log()),
            SpawnOpts::new().name(Name::via("contracts", id)),
        )
        .await
        .unwrap();
    }
    assert_eq!(rt.registered_keys("contracts"), vec!["1", "2", "3"]);
    assert!(rt.whereis::<Probe>(Name::via("contracts", 2)).is_some());
    assert!(rt.whereis::<Probe>(Name::via("contracts", 9)).is_none());
    assert!(matches!(
        rt.start_with::<Probe>(
            Args::new(&log()),
            SpawnOpts::new().name(Name::via("contracts", 1))
        )
        .await,
        Err(StartError::AlreadyStarted(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn whereis_with_the_wrong_type_is_none() {
    let rt = Runtime::new();
    rt.start_with::<Probe>(Args::new(&log()), SpawnOpts::new().name("p"))
        .await
        .unwrap();
    let agent_view = rt.whereis::<beamline::agent::AgentServer<u32>>("p");
    assert!(agent_view.is_none());
}
