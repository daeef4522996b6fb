//! Stopping a process from outside: `stop` (OTP's `gen_server:stop`) and exit signals (OTP's
//! `exit/2`), translated from Elixir's `gen_server_test.exs` ("stop/3") and the exit helpers of
//! OTP's `supervisor_SUITE`.

use crate::support::*;
use beamline::{
    CallError, CallReply, Ctx, ExitReason, GenServer, Info, InitError, Next, Runtime, SpawnOpts,
};
use std::time::Duration;

/// A server that stops itself through its own handle or name when called.
struct SelfStopper;

enum How {
    Handle,
    Name,
}

impl GenServer for SelfStopper {
    type Args = ();
    type Call = How;
    type Reply = Result<ExitReason, CallError>;
    type Cast = ();
    type Info = ();
    async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(SelfStopper)
    }
    async fn handle_call(&mut self, how: How, ctx: &mut Ctx<Self>) -> CallReply<Self::Reply> {
        let me = match how {
            How::Handle => ctx.myself().clone(),
            How::Name => ctx.runtime().whereis::<SelfStopper>("me").unwrap(),
        };
        CallReply::reply(me.stop(ExitReason::Normal, None).await)
    }
}

#[tokio::test(start_paused = true)]
async fn stop_3_on_an_exited_process_is_noproc() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    assert_eq!(
        p.stop(ExitReason::Normal, None).await,
        Ok(ExitReason::Normal)
    );
    assert_eq!(
        p.stop(ExitReason::Normal, None).await,
        Err(CallError::NoProcess),
        "not the old exit reason, as if this stop had stopped it"
    );
}

#[tokio::test(start_paused = true)]
async fn stop_3_calling_self_fails_at_once_by_handle_and_by_name() {
    let rt = Runtime::new();
    let p = rt
        .start_with::<SelfStopper>((), SpawnOpts::new().name("me"))
        .await
        .unwrap();
    let start = tokio::time::Instant::now();
    assert_eq!(p.call(How::Handle).await, Ok(Err(CallError::CallingSelf)));
    assert_eq!(p.call(How::Name).await, Ok(Err(CallError::CallingSelf)));
    assert_eq!(start.elapsed(), Duration::ZERO, "no time passes: no hang");
    let by_name = rt.whereis::<SelfStopper>("me").unwrap();
    assert_eq!(
        by_name.stop(ExitReason::Normal, None).await,
        Ok(ExitReason::Normal),
        "from outside, stop by name works"
    );
}

#[tokio::test(start_paused = true)]
async fn exit_2_with_shutdown_ends_a_process_that_does_not_trap_exits() {
    // OTP's `exit(Pid, shutdown)` and `exit(Pid, {shutdown, Term})`, as the supervisor_SUITE's
    // `terminate/4` helper sends them: only `normal` is ignored by a non-trapping process.
    let rt = Runtime::new();
    for reason in [
        ExitReason::Shutdown,
        ExitReason::ShutdownWith("signal".into()),
    ] {
        let l = log();
        let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
        p.process().exit(reason.clone());
        assert_eq!(p.process().wait().await, reason);
        assert_eq!(
            seen(&l),
            ["init"],
            "an untrapped exit signal skips terminate"
        );
    }
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    p.process().exit(ExitReason::Normal);
    settle().await;
    assert!(p.is_alive(), "normal is ignored");
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_exit_propagates_through_links() {
    // OTP: a linked process's exit with any reason but `normal` ends a non-trapping process.
    let rt = Runtime::new();
    let a = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let b = rt
        .start_with::<Parent>(ParentArgs::Link(a.process()), SpawnOpts::new())
        .await
        .unwrap();
    a.stop(ExitReason::Shutdown, None).await.unwrap();
    assert_eq!(b.process().wait().await, ExitReason::Shutdown);
}

/// A process that links to a given one, or starts a trapping child linked to itself.
struct Parent;

enum ParentArgs {
    Link(beamline::ProcessRef),
    Child(TrapArgs),
}

impl GenServer for Parent {
    type Args = ParentArgs;
    type Call = ();
    type Reply = beamline::ServerRef<Trapper>;
    type Cast = ();
    type Info = ();
    async fn init(args: ParentArgs, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        if let ParentArgs::Link(p) = args {
            ctx.link(&p);
        } else if let ParentArgs::Child(t) = args {
            let child = ctx
                .runtime()
                .start_with::<Trapper>(t, SpawnOpts::new().link())
                .await
                .unwrap();
            ctx.runtime()
                .start_with::<Holder>(child, SpawnOpts::new().name("trapper"))
                .await
                .unwrap();
        }
        Ok(Parent)
    }
}

/// Keeps a handle reachable by name (so a test can find the trapping child).
struct Holder(beamline::ServerRef<Trapper>);

impl GenServer for Holder {
    type Args = beamline::ServerRef<Trapper>;
    type Call = ();
    type Reply = beamline::ServerRef<Trapper>;
    type Cast = ();
    type Info = ();
    async fn init(t: Self::Args, _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Holder(t))
    }
    async fn handle_call(&mut self, _: (), _: &mut Ctx<Self>) -> CallReply<Self::Reply> {
        CallReply::reply(self.0.clone())
    }
}

/// A server trapping exits, logging each exit message and stopping with `own` if set.
pub struct Trapper {
    args: TrapArgs,
}

#[derive(Clone)]
pub struct TrapArgs {
    pub log: Log,
    pub own: Option<ExitReason>,
}

impl GenServer for Trapper {
    type Args = TrapArgs;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    async fn init(args: TrapArgs, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.trap_exit(true);
        Ok(Trapper { args })
    }
    async fn handle_info(&mut self, msg: Info<()>, _: &mut Ctx<Self>) -> Next {
        if let Info::Exit { reason, .. } = msg {
            self.args.log.lock().unwrap().push(format!("exit {reason}"));
            if let Some(own) = self.args.own.clone() {
                return Next::stop(own);
            }
        }
        Next::noreply()
    }
    async fn terminate(&mut self, reason: &ExitReason, _: &mut Ctx<Self>) {
        self.args
            .log
            .lock()
            .unwrap()
            .push(format!("terminate {reason}"));
    }
}

#[tokio::test(start_paused = true)]
async fn a_trapping_server_gets_its_parents_exit_and_stops_with_it() {
    // OTP's gen_server: an 'EXIT' from the parent ends a trapping server with that reason
    // whatever it does; Beamline shows it to `handle_info` first, which may choose its own.
    for own in [None, Some(ExitReason::ShutdownWith("oops".into()))] {
        let rt = Runtime::new();
        let l = log();
        let args = TrapArgs {
            log: l.clone(),
            own: own.clone(),
        };
        let parent = rt.start::<Parent>(ParentArgs::Child(args)).await.unwrap();
        let child = rt
            .whereis::<Holder>("trapper")
            .unwrap()
            .call(())
            .await
            .unwrap();
        assert_eq!(child.info().parent, Some(parent.pid()));
        parent.stop(ExitReason::Shutdown, None).await.unwrap();
        let expected = own.unwrap_or(ExitReason::Shutdown);
        assert_eq!(child.process().wait().await, expected);
        assert_eq!(
            seen(&l),
            ["exit shutdown".to_string(), format!("terminate {expected}")]
        );
    }
}
