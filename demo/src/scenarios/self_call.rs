//! `self-call`: a server that calls itself (seed 003's first trap).
//!
//! In OTP a `GenServer.call` to yourself blocks until the timeout: the reply can only come from
//! the process that is waiting for it. Beamline notices the caller is the callee and returns
//! [`CallError::CallingSelf`] at once. `self-call/server` makes the mistake every [`EVERY`],
//! from a timer (as "a helper calling the public API" would) and logs the error; its state
//! (inspectable) counts them. In the observer the process never blocks: no waiting status, no
//! long wait; the error is in its log lines. The fix: call a plain function, or cast to
//! yourself.

use super::WORKER_SHUTDOWN;
use beamline::supervisor::{ChildSpec, Strategy, SupervisorSpec};
use beamline::{CallError, CallReply, Ctx, GenServer, Info, InitError, Next};
use std::time::Duration;

/// The server's registered name.
pub const NAME: &str = "self-call/server";
/// How often it makes the mistake.
pub const EVERY: Duration = Duration::from_secs(3);

/// The server that calls itself.
pub struct SelfCaller {
    value: u64,
    errors: u64,
    last_error: Option<CallError>,
}

/// Requests to the server.
#[derive(Debug)]
pub enum SelfCall {
    /// Its value.
    Get,
    /// Make the mistake now and answer what the self-call returned.
    Refresh,
}

/// Answers.
#[derive(Debug, PartialEq, Eq)]
pub enum SelfReply {
    /// The value.
    Value(u64),
    /// What calling itself returned.
    Outcome(Result<u64, CallError>),
}

/// The timer.
#[derive(Debug)]
pub struct Refresh;

impl SelfCaller {
    /// The mistake: going through the public API (a call) from inside the server.
    async fn refresh(&mut self, ctx: &Ctx<Self>) -> Result<u64, CallError> {
        let outcome = match ctx.myself().call(SelfCall::Get).await {
            Ok(SelfReply::Value(v)) => Ok(v),
            Ok(other) => unreachable!("Get answers a value, not {other:?}"),
            Err(e) => Err(e),
        };
        if let Err(e) = &outcome {
            self.errors += 1;
            self.last_error = Some(e.clone());
            tracing::warn!("refresh failed: {e}");
        }
        outcome
    }
}

impl GenServer for SelfCaller {
    type Args = ();
    type Call = SelfCall;
    type Reply = SelfReply;
    type Cast = ();
    type Info = Refresh;

    const INSPECTABLE: bool = true;

    async fn init(_: (), ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_interval(|| Refresh, EVERY);
        Ok(SelfCaller {
            value: 0,
            errors: 0,
            last_error: None,
        })
    }

    async fn handle_call(&mut self, msg: SelfCall, ctx: &mut Ctx<Self>) -> CallReply<SelfReply> {
        match msg {
            SelfCall::Get => CallReply::reply(SelfReply::Value(self.value)),
            SelfCall::Refresh => CallReply::reply(SelfReply::Outcome(self.refresh(ctx).await)),
        }
    }

    async fn handle_info(&mut self, msg: Info<Refresh>, ctx: &mut Ctx<Self>) -> Next {
        if let Info::Msg(Refresh) = msg {
            self.value += 1;
            let _ = self.refresh(ctx).await;
        }
        Next::noreply()
    }

    fn inspect(&self) -> String {
        format!(
            "value: {}\nself-calls refused: {}\nlast error: {}",
            self.value,
            self.errors,
            self.last_error
                .as_ref()
                .map_or_else(|| "none".to_string(), ToString::to_string)
        )
    }
}

/// `scenario/self-call` -> `self-call/server`.
pub fn child_spec() -> ChildSpec {
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .name("scenario/self-call")
        .child(
            ChildSpec::worker::<SelfCaller>(NAME, ())
                .name(NAME)
                .shutdown(WORKER_SHUTDOWN),
        );
    ChildSpec::supervisor("scenario/self-call", spec)
}
