//! `deadlock`: two servers that call each other (seed 003).
//!
//! `deadlock/alice` tells `deadlock/bob` to go (a cast), then calls him. Bob, going, calls
//! Alice. Each is now inside a callback waiting for a reply only the other can give, and
//! neither will handle another message until its call times out ([`CALL_TIMEOUT`]). In the
//! observer: both statuses `waiting on` the other, a cycle in the wait-for graph (the deadlock
//! alert names both as soon as it forms), then long_wait, then both calls failing with a
//! timeout in the logs. The fix: never call a server that may call you back; cast instead.
//!
//! Bounded: nothing accumulates; the knot forms again every [`EVERY`].

use super::WORKER_SHUTDOWN;
use beamline::supervisor::{ChildSpec, Strategy, SupervisorSpec};
use beamline::{CallReply, Ctx, GenServer, Info, InitError, Next};
use std::time::Duration;

/// Alice's registered name.
pub const ALICE: &str = "deadlock/alice";
/// Bob's registered name.
pub const BOB: &str = "deadlock/bob";
/// How long each waits for the other.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(8);
/// How often the knot is tied (the first time after [`FIRST`]).
pub const EVERY: Duration = Duration::from_secs(15);
/// When the knot is first tied.
pub const FIRST: Duration = Duration::from_secs(2);

/// One of the two servers.
pub struct Peer {
    other: &'static str,
    leads: bool,
    timeouts: u64,
}

/// What one peer asks the other.
#[derive(Debug)]
pub struct Confirm;

/// Start the exchange (a cast, so the sender does not wait).
#[derive(Debug)]
pub struct Go;

/// Alice's timer.
#[derive(Debug)]
pub struct Tie;

impl Peer {
    async fn call_other(&mut self, ctx: &Ctx<Self>) {
        let Some(other) = ctx.runtime().whereis::<Peer>(self.other) else {
            return;
        };
        if let Err(e) = other.call_timeout(Confirm, CALL_TIMEOUT).await {
            self.timeouts += 1;
            tracing::warn!("call to {} failed: {e}", self.other);
        }
    }
}

impl GenServer for Peer {
    /// (the other's name, whether this one ties the knot)
    type Args = (&'static str, bool);
    type Call = Confirm;
    type Reply = ();
    type Cast = Go;
    type Info = Tie;

    async fn init(
        (other, leads): (&'static str, bool),
        ctx: &mut Ctx<Self>,
    ) -> Result<Self, InitError> {
        if leads {
            ctx.send_after(Tie, FIRST);
        }
        Ok(Peer {
            other,
            leads,
            timeouts: 0,
        })
    }

    async fn handle_call(&mut self, _: Confirm, _ctx: &mut Ctx<Self>) -> CallReply<()> {
        CallReply::reply(())
    }

    async fn handle_cast(&mut self, Go: Go, ctx: &mut Ctx<Self>) -> Next {
        self.call_other(ctx).await;
        Next::noreply()
    }

    async fn handle_info(&mut self, msg: Info<Tie>, ctx: &mut Ctx<Self>) -> Next {
        if let Info::Msg(Tie) = msg
            && self.leads
        {
            if let Some(other) = ctx.runtime().whereis::<Peer>(self.other) {
                let _ = other.cast(Go).await;
            }
            self.call_other(ctx).await;
            ctx.send_after(Tie, EVERY);
        }
        Next::noreply()
    }
}

/// `scenario/deadlock` -> `deadlock/alice`, `deadlock/bob`.
pub fn child_spec() -> ChildSpec {
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .name("scenario/deadlock")
        .child(
            ChildSpec::worker::<Peer>(BOB, (ALICE, false))
                .name(BOB)
                .shutdown(WORKER_SHUTDOWN),
        )
        .child(
            ChildSpec::worker::<Peer>(ALICE, (BOB, true))
                .name(ALICE)
                .shutdown(WORKER_SHUTDOWN),
        );
    ChildSpec::supervisor("scenario/deadlock", spec)
}
