//! `overflow`: a producer that casts faster than its consumer can handle.
//!
//! Casts never wait (seed 002's "message queue overflow" disaster), so nothing slows the
//! producer down and the consumer's mailbox grows by about 60 messages a second. In the
//! observer, `overflow/consumer` has by far the deepest mailbox, growing every sample, and the
//! overflow alert names it (not the producer, whose own mailbox is empty).
//!
//! Bounded: the producer pushes for [`BURST`], then waits until the consumer has drained its
//! mailbox before the next burst, so the backlog never exceeds about 3,600 messages.

use super::WORKER_SHUTDOWN;
use beamline::supervisor::{ChildSpec, Strategy, SupervisorSpec};
use beamline::{Ctx, GenServer, Info, InitError, Next, StateSize};
use std::time::Duration;

/// The consumer's registered name.
pub const CONSUMER: &str = "overflow/consumer";
/// The producer's registered name.
pub const PRODUCER: &str = "overflow/producer";
/// The producer's rate: messages per tick, a tick every 100 ms (100/s).
pub const PER_TICK: u32 = 10;
/// Time the consumer spends on each message (40/s).
pub const HANDLE_TIME: Duration = Duration::from_millis(25);
/// How long the producer pushes before letting the consumer catch up.
pub const BURST: Duration = Duration::from_secs(60);

/// The slow consumer.
pub struct Consumer {
    handled: u64,
    checksum: u64,
}

/// One order to process.
#[derive(Debug)]
pub struct Order(pub u64);

impl GenServer for Consumer {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = Order;
    type Info = ();

    async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Consumer {
            handled: 0,
            checksum: 0,
        })
    }

    async fn handle_cast(&mut self, Order(n): Order, _ctx: &mut Ctx<Self>) -> Next {
        tokio::time::sleep(HANDLE_TIME).await;
        self.handled += 1;
        self.checksum = self.checksum.wrapping_add(n);
        Next::noreply()
    }

    fn state_size(&self) -> StateSize {
        StateSize::deep(std::mem::size_of::<Self>())
    }
}

/// The fast producer.
pub struct Producer {
    seq: u64,
    /// When the current burst ends; `None` while waiting for the consumer to drain.
    burst_until: Option<tokio::time::Instant>,
}

/// The producer's tick.
#[derive(Debug)]
pub struct Tick;

impl GenServer for Producer {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Tick;

    async fn init(_: (), ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_interval(|| Tick, Duration::from_millis(100));
        Ok(Producer {
            seq: 0,
            burst_until: Some(tokio::time::Instant::now() + BURST),
        })
    }

    async fn handle_info(&mut self, msg: Info<Tick>, ctx: &mut Ctx<Self>) -> Next {
        if !matches!(msg, Info::Msg(Tick)) {
            return Next::noreply();
        }
        let Some(consumer) = ctx.runtime().whereis::<Consumer>(CONSUMER) else {
            return Next::noreply();
        };
        let now = tokio::time::Instant::now();
        match self.burst_until {
            Some(until) if now >= until => {
                tracing::info!("burst over; waiting for the consumer to catch up");
                self.burst_until = None;
            }
            None if consumer.info().mailbox_len == 0 => {
                self.burst_until = Some(now + BURST);
            }
            _ => {}
        }
        if self.burst_until.is_some() {
            for _ in 0..PER_TICK {
                self.seq += 1;
                let _ = consumer.cast(Order(self.seq)).await;
            }
        }
        Next::noreply()
    }
}

/// `scenario/overflow` -> `overflow/consumer`, `overflow/producer`.
pub fn child_spec() -> ChildSpec {
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .name("scenario/overflow")
        .child(
            ChildSpec::worker::<Consumer>(CONSUMER, ())
                .name(CONSUMER)
                .shutdown(WORKER_SHUTDOWN),
        )
        .child(
            ChildSpec::worker::<Producer>(PRODUCER, ())
                .name(PRODUCER)
                .shutdown(WORKER_SHUTDOWN),
        );
    ChildSpec::supervisor("scenario/overflow", spec)
}
