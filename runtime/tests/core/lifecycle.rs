use crate::support::*;
use beamline::{CallError, ExitReason, Runtime, SpawnOpts, StartError};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn init_failure_returns_the_error_and_skips_terminate() {
    let rt = Runtime::new();
    let l = log();
    let r = rt
        .start::<Probe>(Args {
            log: l.clone(),
            init: InitMode::Fail,
        })
        .await;
    assert!(
        matches!(r, Err(StartError::InitFailed(ExitReason::Error(ref m))) if m == "no database")
    );
    assert_eq!(seen(&l), vec!["init"]);
}

#[tokio::test(start_paused = true)]
async fn init_ignore_and_init_panic() {
    let rt = Runtime::new();
    let l = log();
    let r = rt
        .start::<Probe>(Args {
            log: l.clone(),
            init: InitMode::Ignore,
        })
        .await;
    assert!(matches!(r, Err(StartError::Ignored)));
    let r = rt
        .start::<Probe>(Args {
            log: l.clone(),
            init: InitMode::Panic,
        })
        .await;
    assert!(
        matches!(r, Err(StartError::InitFailed(ExitReason::Panic(ref m))) if m == "init exploded")
    );
    assert_eq!(seen(&l), vec!["init", "init"]);
    assert!(
        rt.processes().is_empty(),
        "nothing remains after a failed init"
    );
}

#[tokio::test(start_paused = true)]
async fn terminate_runs_on_normal_stop_and_on_shutdown() {
    let rt = Runtime::new();
    let l = log();
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    assert_eq!(
        p.stop(ExitReason::Normal, None).await,
        Ok(ExitReason::Normal)
    );
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    assert_eq!(
        p.stop(ExitReason::Shutdown, Some(Duration::from_secs(5)))
            .await,
        Ok(ExitReason::Shutdown)
    );
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    assert_eq!(
        p.call(Call::Stop(ExitReason::Normal)).await,
        Ok(Reply::Done)
    );
    p.process().wait().await;
    assert_eq!(
        seen(&l),
        vec![
            "init",
            "terminate normal",
            "init",
            "terminate shutdown",
            "init",
            "terminate normal"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn terminate_runs_after_a_panic_with_the_panic_message() {
    let rt = Runtime::new();
    let l = log();
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    p.cast(Cast::Panic).await.unwrap();
    assert_eq!(
        p.process().wait().await,
        ExitReason::Panic("cast exploded".into())
    );
    assert_eq!(seen(&l), vec!["init", "terminate panic: cast exploded"]);
}

#[tokio::test(start_paused = true)]
async fn a_brutal_kill_skips_terminate() {
    let rt = Runtime::new();
    let l = log();
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    p.process().exit(ExitReason::Killed);
    assert_eq!(p.process().wait().await, ExitReason::Killed);
    assert_eq!(seen(&l), vec!["init"]);
}

#[tokio::test(start_paused = true)]
async fn a_stop_timeout_aborts_a_process_stuck_in_a_callback() {
    let rt = Runtime::new();
    let l = log();
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    p.cast(Cast::Sleep(Duration::from_secs(3600)))
        .await
        .unwrap();
    settle().await;
    let start = tokio::time::Instant::now();
    let reason = p
        .stop(ExitReason::Shutdown, Some(Duration::from_secs(2)))
        .await;
    assert_eq!(reason, Ok(ExitReason::Killed));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(seen(&l), vec!["init"], "terminate never ran");
}

#[tokio::test(start_paused = true)]
async fn a_panic_never_takes_down_another_process() {
    let rt = Runtime::new();
    let a = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let b = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    assert!(matches!(
        a.call(Call::Panic("a only".into())).await,
        Err(CallError::Exited(ExitReason::Panic(_)))
    ));
    assert_eq!(b.call(Call::Echo(1)).await, Ok(Reply::Num(1)));
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_arrives_when_nothing_else_does_and_any_message_cancels_it() {
    let rt = Runtime::new();
    let l = log();
    let p = rt
        .start::<Probe>(Args {
            log: l.clone(),
            init: InitMode::Timeout(Duration::from_secs(10)),
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(11)).await;
    p.call(Call::Echo(0)).await.unwrap();
    assert_eq!(seen(&l), vec!["init", "timeout"]);

    // A timeout asked for by a reply is cancelled by the next message.
    p.call(Call::Timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    p.cast(Cast::Push("a".into())).await.unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    p.call(Call::Echo(0)).await.unwrap();
    assert_eq!(seen(&l), vec!["init", "timeout", "cast a"]);
}

#[tokio::test(start_paused = true)]
async fn hibernate_runs_the_hook_and_is_visible_in_stats() {
    let rt = Runtime::new();
    let l = log();
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    p.cast(Cast::Hibernate).await.unwrap();
    crate::support::settle().await;
    let info = p.info();
    assert_eq!(info.hibernations, 1);
    assert_eq!(info.status, beamline::wire::Status::Hibernating);
    assert_eq!(seen(&l), vec!["init", "hibernate"]);
}

/// A brutal kill reaches a process still in `init` (which runs on its starter's task): the
/// start ends at once with `killed`, instead of after the `init`.
#[tokio::test(start_paused = true)]
async fn a_kill_during_init_ends_the_start_at_once() {
    let rt = Runtime::new();
    let args = slow_init(Duration::from_secs(3600));
    let rt2 = rt.clone();
    let starter = tokio::spawn(async move {
        rt2.start_with::<Probe>(args, SpawnOpts::new().name("slow"))
            .await
            .map(|_| ())
    });
    settle().await;
    let begun = tokio::time::Instant::now();
    rt.whereis_process("slow").unwrap().exit(ExitReason::Killed);
    assert!(matches!(
        starter.await.unwrap(),
        Err(StartError::InitFailed(ExitReason::Killed))
    ));
    assert!(begun.elapsed() < Duration::from_secs(1));
    assert!(rt.whereis_process("slow").is_none());
}

/// Shutting the runtime down does not wait for a process stuck in `init`.
#[tokio::test(start_paused = true)]
async fn shutdown_does_not_wait_for_a_stuck_init() {
    let rt = Runtime::new();
    let args = slow_init(Duration::from_secs(1_000_000));
    let rt2 = rt.clone();
    let _starter = tokio::spawn(async move { rt2.start::<Probe>(args).await.map(|_| ()) });
    settle().await;
    let r = tokio::time::timeout(Duration::from_secs(60), rt.shutdown()).await;
    assert!(r.is_ok(), "shutdown still waiting after 60 s");
}

/// Dropping the future of `start` while `init` runs (here: a timeout around it) ends the new
/// process as `killed`: its name is free again at once.
#[tokio::test(start_paused = true)]
async fn dropping_start_during_init_ends_the_process() {
    let rt = Runtime::new();
    let started = tokio::time::timeout(
        Duration::from_secs(1),
        rt.start_with::<Probe>(
            slow_init(Duration::from_secs(3600)),
            SpawnOpts::new().name("abandoned"),
        ),
    )
    .await;
    assert!(started.is_err(), "start should still have been in init");
    assert!(rt.whereis_process("abandoned").is_none());
    let again = rt
        .start_with::<Probe>(Args::new(&log()), SpawnOpts::new().name("abandoned"))
        .await;
    assert!(again.is_ok());
}

fn slow_init(d: Duration) -> Args {
    Args {
        log: log(),
        init: InitMode::Slow(d),
    }
}
