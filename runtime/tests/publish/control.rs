//! Control requests: kill, set interval, render state (opt-in only), logs, restart.

use crate::support::*;
use beamline::ExitReason;
use beamline::logs::ProcessLogs;
use beamline::wire::{ControlReply, ControlRequest, Pid, ServerMsg};
use std::time::Duration;
use tracing_subscriber::prelude::*;

#[tokio::test(start_paused = true)]
async fn kill_is_brutal_and_other_reasons_are_exit_signals() {
    let rt = runtime(1000);
    let obs = rt.observe();
    let a = rt.start::<Worker>(()).await.unwrap();
    let b = rt.start::<Worker>(()).await.unwrap();
    let kill = |pid, reason: &str| ControlRequest::Kill {
        pid,
        reason: reason.into(),
    };
    assert_eq!(obs.control(kill(a.pid(), "kill")).await, ControlReply::Ok);
    assert_eq!(a.process().wait().await, ExitReason::Killed);
    assert_eq!(obs.control(kill(b.pid(), "boom")).await, ControlReply::Ok);
    assert_eq!(b.process().wait().await, ExitReason::Error("boom".into()));
    let ControlReply::Error(e) = obs.control(kill(Pid(999), "kill")).await else {
        panic!()
    };
    assert!(e.contains("no such process"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn set_interval_changes_the_sampling_and_is_clamped() {
    let rt = runtime(1000);
    let mut obs = rt.observe();
    sample(&mut obs).await;
    let reply = obs.control(ControlRequest::SetInterval { ms: 250 }).await;
    assert_eq!(reply, ControlReply::Ok);
    assert_eq!(rt.interval(), Duration::from_millis(250));
    let ServerMsg::Delta(a) = sample(&mut obs).await else {
        panic!()
    };
    let ServerMsg::Delta(b) = sample(&mut obs).await else {
        panic!()
    };
    assert_eq!(b.at_ms - a.at_ms, 250);
    assert_eq!(b.interval_ms, 250);
    obs.control(ControlRequest::SetInterval { ms: 5 }).await;
    assert_eq!(rt.interval(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn state_is_rendered_only_for_processes_that_opt_in() {
    let rt = runtime(1000);
    let obs = rt.observe();
    let closed = rt.start::<Worker>(()).await.unwrap();
    let open = rt.start::<Open>(7).await.unwrap();
    let ControlReply::Error(e) = obs
        .control(ControlRequest::RenderState { pid: closed.pid() })
        .await
    else {
        panic!()
    };
    assert!(e.contains("does not allow"), "{e}");
    assert_eq!(
        obs.control(ControlRequest::RenderState { pid: open.pid() })
            .await,
        ControlReply::State("Open { secret_free: 7 }".into())
    );
}

#[tokio::test(start_paused = true)]
async fn logs_keep_the_last_lines_emitted_inside_each_process() {
    let _guard = tracing_subscriber::registry()
        .with(ProcessLogs::with_lines(4))
        .set_default();
    let rt = runtime(1000);
    let obs = rt.observe();
    let w = rt.start::<Worker>(()).await.unwrap();
    let other = rt.start::<Worker>(()).await.unwrap();
    tracing::info!("outside any process");
    for i in 0..10 {
        w.cast(Work::Log(format!("line {i}"))).await.unwrap();
    }
    w.call(()).await.unwrap();
    let ControlReply::Logs(lines) = obs.control(ControlRequest::Logs { pid: w.pid() }).await else {
        panic!()
    };
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines[3].contains("line 9") && lines[3].contains("n=10"),
        "{lines:?}"
    );
    assert!(lines[0].contains("line 6"), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains("outside")));
    assert_eq!(
        obs.control(ControlRequest::Logs { pid: other.pid() }).await,
        ControlReply::Logs(vec![])
    );
}

#[tokio::test(start_paused = true)]
async fn restart_without_a_supervisor_is_a_clear_error() {
    let rt = runtime(1000);
    let obs = rt.observe();
    let w = rt.start::<Worker>(()).await.unwrap();
    let ControlReply::Error(e) = obs.control(ControlRequest::Restart { pid: w.pid() }).await else {
        panic!()
    };
    assert!(!e.is_empty());
    assert!(w.is_alive());
}

/// A restart names the replacement's pid in the supervisor's log, next to the crash's reason.
#[tokio::test(start_paused = true)]
async fn a_restart_logs_the_replacement_pid() {
    use beamline::supervisor::{ChildSpec, Strategy, Supervisor, SupervisorSpec};
    let _guard = tracing_subscriber::registry()
        .with(ProcessLogs::with_lines(16))
        .set_default();
    let rt = runtime(1000);
    let obs = rt.observe();
    let sup = Supervisor::start(
        &rt,
        SupervisorSpec::new(Strategy::OneForOne).child(ChildSpec::worker::<Worker>("w", ())),
    )
    .await
    .unwrap();
    let child = |children: Vec<beamline::supervisor::ChildInfo>| children[0].process.clone();
    let first = child(sup.which_children().await.unwrap()).unwrap();
    first.exit(ExitReason::Error("boom".into()));
    assert_eq!(first.wait().await, ExitReason::Error("boom".into()));
    let second = child(sup.which_children().await.unwrap()).unwrap().pid();
    assert_ne!(second, first.pid());
    let ControlReply::Logs(lines) = obs.control(ControlRequest::Logs { pid: sup.pid() }).await
    else {
        panic!()
    };
    let restarted = lines
        .iter()
        .find(|l| l.contains("child restarted"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(restarted.contains(&format!("pid={second}")), "{restarted}");
    assert!(restarted.contains("restarts=1"), "{restarted}");
}

/// Issue 14, item 4: `SetInterval` with `u64::MAX` was answered `Ok` and stopped sampling for
/// every observer. Both ends are clamped, and one observer's wish never slows another's samples.
#[tokio::test(start_paused = true)]
async fn one_observers_interval_never_starves_another_and_both_ends_are_clamped() {
    let rt = runtime(100);
    let mut slow = rt.observe();
    let mut other = rt.observe();
    sample(&mut slow).await;
    sample(&mut other).await;
    let reply = slow
        .control(ControlRequest::SetInterval { ms: u64::MAX })
        .await;
    assert_eq!(reply, ControlReply::Ok);
    // The other observer still wants the runtime's 100 ms, so everyone is sampled at 100 ms.
    let ServerMsg::Delta(a) = sample(&mut other).await else {
        panic!()
    };
    let ServerMsg::Delta(b) = sample(&mut other).await else {
        panic!()
    };
    assert_eq!((b.at_ms - a.at_ms, b.interval_ms), (100, 100));
    assert_eq!(rt.interval(), Duration::from_millis(100));

    // Alone, the slow observer gets what it asked for, clamped to an hour.
    drop(other);
    let first_slow = loop {
        let ServerMsg::Delta(d) = sample(&mut slow).await else {
            panic!()
        };
        if d.interval_ms != 100 {
            break d;
        }
    };
    assert_eq!(first_slow.interval_ms, 3_600_000);
    let ServerMsg::Delta(next) = sample(&mut slow).await else {
        panic!()
    };
    assert_eq!(next.at_ms - first_slow.at_ms, 3_600_000);
    assert_eq!(rt.interval(), beamline::sampler::MAX_INTERVAL);

    // And the other end: 0 is the 100 ms floor.
    slow.control(ControlRequest::SetInterval { ms: 0 }).await;
    assert_eq!(rt.interval(), beamline::sampler::MIN_INTERVAL);
    // A runtime's own setting is clamped the same way.
    rt.set_interval(Duration::MAX);
    assert_eq!(
        rt.interval(),
        beamline::sampler::MIN_INTERVAL,
        "a subscriber's wish still counts"
    );
    let fresh = runtime(100);
    fresh.set_interval(Duration::MAX);
    assert_eq!(fresh.interval(), beamline::sampler::MAX_INTERVAL);
}

/// Log fields read as people write them: a crash names the process `name=cache`, not
/// `name=Some("cache")`, and an unnamed one has no name field at all.
#[tokio::test(start_paused = true)]
async fn exit_lines_name_the_process_plainly() {
    let _guard = tracing_subscriber::registry()
        .with(ProcessLogs::with_lines(16))
        .set_default();
    let rt = runtime(1000);
    let obs = rt.observe();
    let named = rt
        .start_with::<Worker>((), beamline::SpawnOpts::new().name("cache"))
        .await
        .unwrap();
    let plain = rt.start::<Worker>(()).await.unwrap();
    for w in [&named, &plain] {
        w.process().exit(ExitReason::Error("boom".into()));
        w.process().wait().await;
    }
    let logs = |pid| {
        let obs = &obs;
        async move {
            match obs.control(ControlRequest::Logs { pid }).await {
                ControlReply::Logs(lines) => lines.join("\n"),
                other => panic!("{other:?}"),
            }
        }
    };
    let named_lines = logs(named.pid()).await;
    assert!(named_lines.contains("name=cache"), "{named_lines}");
    assert!(!named_lines.contains("Some("), "{named_lines}");
    let plain_lines = logs(plain.pid()).await;
    assert!(plain_lines.contains("process exited"), "{plain_lines}");
    assert!(!plain_lines.contains("name="), "{plain_lines}");
}
