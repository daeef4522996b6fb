//! The process's own side of itself ([`Core`]) and how it ends: the exit is recorded once,
//! whether the loop returns, `init` fails or the task is aborted (a brutal kill).

use crate::ExitReason;
use crate::ctx::Ctx;
use crate::handle::Envelope;
use crate::mailbox::Rx;
use crate::process::ProcessCell;
use crate::server::GenServer;
use std::sync::Arc;
use tokio::sync::oneshot;

/// The process's own side: mailbox receiver, system channel and state. When it is dropped
/// without having finished (a brutal kill aborts the task), the exit is recorded as `killed`.
pub(super) struct Core<S: GenServer> {
    pub(super) cell: Arc<ProcessCell>,
    pub(super) rx: Rx<Envelope<S>>,
    pub(super) state: Option<S>,
    finished: bool,
    /// The callbacks' context. Kept here, not beside the core, so that a call's reply handle
    /// is dropped only after the exit reason is recorded (the caller then sees why).
    pub(super) ctx: Ctx<S>,
    /// The reply handle of a call whose callback panicked, held until the exit is recorded.
    pub(super) dying_reply: Option<oneshot::Sender<S::Reply>>,
    /// Messages of one type taken in a row, not yet in the per-type table (`msg_types.rs`).
    pub(super) run: crate::msg_types::Run,
}

impl<S: GenServer> Core<S> {
    /// A core with no state yet (`init` has not run).
    pub(super) fn new(cell: Arc<ProcessCell>, rx: Rx<Envelope<S>>, ctx: Ctx<S>) -> Self {
        Core {
            cell,
            rx,
            state: None,
            finished: false,
            ctx,
            dying_reply: None,
            run: Default::default(),
        }
    }

    /// Record the exit (reason first, so callers whose requests are dropped see it), then drop
    /// what is queued, then the state.
    pub(super) fn finish(&mut self, reason: ExitReason) {
        if self.finished {
            return;
        }
        self.finished = true;
        // A batch cut short (an aborted task) still adds up what it handled.
        if self.cell.shared.instrument {
            crate::msg_types::flush(&self.cell, &mut self.run);
        }
        // Close first and count what is really queued, holding it until the exit is recorded
        // (so callers whose requests are dropped see why). Reading the mailbox length instead
        // raced with senders between their count and their push: such a message was counted
        // twice (dropped here, then a dead letter) or not at all. Found by the crash storm in
        // tests/tests/guarantees.rs. The close never waits: senders blocked for room under
        // `Overflow::Wait` are woken and refused (their casts become dead letters).
        let queued = self.rx.close_and_take();
        self.cell.finish(reason, queued.len() as u64);
        if self.cell.traced.load(std::sync::atomic::Ordering::Relaxed) {
            crate::trace::exited(&self.cell);
        }
        self.dying_reply = None;
        self.ctx.reply = None;
        drop(queued);
        drop(self.cell.sys.close_and_take());
        self.state = None;
    }
}

impl<S: GenServer> Drop for Core<S> {
    fn drop(&mut self) {
        self.finish(ExitReason::Killed);
    }
}
