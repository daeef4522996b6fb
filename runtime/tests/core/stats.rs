use crate::support::*;
use beamline::wire::{MsgKind, ProcessKind, Status};
use beamline::{Runtime, SpawnOpts};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn counters_by_kind_busy_time_and_wait() {
    let rt = Runtime::new();
    let p = rt
        .start_with::<Probe>(Args::new(&log()), SpawnOpts::new().name("stats"))
        .await
        .unwrap();
    for _ in 0..3 {
        p.cast(Cast::Push("x".into())).await.unwrap();
    }
    p.send("i".into()).unwrap();
    p.call(Call::Slow(Duration::from_millis(250), 1))
        .await
        .unwrap();
    let info = p.info();
    assert_eq!(info.kind, ProcessKind::Server);
    assert!(info.behaviour.ends_with("Probe"));
    assert_eq!(
        (info.handled_casts, info.handled_infos, info.handled_calls),
        (3, 1, 1)
    );
    assert_eq!(info.received, 5);
    assert_eq!(info.mailbox_len, 0);
    assert!(
        info.busy >= Duration::from_millis(250),
        "busy {:?}",
        info.busy
    );
    assert!(info.busy < Duration::from_millis(260));
    assert_eq!(info.status, Status::Idle);
}

#[tokio::test(start_paused = true)]
async fn mailbox_length_is_right_while_the_process_sits_in_a_slow_callback() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    p.cast(Cast::Sleep(Duration::from_secs(5))).await.unwrap();
    settle().await;
    for _ in 0..7 {
        p.cast(Cast::Push("q".into())).await.unwrap();
    }
    let info = p.info();
    assert_eq!(info.mailbox_len, 7);
    assert_eq!(info.mailbox_peak, 7);
    assert!(matches!(
        info.status,
        Status::Handling {
            kind: MsgKind::Cast,
            ..
        }
    ));
    // Busy time includes the callback still in progress.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(p.info().busy >= Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn sent_messages_are_counted_against_the_sender() {
    let rt = Runtime::new();
    let a = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let b = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    a.call(Call::Ask(b.clone())).await.unwrap();
    assert_eq!(a.info().sent, 1);
    assert_eq!(b.info().received, 1);
}

#[tokio::test(start_paused = true)]
async fn state_size_is_measured_at_init() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let info = p.info();
    assert!(info.state_deep);
    assert_eq!(info.state_bytes, std::mem::size_of::<Probe>() as u64);
}

#[tokio::test(start_paused = true)]
async fn instrumentation_off_still_runs_but_counts_nothing() {
    let rt = Runtime::builder().instrument(false).build();
    assert!(!rt.is_instrumented());
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    p.cast(Cast::Push("x".into())).await.unwrap();
    assert_eq!(p.call(Call::Echo(1)).await, Ok(Reply::Num(1)));
    let info = p.info();
    assert_eq!(
        (info.received, info.handled_casts, info.handled_calls),
        (0, 0, 0)
    );
    assert_eq!(info.busy, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn processes_lists_live_processes_with_parents() {
    let rt = Runtime::new();
    let a = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let b = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let pids: Vec<_> = rt.processes().iter().map(|p| p.pid).collect();
    assert_eq!(pids, vec![a.pid(), b.pid()]);
    assert_eq!(rt.processes()[0].parent, None);
}

#[tokio::test(start_paused = true)]
async fn time_blocked_in_a_call_is_not_busy_time() {
    let rt = Runtime::new();
    let slow = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let caller = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    slow.cast(Cast::Sleep(Duration::from_secs(3)))
        .await
        .unwrap();
    let c = caller.clone();
    let s = slow.clone();
    let pending = tokio::spawn(async move { c.call(Call::Ask(s)).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        caller.info().busy < Duration::from_millis(1),
        "waiting, not busy: {:?}",
        caller.info().busy
    );
    pending.await.unwrap().unwrap();
    assert!(caller.info().busy < Duration::from_millis(1));
    assert!(
        slow.info().busy >= Duration::from_secs(3),
        "the callee was busy"
    );
}

/// Counts by kind (and by type) are added up per run of one message type and published when
/// the batch ends; a process killed in the middle of a batch (its task aborted) still adds
/// what it took before the kill.
#[tokio::test(start_paused = true)]
async fn a_process_killed_in_the_middle_of_a_batch_keeps_its_counts() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    // Both queued before the process runs, so it takes them in one batch.
    p.try_cast(Cast::Sleep(Duration::ZERO)).unwrap();
    p.try_cast(Cast::Sleep(Duration::from_secs(10))).unwrap();
    settle().await;
    let info = p.info();
    assert_eq!(info.mailbox_len, 0, "taken out one by one");
    assert_eq!(info.handled_casts, 0, "published at the batch's end");
    p.process().exit(beamline::ExitReason::Killed);
    p.process().wait().await;
    assert_eq!(p.info().handled_casts, 2);
}

/// A batch of slow callbacks publishes its counts every 8 messages, not only at its end: the
/// bottleneck a user looks at (128 calls of 40 ms in one batch) shows a handled rate while it
/// works instead of none for five seconds.
#[tokio::test(start_paused = true)]
async fn a_batch_of_slow_callbacks_publishes_its_counts_as_it_goes() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    for _ in 0..20 {
        p.try_cast(Cast::Sleep(Duration::from_millis(40))).unwrap();
    }
    // Nine callbacks done, the tenth running: one batch, still open.
    tokio::time::sleep(Duration::from_millis(9 * 40 + 20)).await;
    let info = p.info();
    assert!(info.mailbox_len > 0, "the batch is still running");
    assert_eq!(info.handled_casts, 8, "published after the 8th message");
}

/// Where `status` says since when it handles a message: that message's start, not its
/// batch's. One batch: a 20 ms cast, then five calls of 40 ms queued while it runs. While in
/// the third call, the status counts from its start at 100 ms, not from the batch's at 0 (it
/// used to: Detail then said "handling call for 4.7s" of a process 20 ms into a 40 ms call).
#[tokio::test(start_paused = true)]
async fn handling_since_is_the_current_messages_start_within_a_batch() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    p.try_cast(Cast::Sleep(Duration::from_millis(20))).unwrap();
    settle().await;
    let callers: Vec<_> = (0..5)
        .map(|n| {
            let p = p.clone();
            tokio::spawn(async move { p.call(Call::Slow(Duration::from_millis(40), n)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(120)).await;
    let info = p.info();
    assert_eq!(info.mailbox_len, 2, "two calls still queued");
    assert_eq!(info.handled_calls, 0, "one batch, still open");
    // `since_ms` counts from the runtime's start: 0 here, on the paused clock.
    assert_eq!(
        info.status,
        Status::Handling {
            kind: MsgKind::Call,
            since_ms: 100,
        },
        "the third call started at 100 ms"
    );
    for c in callers {
        c.await.unwrap().unwrap();
    }
}

/// Calls `slow` (which sleeps 40 ms), then sleeps 40 ms itself: 80 ms per cast.
struct AskThenSleep(beamline::ServerRef<Probe>);

impl beamline::GenServer for AskThenSleep {
    type Args = beamline::ServerRef<Probe>;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    async fn init(
        slow: beamline::ServerRef<Probe>,
        _: &mut beamline::Ctx<Self>,
    ) -> Result<Self, beamline::InitError> {
        Ok(AskThenSleep(slow))
    }
    async fn handle_cast(&mut self, (): (), _: &mut beamline::Ctx<Self>) -> beamline::Next {
        let _ = self.0.call(Call::Slow(Duration::from_millis(40), 0)).await;
        tokio::time::sleep(Duration::from_millis(40)).await;
        beamline::Next::noreply()
    }
}

/// A callback that first blocks in a call to another process: its status after the call
/// counts from its own message's start (the wait edge stamps it), not from its batch's.
#[tokio::test(start_paused = true)]
async fn handling_since_survives_a_call_made_by_the_callback() {
    let rt = Runtime::new();
    let slow = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let caller = rt.start::<AskThenSleep>(slow).await.unwrap();
    for _ in 0..3 {
        caller.try_cast(()).unwrap();
    }
    // The third cast started at 160 ms; its call returned at 200 ms; it sleeps until 240.
    tokio::time::sleep(Duration::from_millis(220)).await;
    assert_eq!(
        caller.info().status,
        Status::Handling {
            kind: MsgKind::Cast,
            since_ms: 160,
        }
    );
}
