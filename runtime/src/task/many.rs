//! Waiting on several tasks at once: `await_many` and `yield_many`.

use super::{Task, TaskError};
use crate::supervisor::Shutdown;
use crate::wait_edge::WaitEdge;
use beamline_wire::Pid;
use std::task::Poll;
use std::time::Duration;

/// What `yield_many` does with the tasks still running when its timeout runs out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnTimeout {
    /// Leave them running and awaitable (Elixir's `:nothing`, the default).
    #[default]
    Nothing,
    /// Leave them running, unlinked, their results discarded (Elixir's `:ignore`).
    Ignore,
    /// Kill them (Elixir's `:kill_task`, a brutal shutdown).
    KillTask,
}

/// Options of [`Task::yield_many`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YieldMany {
    timeout: Duration,
    limit: Option<usize>,
    on_timeout: OnTimeout,
}

impl Default for YieldMany {
    fn default() -> Self {
        YieldMany {
            timeout: Duration::from_secs(5),
            limit: None,
            on_timeout: OnTimeout::Nothing,
        }
    }
}

impl YieldMany {
    /// Elixir's defaults: 5 s, no limit, leave late tasks alone.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long to wait in all (`Duration::MAX` waits for ever).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Return as soon as this many tasks have replied or exited.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// What to do with tasks still running at the timeout (not when the limit is reached).
    pub fn on_timeout(mut self, on_timeout: OnTimeout) -> Self {
        self.on_timeout = on_timeout;
        self
    }
}

impl<T: Send + 'static> Task<T> {
    /// Await every task, for at most `timeout` in all, and return the results in the order of
    /// `tasks` whatever order they finish in (Elixir's `Task.await_many`). Fails as soon as any
    /// task exits without a result, or at the timeout. On failure the other tasks are killed:
    /// Elixir exits the caller, which takes its linked tasks down with it.
    pub async fn await_many(
        mut tasks: Vec<Task<T>>,
        timeout: Duration,
    ) -> Result<Vec<T>, TaskError> {
        if let Some(t) = tasks.iter().find(|t| t.check_owner().is_err()) {
            t.check_owner()?;
        }
        let mut results: Vec<Option<T>> = tasks.iter().map(|_| None).collect();
        let mut left = tasks.len();
        let edge = waiting_edge(&tasks);
        let all = std::future::poll_fn(|cx| {
            let mut first_pending = None;
            for (task, slot) in tasks.iter_mut().zip(results.iter_mut()) {
                if slot.is_some() {
                    continue;
                }
                match task.poll_outcome(cx) {
                    Poll::Ready(Ok(v)) => {
                        *slot = Some(v);
                        left -= 1;
                    }
                    Poll::Ready(Err(reason)) => return Poll::Ready(Err(reason)),
                    Poll::Pending => first_pending = first_pending.or(task.pid()),
                }
            }
            retarget(&edge, first_pending);
            if left == 0 {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        });
        let failure = match tokio::time::timeout(timeout, all).await {
            Ok(Ok(())) => None,
            Ok(Err(reason)) => Some(TaskError::Exited(reason)),
            Err(_) => Some(TaskError::Timeout(timeout)),
        };
        drop(edge);
        if let Some(e) = failure {
            for t in &mut tasks {
                t.kill_now();
            }
            return Err(e);
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// Wait for several tasks at once, at most `opts.timeout` in all (Elixir's
    /// `Task.yield_many`). One entry per task, in the order given: `Ok(Some(value))`,
    /// `Err(Exited(reason))`, or `Ok(None)` for a task that had not finished (with
    /// [`OnTimeout::KillTask`], the result of its brutal shutdown). A task not owned by the
    /// caller gets `Err(NotOwner)` and is left alone. With a limit, returns once that many
    /// tasks have finished; the rest are left running whatever `on_timeout` says.
    ///
    /// Cancel safety: cancel safe while waiting; results already collected stay in their
    /// tasks only if the future had not yet returned them.
    pub async fn yield_many(
        tasks: &mut [Task<T>],
        opts: YieldMany,
    ) -> Vec<Result<Option<T>, TaskError>> {
        let mut out: Vec<Option<Result<Option<T>, TaskError>>> = tasks
            .iter()
            .map(|t| t.check_owner().err().map(Err))
            .collect();
        let limit = opts.limit.unwrap_or(usize::MAX);
        let mut got = 0usize;
        let edge = waiting_edge(tasks);
        let wait = std::future::poll_fn(|cx| {
            let mut first_pending = None;
            for (task, slot) in tasks.iter_mut().zip(out.iter_mut()) {
                if got >= limit {
                    break;
                }
                if slot.is_some() {
                    continue;
                }
                match task.poll_outcome(cx) {
                    Poll::Ready(r) => {
                        *slot = Some(r.map(Some).map_err(TaskError::Exited));
                        got += 1;
                    }
                    Poll::Pending => first_pending = first_pending.or(task.pid()),
                }
            }
            retarget(&edge, first_pending);
            let pending = out.iter().any(Option::is_none);
            if got >= limit || !pending {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        let timed_out = tokio::time::timeout(opts.timeout, wait).await.is_err();
        drop(edge);
        for (task, slot) in tasks.iter_mut().zip(out.iter_mut()) {
            if slot.is_some() {
                continue;
            }
            *slot = Some(match opts.on_timeout {
                OnTimeout::KillTask if timed_out => task.shutdown_in_place().await,
                OnTimeout::Ignore if timed_out => {
                    task.unlink();
                    task.rx = None;
                    Ok(None)
                }
                _ => Ok(None),
            });
        }
        out.into_iter().flatten().collect()
    }

    /// A brutal [`Task::shutdown`] through a borrow; the task is spent afterwards.
    async fn shutdown_in_place(&mut self) -> Result<Option<T>, TaskError> {
        let spent = Task {
            cell: self.cell.clone(),
            owner: self.owner,
            linked: self.linked.take(),
            rx: self.rx.take(),
        };
        spent.shutdown(Shutdown::Brutal).await
    }
}

/// The owner waits on the first of `tasks` that has a process, in the wait-for graph; the edge
/// moves to the first still pending as results come in (see [`retarget`]).
fn waiting_edge<T: Send + 'static>(tasks: &[Task<T>]) -> Option<WaitEdge> {
    tasks
        .iter()
        .find_map(|t| t.cell.as_deref())
        .and_then(WaitEdge::on)
}

fn retarget(edge: &Option<WaitEdge>, first_pending: Option<Pid>) {
    if let (Some(edge), Some(pid)) = (edge, first_pending) {
        edge.retarget(pid);
    }
}
