//! `bottleneck`: one serialised server that many processes call.
//!
//! The ledger does one thing at a time (that is what a GenServer guarantees, seed 001), and
//! each posting takes 40 ms; 16 clerks call it in a loop. It can serve 25 calls a second, the
//! clerks want far more, so the ledger is busy all the time, ~15 calls queue in its mailbox,
//! and every clerk spends most of its life waiting on it. In the observer: the ledger at ~100%
//! busy, the clerks' status `waiting on` the ledger, and the bottleneck alert ranking the
//! ledger first by the waiting it causes. The fix the seed suggests: keep the API, move the
//! hot state out of the single process (a pool, or an ETS-like shared table).
//!
//! Bounded: each clerk has at most one call in flight, so the queue never exceeds 16.

use super::WORKER_SHUTDOWN;
use beamline::supervisor::{ChildSpec, Strategy, SupervisorSpec};
use beamline::{CallReply, Ctx, GenServer, Info, InitError, Next};
use std::time::Duration;

/// The ledger's registered name.
pub const LEDGER: &str = "bottleneck/ledger";
/// Clerks calling it.
pub const CLERKS: usize = 16;
/// Time the ledger spends per call.
pub const POST_TIME: Duration = Duration::from_millis(40);

/// A clerk's registered name.
pub fn clerk_name(i: usize) -> String {
    format!("bottleneck/clerk-{i}")
}

/// The serialised server.
pub struct Ledger {
    postings: u64,
    balance: i64,
}

/// Post an entry; answers the running balance.
#[derive(Debug)]
pub struct Post(pub i64);

impl GenServer for Ledger {
    type Args = ();
    type Call = Post;
    type Reply = i64;
    type Cast = ();
    type Info = ();

    async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Ledger {
            postings: 0,
            balance: 0,
        })
    }

    async fn handle_call(&mut self, Post(n): Post, _ctx: &mut Ctx<Self>) -> CallReply<i64> {
        // Validation, a write to disk, an audit line: all in the one process.
        tokio::time::sleep(POST_TIME).await;
        self.postings += 1;
        self.balance += n;
        CallReply::reply(self.balance)
    }
}

/// A clerk: posts an entry, waits for the answer, does a moment of its own work, repeats.
pub struct Clerk {
    id: i64,
}

/// The clerk's "next posting" message.
#[derive(Debug)]
pub struct Again;

impl GenServer for Clerk {
    type Args = usize;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Again;

    async fn init(i: usize, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_after(Again, Duration::from_millis(10 * i as u64));
        Ok(Clerk { id: i as i64 })
    }

    async fn handle_info(&mut self, msg: Info<Again>, ctx: &mut Ctx<Self>) -> Next {
        if let Info::Msg(Again) = msg {
            if let Some(ledger) = ctx.runtime().whereis::<Ledger>(LEDGER) {
                let amount = if self.id % 2 == 0 { self.id } else { -self.id };
                let _ = ledger
                    .call_timeout(Post(amount), Duration::from_secs(30))
                    .await;
            }
            ctx.send_after(Again, Duration::from_millis(20));
        }
        Next::noreply()
    }
}

/// `scenario/bottleneck` -> `bottleneck/ledger`, `bottleneck/clerk-N`.
pub fn child_spec() -> ChildSpec {
    let mut spec = SupervisorSpec::new(Strategy::OneForOne)
        .name("scenario/bottleneck")
        .child(
            ChildSpec::worker::<Ledger>(LEDGER, ())
                .name(LEDGER)
                .shutdown(WORKER_SHUTDOWN),
        );
    for i in 0..CLERKS {
        spec = spec.child(
            ChildSpec::worker::<Clerk>(clerk_name(i), i)
                .name(clerk_name(i))
                .shutdown(WORKER_SHUTDOWN),
        );
    }
    ChildSpec::supervisor("scenario/bottleneck", spec)
}
