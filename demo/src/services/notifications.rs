//! The notification queue of seed 002: producers `cast` notifications and never wait; the
//! queue delivers them in batches on a timer.
//!
//! Casts are the point: the bank, the contract desk and the session gateway must not slow down
//! because delivery is slow. The price is that nothing pushes back, so the queue's own backlog
//! (its `pending` list, shown in its state size and `inspect`) is what to watch.

use super::work;
use beamline::supervisor::ChildSpec;
use beamline::{Ctx, GenServer, Info, InitError, Next, Runtime, StateSize};
use std::collections::VecDeque;
use std::time::Duration;

/// The queue's registered name.
pub const NAME: &str = "notify/queue";
/// How often a batch goes out.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// At most this many notifications per batch.
pub const BATCH: usize = 64;
/// Delivered notifications remembered for `inspect`.
const RECENT: usize = 16;

/// One notification.
#[derive(Clone, Debug)]
pub struct Notification {
    /// Who it is for.
    pub to: String,
    /// What it says.
    pub text: String,
}

/// The queue server.
pub struct NotificationQueue {
    pending: VecDeque<Notification>,
    recent: VecDeque<String>,
    delivered: u64,
}

/// The flush timer.
#[derive(Debug)]
pub struct Flush;

impl GenServer for NotificationQueue {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = Notification;
    type Info = Flush;

    const INSPECTABLE: bool = true;

    async fn init(_: (), ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_interval(|| Flush, FLUSH_EVERY);
        Ok(NotificationQueue {
            pending: VecDeque::new(),
            recent: VecDeque::new(),
            delivered: 0,
        })
    }

    async fn handle_cast(&mut self, n: Notification, _ctx: &mut Ctx<Self>) -> Next {
        self.pending.push_back(n);
        Next::noreply()
    }

    async fn handle_info(&mut self, msg: Info<Flush>, _ctx: &mut Ctx<Self>) -> Next {
        if let Info::Msg(Flush) = msg {
            let n = self.pending.len().min(BATCH);
            // Delivery costs a little per message (a push gateway, an email relay).
            work(Duration::from_micros(300) * n as u32).await;
            for note in self.pending.drain(..n) {
                self.delivered += 1;
                if self.recent.len() == RECENT {
                    self.recent.pop_front();
                }
                self.recent
                    .push_back(format!("-> {}: {}", note.to, note.text));
            }
            if self.pending.capacity() > 4 * BATCH && self.pending.len() < BATCH {
                self.pending.shrink_to(BATCH);
            }
        }
        Next::noreply()
    }

    fn state_size(&self) -> StateSize {
        let note = std::mem::size_of::<Notification>() + 48;
        let heap = self.pending.capacity() * note
            + self.recent.iter().map(|s| s.capacity() + 24).sum::<usize>();
        StateSize::deep(std::mem::size_of::<Self>() + heap)
    }

    fn inspect(&self) -> String {
        let mut out = format!(
            "pending: {}\ndelivered: {}\nlast delivered:\n",
            self.pending.len(),
            self.delivered
        );
        for line in &self.recent {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// The queue as a permanent worker.
pub fn child_spec() -> ChildSpec {
    ChildSpec::worker::<NotificationQueue>(NAME, ()).name(NAME)
}

/// Fire and forget a notification (a dead letter if the queue is restarting, as in OTP).
pub fn notify(rt: &Runtime, to: impl Into<String>, text: impl Into<String>) {
    if let Some(q) = rt.whereis::<NotificationQueue>(NAME) {
        let _ = q.try_cast(Notification {
            to: to.into(),
            text: text.into(),
        });
    }
}
