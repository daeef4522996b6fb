//! The process behind every task: it runs one future on its own task and stops.
//!
//! The future runs inside a callback, so the process counts as busy while it works (the
//! observer shows a slow task as busy, not idle) and `self_pid()` inside it is the task's own
//! pid. A callback normally keeps system messages waiting until it returns; a task's future may
//! run for long, so whenever it is pending and a system message (an exit signal from its linked
//! owner, a stop, a kill before its task existed) is queued, the callback parks the future in
//! the state and returns. The loop then handles the system message first, which may end the
//! process (dropping the future), and the queued `Run` resumes the future otherwise.

use crate::process::ProcessCell;
use crate::{Ctx, ExitReason, GenServer, InitError, Next};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::oneshot;

/// A task's work, boxed so that one process type serves every future of the same output.
pub(crate) type Job<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What a task process starts with.
pub struct TaskArgs<T: Send + 'static> {
    pub(crate) job: Job<T>,
    /// Where the result goes; `None` for tasks nobody awaits (`spawn`, supervised children).
    pub(crate) reply: Option<oneshot::Sender<T>>,
    /// The process to link to before the future first runs (Elixir links a task to its
    /// caller). Linking from inside the task means an owner that died before the task got
    /// going still ends it (`noproc`), as in OTP.
    pub(crate) link_to: Option<Arc<ProcessCell>>,
}

/// The process behind a [`crate::Task`]. Its state holds the future and the reply handle, so
/// both are dropped only after the exit reason is recorded: an awaiting owner that sees the
/// reply handle gone always finds the reason.
pub struct TaskServer<T: Send + 'static> {
    job: Option<Job<T>>,
    reply: Option<oneshot::Sender<T>>,
}

/// Run (or resume) the future.
pub struct Run;

impl<T: Send + 'static> GenServer for TaskServer<T> {
    type Args = TaskArgs<T>;
    type Call = ();
    type Reply = ();
    type Cast = Run;
    type Info = ();

    async fn init(args: TaskArgs<T>, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        if let Some(owner) = &args.link_to {
            ctx.myself().cell.link(owner);
        }
        let _ = ctx.myself().try_cast(Run);
        Ok(TaskServer {
            job: Some(args.job),
            reply: args.reply,
        })
    }

    async fn handle_cast(&mut self, _run: Run, ctx: &mut Ctx<Self>) -> Next {
        let Some(job) = self.job.as_mut() else {
            return Next::stop(ExitReason::Normal);
        };
        let cell = ctx.myself().cell.clone();
        let done = std::future::poll_fn(|cx| {
            if let Poll::Ready(v) = job.as_mut().poll(cx) {
                return Poll::Ready(Some(v));
            }
            if cell.sys.poll_any(cx, |_| true) {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        match done {
            Some(value) => {
                self.job = None;
                if let Some(tx) = self.reply.take() {
                    let _ = tx.send(value);
                }
                Next::stop(ExitReason::Normal)
            }
            None => {
                // A system message waits: let the loop handle it, then carry on.
                let _ = ctx.myself().try_cast(Run);
                Next::noreply()
            }
        }
    }
}
