//! `leak`: a process whose state grows without bound.
//!
//! `leak/hoarder` is an audit trail that keeps every record it is sent and never forgets one,
//! fed a little more each tick as traffic grows (about 8% more state per second). In the
//! observer: its state size climbing every sample, and the state_growth alert naming it. The
//! fix is a bound: a ring buffer, a TTL, or moving old records out of the process.
//!
//! Bounded: past [`CEILING`] the hoarder dies of a simulated out-of-memory; its supervisor
//! restarts it empty and it starts hoarding again.

use super::WORKER_SHUTDOWN;
use beamline::supervisor::{ChildSpec, Strategy, SupervisorSpec};
use beamline::{CallReply, Ctx, GenServer, Info, InitError, Next, StateSize};
use std::time::Duration;

/// The hoarder's registered name.
pub const NAME: &str = "leak/hoarder";
/// State size at which the hoarder "runs out of memory".
pub const CEILING: usize = 32 * 1024 * 1024;
/// Time between feeds.
pub const TICK: Duration = Duration::from_millis(250);
/// Each feed adds this share of the current size (2% per tick, about 8% per second).
pub const GROWTH: f64 = 0.02;
/// ... and at least this many bytes.
pub const MIN_FEED: usize = 16 * 1024;

/// The leaking process.
pub struct Hoarder {
    records: Vec<Vec<u8>>,
    bytes: usize,
}

/// Ask the hoarder for its own measure of its state: the figure the runtime publishes as its
/// state size, available even where nobody samples.
#[derive(Debug)]
pub struct Footprint;

/// A feed of records.
#[derive(Debug)]
pub struct Feed;

impl GenServer for Hoarder {
    type Args = ();
    type Call = Footprint;
    type Reply = StateSize;
    type Cast = ();
    type Info = Feed;

    async fn init(_: (), ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_interval(|| Feed, TICK);
        Ok(Hoarder {
            records: Vec::new(),
            bytes: 0,
        })
    }

    async fn handle_call(&mut self, _: Footprint, _ctx: &mut Ctx<Self>) -> CallReply<StateSize> {
        CallReply::reply(self.state_size())
    }

    async fn handle_info(&mut self, msg: Info<Feed>, _ctx: &mut Ctx<Self>) -> Next {
        if let Info::Msg(Feed) = msg {
            let add = ((self.bytes as f64 * GROWTH) as usize).max(MIN_FEED);
            // Records of 1 KiB, as an audit trail would keep them.
            for _ in 0..add.div_ceil(1024) {
                self.records.push(vec![0xA5; 1024]);
                self.bytes += 1024;
            }
            if self.bytes > CEILING {
                panic!(
                    "out of memory (simulated): {} records, {} MiB",
                    self.records.len(),
                    self.bytes >> 20
                );
            }
        }
        Next::noreply()
    }

    fn state_size(&self) -> StateSize {
        let heap = self.records.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.records.iter().map(Vec::capacity).sum::<usize>();
        StateSize::deep(std::mem::size_of::<Self>() + heap)
    }
}

/// `scenario/leak` -> `leak/hoarder`.
pub fn child_spec() -> ChildSpec {
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .name("scenario/leak")
        .child(
            ChildSpec::worker::<Hoarder>(NAME, ())
                .name(NAME)
                .shutdown(WORKER_SHUTDOWN),
        );
    ChildSpec::supervisor("scenario/leak", spec)
}
