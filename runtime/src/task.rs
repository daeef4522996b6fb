//! `Task`: run one future as a process and collect its result (Elixir's `Task`).
//!
//! A task is a process like any other (kind `task`), so a slow one shows in the observer as
//! busy. Elixir's functions map to these (`async` and `await` are Rust keywords):
//!
//! | Elixir | Beamline |
//! |---|---|
//! | `Task.async(fun)` | [`Task::start`]: linked to the caller, awaitable |
//! | `Task.Supervisor.async_nolink` without a supervisor | [`Task::start_nolink`] |
//! | `Task.start(fun)` / `Task.start_link(fun)` | [`Task::spawn`] / [`Task::spawn_link`]: nobody awaits |
//! | `Task.completed(value)` | [`Task::completed`] |
//! | `Task.await(task, t)` | [`Task::await_timeout`] |
//! | `Task.yield(task, t)` | [`Task::yield_timeout`] |
//! | `Task.ignore(task)` / `Task.shutdown(task, how)` | [`Task::ignore`] / [`Task::shutdown`] |
//! | `Task.await_many` / `Task.yield_many` | [`Task::await_many`] / [`Task::yield_many`] |
//! | `Task.async_stream` | [`Task::async_stream`] |
//! | `{Task, fun}` as a child | [`crate::supervisor::ChildSpec::task`] |
//! | `Task.Supervisor` | [`TaskSupervisor`] |
//!
//! Where Elixir exits the caller (await timing out, a task crashing during `await`), Beamline
//! returns a [`TaskError`]; the link still takes a non-trapping owner down when a linked task
//! crashes, as in Elixir.

mod many;
mod server;
mod stream;
mod supervisor;

pub use many::{OnTimeout, YieldMany};
pub use server::{Run, TaskArgs, TaskServer};
pub use stream::{StreamOnTimeout, StreamOpts, TaskStream};
pub use supervisor::{TaskOpts, TaskSupervisor};

use crate::process::{ProcessCell, Sys};
use crate::spawn::SpawnOpts;
use crate::supervisor::Shutdown;
use crate::wait_edge::WaitEdge;
use crate::{ExitReason, ProcessRef, Runtime, StartError, current};
use beamline_wire::{Pid, ProcessKind};
use server::Job;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::oneshot;

/// Why a task gave no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// Not finished within the timeout. After [`Task::await_timeout`] the task keeps running and
    /// can be awaited again; elsewhere see the function's docs.
    #[error("task did not finish within {0:?}")]
    Timeout(Duration),
    /// The task process exited without a result (it panicked, was killed or stopped), or its
    /// result was already taken (`noproc`).
    #[error("task exited: {0}")]
    Exited(ExitReason),
    /// Only the process that started a task may await, yield, ignore or shut it down.
    #[error("only the process that started the task may await it")]
    NotOwner,
    /// The task could not be started (the runtime is shutting down, a supervisor refused it).
    #[error("task not started: {0}")]
    NotStarted(String),
    /// An option was out of range (e.g. `max_concurrency` 0).
    #[error("invalid task option: {0}")]
    Invalid(&'static str),
}

/// A running (or completed) task owned by the process that started it; collect its result
/// with [`Task::await_timeout`], [`Task::yield_timeout`] or [`Task::shutdown`]. Dropping it
/// leaves the task running and discards its result.
pub struct Task<T: Send + 'static> {
    /// `None` for [`Task::completed`].
    cell: Option<Arc<ProcessCell>>,
    owner: Option<Pid>,
    /// The owner it is linked to, to unlink before a shutdown or an ignore.
    linked: Option<Arc<ProcessCell>>,
    /// `None` once the result was taken, or the task ignored.
    rx: Option<oneshot::Receiver<T>>,
}

impl<T: Send + 'static> std::fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Task({:?})", self.pid())
    }
}

/// Start a task process running `job`; `link` links it to the calling process.
pub(crate) async fn start_task<T: Send + 'static>(
    rt: &Runtime,
    job: Job<T>,
    link: bool,
    opts: SpawnOpts,
) -> Result<Task<T>, StartError> {
    let (tx, rx) = oneshot::channel();
    let me = current::with(|c| c.clone());
    let linked = if link { me.clone() } else { None };
    let args = TaskArgs {
        job,
        reply: Some(tx),
        link_to: linked.clone(),
    };
    let server = rt
        .start_with::<TaskServer<T>>(args, opts.kind(ProcessKind::Task))
        .await?;
    Ok(Task::from_parts(server.cell.clone(), linked, rx))
}

impl<T: Send + 'static> Task<T> {
    pub(crate) fn from_parts(
        cell: Arc<ProcessCell>,
        linked: Option<Arc<ProcessCell>>,
        rx: oneshot::Receiver<T>,
    ) -> Self {
        Task {
            cell: Some(cell),
            owner: current::self_pid(),
            linked,
            rx: Some(rx),
        }
    }

    /// Run `fut` in a new task process linked to the caller (Elixir's `Task.async`): if the
    /// task crashes, a caller that does not trap exits crashes too; a trapping one receives
    /// [`crate::Info::Exit`]. If the caller crashes, the task is stopped. Outside a process
    /// there is nothing to link to.
    pub async fn start(
        rt: &Runtime,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<Self, StartError> {
        start_task(rt, Box::pin(fut), true, SpawnOpts::new()).await
    }

    /// Like [`Task::start`] but not linked: a crash reaches the owner only as the result.
    pub async fn start_nolink(
        rt: &Runtime,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<Self, StartError> {
        start_task(rt, Box::pin(fut), false, SpawnOpts::new()).await
    }

    /// A task that is already done with `value` and has no process (Elixir's
    /// `Task.completed`), for code that takes tasks when the answer is known.
    pub fn completed(value: T) -> Self {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(value);
        Task {
            cell: None,
            owner: current::self_pid(),
            linked: None,
            rx: Some(rx),
        }
    }

    /// The task's pid; `None` for a [`Task::completed`].
    pub fn pid(&self) -> Option<Pid> {
        self.cell.as_ref().map(|c| c.pid)
    }

    /// The task's process, for links, monitors and stats; `None` for a [`Task::completed`].
    pub fn process(&self) -> Option<ProcessRef> {
        self.cell.as_ref().map(|cell| ProcessRef {
            cell: cell.clone(),
            typed: None,
        })
    }

    fn check_owner(&self) -> Result<(), TaskError> {
        if current::self_pid() == self.owner {
            Ok(())
        } else {
            Err(TaskError::NotOwner)
        }
    }

    /// The result if it is there: `Ok(value)`, or `Err(reason)` when the process exited
    /// without one. A task whose result was already taken never answers (as in Elixir, where
    /// its monitor is gone).
    fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, ExitReason>> {
        let Some(rx) = self.rx.as_mut() else {
            return Poll::Pending;
        };
        let out = match std::pin::Pin::new(rx).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(v)) => Ok(v),
            // The reply handle goes only after the exit reason is recorded (see TaskServer).
            Poll::Ready(Err(_)) => Err(self.exit_reason()),
        };
        self.rx = None;
        Poll::Ready(out)
    }

    fn exit_reason(&self) -> ExitReason {
        self.cell
            .as_ref()
            .and_then(|c| c.exit.get().cloned())
            .unwrap_or(ExitReason::NoProcess)
    }

    /// Take the result if it is already there, without waiting.
    fn try_outcome(&mut self) -> Option<Result<T, ExitReason>> {
        let waker = std::task::Waker::noop();
        match self.poll_outcome(&mut Context::from_waker(waker)) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }

    /// Wait at most `timeout` for the result. On timeout the task keeps running and can be
    /// awaited again (Elixir exits the caller instead; drop the task or shut it down to
    /// give up). A task that exited without a result gives [`TaskError::Exited`].
    ///
    /// While it waits, the owner waits on the task in the wait-for graph, as in a call: a task
    /// that calls back into its awaiting owner is a deadlock the observer sees.
    ///
    /// Cancel safety: cancel safe; the result stays available for a later await.
    pub async fn await_timeout(&mut self, timeout: Duration) -> Result<T, TaskError> {
        self.check_owner()?;
        let _edge = self.cell.as_deref().and_then(WaitEdge::on);
        let outcome = std::future::poll_fn(|cx| self.poll_outcome(cx));
        match tokio::time::timeout(timeout, outcome).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(reason)) => Err(TaskError::Exited(reason)),
            Err(_) => Err(TaskError::Timeout(timeout)),
        }
    }

    /// Wait at most `timeout` (Elixir's `Task.yield`): `Ok(Some(value))` when it replied,
    /// `Ok(None)` when it is still running (it keeps running), `Err(Exited(reason))` when it
    /// exited without a result.
    ///
    /// Cancel safety: cancel safe.
    pub async fn yield_timeout(&mut self, timeout: Duration) -> Result<Option<T>, TaskError> {
        match self.await_timeout(timeout).await {
            Ok(v) => Ok(Some(v)),
            Err(TaskError::Timeout(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stop caring about the task (Elixir's `Task.ignore`): it keeps running, unlinked, and
    /// its result is discarded. Returns what had already arrived: `Ok(Some(value))`,
    /// `Err(Exited(reason))` if it had exited, `Ok(None)` otherwise.
    pub fn ignore(mut self) -> Result<Option<T>, TaskError> {
        self.check_owner()?;
        let out = self.try_outcome();
        if !matches!(out, Some(Err(_))) {
            self.unlink();
        }
        self.rx = None;
        match out {
            Some(Ok(v)) => Ok(Some(v)),
            Some(Err(reason)) => Err(TaskError::Exited(reason)),
            None => Ok(None),
        }
    }

    fn unlink(&self) {
        if let (Some(owner), Some(cell)) = (&self.linked, &self.cell) {
            owner.unlink(cell);
        }
    }

    /// Unlink and shut the task down, then report (Elixir's `Task.shutdown`):
    /// - `Ok(Some(value))`: it had replied;
    /// - `Ok(None)`: it was shut down by this call (with [`Shutdown::Timeout`] or
    ///   [`Shutdown::Infinity`] it stopped with `shutdown`; with [`Shutdown::Brutal`] it was
    ///   killed);
    /// - `Err(Exited(reason))`: it exited on its own, or did not stop within the timeout and
    ///   was killed (`killed`), or its result was already taken (`noproc`).
    ///
    /// A stop request stands in for Elixir's `shutdown` exit signal: a task cannot trap exits,
    /// so both end it with `shutdown` as soon as its future is waiting; a future that never
    /// yields is killed when the timeout runs out.
    ///
    /// Cancel safety: the shutdown is requested at once; dropping the future only stops
    /// waiting (and the kill after the timeout does not happen).
    pub async fn shutdown(mut self, how: Shutdown) -> Result<Option<T>, TaskError> {
        self.check_owner()?;
        let Some(cell) = self.cell.clone() else {
            return self.ignore();
        };
        if self.rx.is_none() {
            return Err(TaskError::Exited(ExitReason::NoProcess));
        }
        self.unlink();
        let _edge = WaitEdge::on(&cell);
        let reason = match how {
            Shutdown::Brutal => {
                cell.kill();
                cell.wait_exit().await
            }
            Shutdown::Infinity => {
                cell.send_sys(Sys::Stop(ExitReason::Shutdown));
                cell.wait_exit().await
            }
            Shutdown::Timeout(t) => {
                cell.send_sys(Sys::Stop(ExitReason::Shutdown));
                match tokio::time::timeout(t, cell.wait_exit()).await {
                    Ok(r) => r,
                    Err(_) => {
                        cell.kill();
                        cell.wait_exit().await
                    }
                }
            }
        };
        if let Some(Ok(v)) = self.try_outcome() {
            return Ok(Some(v));
        }
        let ours = match how {
            Shutdown::Brutal => ExitReason::Killed,
            _ => ExitReason::Shutdown,
        };
        if reason == ours {
            Ok(None)
        } else {
            Err(TaskError::Exited(reason))
        }
    }

    /// Unlink and kill at once, without waiting (a stream dropped, `await_many` giving up).
    pub(crate) fn kill_now(&mut self) {
        self.unlink();
        if let Some(cell) = &self.cell {
            cell.kill();
        }
        self.rx = None;
    }
}

impl Task<()> {
    /// Run `fut` in a task process nobody awaits, not linked (Elixir's `Task.start`).
    pub async fn spawn(
        rt: &Runtime,
        fut: impl Future<Output = ()> + Send + 'static,
    ) -> Result<ProcessRef, StartError> {
        spawn_task(rt, Box::pin(fut), false).await
    }

    /// Run `fut` in a task process nobody awaits, linked to the caller (Elixir's
    /// `Task.start_link`).
    pub async fn spawn_link(
        rt: &Runtime,
        fut: impl Future<Output = ()> + Send + 'static,
    ) -> Result<ProcessRef, StartError> {
        spawn_task(rt, Box::pin(fut), true).await
    }
}

async fn spawn_task(rt: &Runtime, job: Job<()>, link: bool) -> Result<ProcessRef, StartError> {
    let args = TaskArgs {
        job,
        reply: None,
        link_to: if link {
            current::with(|c| c.clone())
        } else {
            None
        },
    };
    rt.start_with::<TaskServer<()>>(args, SpawnOpts::new().kind(ProcessKind::Task))
        .await
        .map(|s| s.process())
}
