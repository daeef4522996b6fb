use crate::support::*;
use beamline::{CallError, ExitReason, Runtime};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn call_replies_with_the_typed_reply() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    assert_eq!(p.call(Call::Echo(5)).await, Ok(Reply::Num(5)));
}

#[tokio::test(start_paused = true)]
async fn call_times_out_after_five_seconds_by_default() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let start = tokio::time::Instant::now();
    let r = p.call(Call::Slow(Duration::from_secs(60), 1)).await;
    assert_eq!(r, Err(CallError::Timeout(Duration::from_secs(5))));
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn explicit_timeout_and_late_reply_never_leaks_into_the_next_call() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let r = p
        .call_timeout(
            Call::Slow(Duration::from_millis(200), 1),
            Duration::from_millis(100),
        )
        .await;
    assert_eq!(r, Err(CallError::Timeout(Duration::from_millis(100))));
    // The slow call still completes at 200 ms; its reply (1) must not be taken for this one.
    assert_eq!(p.call(Call::Echo(2)).await, Ok(Reply::Num(2)));
}

#[tokio::test(start_paused = true)]
async fn calling_self_by_handle_fails_at_once() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let start = tokio::time::Instant::now();
    assert_eq!(
        p.call(Call::AskMyself).await,
        Ok(Reply::Err(CallError::CallingSelf))
    );
    assert_eq!(start.elapsed(), Duration::ZERO, "no time passes: no hang");
}

#[tokio::test(start_paused = true)]
async fn calling_self_by_name_fails_at_once() {
    use beamline::{CallReply, Ctx, GenServer, InitError};
    struct Named;
    impl GenServer for Named {
        type Args = ();
        type Call = ();
        type Reply = Result<(), CallError>;
        type Cast = ();
        type Info = ();
        async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
            Ok(Named)
        }
        async fn handle_call(&mut self, _: (), ctx: &mut Ctx<Self>) -> CallReply<Self::Reply> {
            CallReply::reply(ctx.runtime().call::<Named>("me", ()).await.map(|_| ()))
        }
    }
    let rt = Runtime::new();
    let n = rt
        .start_with::<Named>((), beamline::SpawnOpts::new().name("me"))
        .await
        .unwrap();
    assert_eq!(n.call(()).await, Ok(Err(CallError::CallingSelf)));
}

#[tokio::test(start_paused = true)]
async fn call_to_a_dead_process_is_no_process() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    p.stop(ExitReason::Normal, None).await.unwrap();
    assert_eq!(p.call(Call::Echo(1)).await, Err(CallError::NoProcess));
    assert_eq!(
        rt.call::<Probe>("nobody", Call::Echo(1)).await,
        Err(CallError::NoProcess)
    );
}

#[tokio::test(start_paused = true)]
async fn callee_exiting_during_the_call_reports_its_reason() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let r = p.call(Call::Panic("kaboom".into())).await;
    assert_eq!(
        r,
        Err(CallError::Exited(ExitReason::Panic("kaboom".into())))
    );

    // A call queued behind one that stops the server sees the stop reason too.
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let (a, b) = tokio::join!(
        p.call(Call::Stop(ExitReason::error("closing"))),
        p.call(Call::Echo(1))
    );
    assert_eq!(a, Ok(Reply::Done));
    assert_eq!(b, Err(CallError::Exited(ExitReason::error("closing"))));
}

#[tokio::test(start_paused = true)]
async fn deferred_reply_is_answered_from_another_callback() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let waiter = {
        let p = p.clone();
        tokio::spawn(async move { p.call(Call::Defer).await })
    };
    // The server is free to handle other messages while the first caller waits.
    assert_eq!(p.call(Call::Echo(3)).await, Ok(Reply::Num(3)));
    p.cast(Cast::Release(99)).await.unwrap();
    assert_eq!(waiter.await.unwrap(), Ok(Reply::Num(99)));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_reply_handle_is_no_reply() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    assert_eq!(p.call(Call::Forget).await, Err(CallError::NoReply));
}

#[tokio::test(start_paused = true)]
async fn a_waiting_caller_shows_whom_it_waits_on() {
    let rt = Runtime::new();
    let slow = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let caller = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    // `caller` calls `slow`, which is busy sleeping for 3 s.
    slow.cast(Cast::Sleep(Duration::from_secs(3)))
        .await
        .unwrap();
    let c2 = caller.clone();
    let s2 = slow.clone();
    let pending = tokio::spawn(async move { c2.call(Call::Ask(s2)).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(caller.info().status.waiting_on(), Some(slow.pid()));
    assert_eq!(pending.await.unwrap(), Ok(Reply::Num(7)));
    assert_eq!(caller.info().status.waiting_on(), None);
}

/// Regression: the reply handle of a call in progress used to be dropped before the exit reason
/// was recorded, so a caller on another worker thread could see `NoReply` instead of the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_on_other_threads_always_see_the_exit_reason() {
    let rt = Runtime::new();
    for _ in 0..200 {
        let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
        let r = p.call(Call::Panic("boom".into())).await;
        assert_eq!(r, Err(CallError::Exited(ExitReason::Panic("boom".into()))));
    }
    for _ in 0..50 {
        let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
        let pending = {
            let p = p.clone();
            tokio::spawn(async move { p.call(Call::Slow(Duration::from_secs(60), 1)).await })
        };
        while !matches!(p.info().status, beamline::wire::Status::Handling { .. }) {
            tokio::task::yield_now().await;
        }
        p.process().exit(ExitReason::Killed);
        assert_eq!(
            pending.await.unwrap(),
            Err(CallError::Exited(ExitReason::Killed))
        );
    }
}

/// A timeout too large for the clock means no deadline, not a panic.
#[tokio::test(start_paused = true)]
async fn a_timeout_beyond_the_clock_waits_without_a_deadline() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    assert_eq!(
        p.call_timeout(Call::Echo(3), Duration::MAX).await,
        Ok(Reply::Num(3))
    );
}
