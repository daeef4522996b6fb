//! `Task`: run one future as a process and await its result (Elixir's `Task.async`/`await`).
//! A task is a process like any other, so a slow task shows in the observer.

use crate::spawn::SpawnOpts;
use crate::{Ctx, ExitReason, GenServer, InitError, Next, Runtime, ServerRef, StartError};
use beamline_wire::Pid;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::oneshot;

type Job<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The process behind a [`Task`].
pub struct TaskServer<T: Send + 'static> {
    job: Option<(Job<T>, oneshot::Sender<T>)>,
}

/// Starts the job as soon as the task's init returns.
pub struct Run;

impl<T: Send + 'static> GenServer for TaskServer<T> {
    type Args = (Job<T>, oneshot::Sender<T>);
    type Call = ();
    type Reply = ();
    type Cast = Run;
    type Info = ();

    async fn init(args: Self::Args, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        let _ = ctx.myself().try_cast(Run);
        Ok(TaskServer { job: Some(args) })
    }

    async fn handle_cast(&mut self, _run: Run, _ctx: &mut Ctx<Self>) -> Next {
        if let Some((job, tx)) = self.job.take() {
            let _ = tx.send(job.await);
        }
        Next::stop(ExitReason::Normal)
    }
}

/// Why awaiting a task gave no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// Not finished within the timeout; the task keeps running.
    #[error("task did not finish within {0:?}")]
    Timeout(Duration),
    /// The task process exited without a result (it panicked or was killed).
    #[error("task exited: {0}")]
    Exited(ExitReason),
    /// Only the process that started a task may await it.
    #[error("only the process that started the task may await it")]
    NotOwner,
}

/// A running task; await it with [`Task::await_timeout`].
pub struct Task<T: Send + 'static> {
    server: ServerRef<TaskServer<T>>,
    owner: Option<Pid>,
    rx: Option<oneshot::Receiver<T>>,
}

impl<T: Send + 'static> Task<T> {
    /// Run `fut` in a new task process, owned by the calling process.
    pub async fn start(
        rt: &Runtime,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<Self, StartError> {
        let (tx, rx) = oneshot::channel();
        let server = rt
            .start_with::<TaskServer<T>>(
                (Box::pin(fut), tx),
                SpawnOpts::new().kind(beamline_wire::ProcessKind::Task),
            )
            .await?;
        Ok(Task {
            server,
            owner: crate::self_pid(),
            rx: Some(rx),
        })
    }

    /// The task's pid.
    pub fn pid(&self) -> Pid {
        self.server.pid()
    }

    /// Wait for the result, at most `timeout` (Elixir's default is 5 s). On timeout the task
    /// keeps running and can be awaited again.
    ///
    /// Cancel safety: cancel safe; the result stays available for a later await.
    pub async fn await_timeout(&mut self, timeout: Duration) -> Result<T, TaskError> {
        if crate::self_pid() != self.owner {
            return Err(TaskError::NotOwner);
        }
        let rx = self
            .rx
            .as_mut()
            .ok_or(TaskError::Exited(ExitReason::NoProcess))?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => {
                self.rx = None;
                Ok(v)
            }
            Ok(Err(_)) => {
                self.rx = None;
                Err(TaskError::Exited(self.server.process().wait().await))
            }
            Err(_) => Err(TaskError::Timeout(timeout)),
        }
    }
}
