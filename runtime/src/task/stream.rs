//! `async_stream`: run a function over the items of an iterator, each call in its own task,
//! with bounded concurrency (Elixir's `Task.async_stream`).

use super::{Task, TaskError, start_task};
use crate::Runtime;
use crate::spawn::SpawnOpts;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::iter::Fuse;
use std::task::Poll;
use std::time::Duration;
use tokio::time::Instant;

/// What happens when an item's task runs past its timeout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StreamOnTimeout {
    /// The stream gives `Err(Timeout)` for that item and then ends, its other tasks killed
    /// (Elixir's default `:exit` exits the caller instead).
    #[default]
    Exit,
    /// Kill that task and give `Err(Timeout)` for its item; the stream goes on
    /// (Elixir's `:kill_task`).
    KillTask,
}

/// Options of [`Task::async_stream`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamOpts {
    max_concurrency: usize,
    ordered: bool,
    timeout: Duration,
    on_timeout: StreamOnTimeout,
}

impl Default for StreamOpts {
    fn default() -> Self {
        StreamOpts {
            max_concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ordered: true,
            timeout: Duration::from_secs(5),
            on_timeout: StreamOnTimeout::Exit,
        }
    }
}

impl StreamOpts {
    /// Elixir's defaults: one task per core, ordered, 5 s per item, exit on timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most this many tasks at a time (at least 1).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n;
        self
    }

    /// Results in the order of the items (default) or as they finish.
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// How long each item's task may run, from its start (`Duration::MAX`: no limit).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What a timeout does.
    pub fn on_timeout(mut self, on_timeout: StreamOnTimeout) -> Self {
        self.on_timeout = on_timeout;
        self
    }
}

struct Running<T: Send + 'static> {
    index: usize,
    task: Task<T>,
    deadline: Option<Instant>,
}

/// The results of [`Task::async_stream`], pulled with [`TaskStream::next`]. Tasks start as
/// results are pulled, at most `max_concurrency` at a time, each linked to the caller.
/// Dropping the stream kills the tasks still running (unlinked first), so none is leaked.
pub struct TaskStream<I: Iterator, F, T: Send + 'static> {
    rt: Runtime,
    items: Fuse<I>,
    f: F,
    opts: StreamOpts,
    running: Vec<Running<T>>,
    /// Finished results waiting for their turn (ordered) ...
    by_index: BTreeMap<usize, Result<T, TaskError>>,
    /// ... or in finishing order (unordered).
    in_order: VecDeque<Result<T, TaskError>>,
    started: usize,
    emitted: usize,
    /// Set after an `Exit` timeout: nothing more comes.
    ended: bool,
}

impl<T: Send + 'static> Task<T> {
    /// Run `f` on every item, each call in its own task linked to the caller (Elixir's
    /// `Task.async_stream`). Each result is `Ok(value)`, `Err(Exited(reason))` when that task
    /// exited without one, or `Err(Timeout)` when it ran past the timeout.
    /// `Err(Invalid)` when `max_concurrency` is 0 or the timeout is zero.
    pub fn async_stream<I, F, Fut>(
        rt: &Runtime,
        items: I,
        f: F,
        opts: StreamOpts,
    ) -> Result<TaskStream<I::IntoIter, F, T>, TaskError>
    where
        I: IntoIterator,
        F: FnMut(I::Item) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        if opts.max_concurrency == 0 {
            return Err(TaskError::Invalid(
                "max_concurrency must be greater than zero",
            ));
        }
        if opts.timeout.is_zero() {
            return Err(TaskError::Invalid("the timeout must be longer than zero"));
        }
        Ok(TaskStream {
            rt: rt.clone(),
            items: items.into_iter().fuse(),
            f,
            opts,
            running: Vec::new(),
            by_index: BTreeMap::new(),
            in_order: VecDeque::new(),
            started: 0,
            emitted: 0,
            ended: false,
        })
    }
}

impl<I, F, Fut, T> TaskStream<I, F, T>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    /// The next result, or `None` when every item has been handled.
    ///
    /// Cancel safety: cancel safe while waiting for tasks; dropping it while a task is being
    /// started loses that item (its task ends `killed`).
    pub async fn next(&mut self) -> Option<Result<T, TaskError>> {
        loop {
            if let Some(r) = self.take_ready() {
                return Some(r);
            }
            if self.ended {
                return None;
            }
            while self.running.len() < self.opts.max_concurrency {
                let Some(item) = self.items.next() else { break };
                let index = self.started;
                self.started += 1;
                let job = Box::pin((self.f)(item));
                match start_task(&self.rt, job, true, SpawnOpts::new()).await {
                    Ok(task) => self.running.push(Running {
                        index,
                        task,
                        deadline: Instant::now().checked_add(self.opts.timeout),
                    }),
                    Err(e) => self.finish(index, Err(TaskError::NotStarted(e.to_string()))),
                }
            }
            if self.running.is_empty() {
                if let Some(r) = self.take_ready() {
                    return Some(r);
                }
                return None;
            }
            self.wait_one().await;
        }
    }

    fn take_ready(&mut self) -> Option<Result<T, TaskError>> {
        if self.opts.ordered {
            let r = self.by_index.remove(&self.emitted)?;
            self.emitted += 1;
            Some(r)
        } else {
            self.in_order.pop_front()
        }
    }

    fn finish(&mut self, index: usize, result: Result<T, TaskError>) {
        if self.opts.ordered {
            self.by_index.insert(index, result);
        } else {
            self.in_order.push_back(result);
        }
    }

    /// Wait until one running task finishes or reaches its deadline.
    async fn wait_one(&mut self) {
        let earliest = self.running.iter().filter_map(|r| r.deadline).min();
        let mut sleep = earliest.map(|d| Box::pin(tokio::time::sleep_until(d)));
        let running = &mut self.running;
        let (i, outcome) = std::future::poll_fn(|cx| {
            for (i, r) in running.iter_mut().enumerate() {
                if let Poll::Ready(out) = r.task.poll_outcome(cx) {
                    return Poll::Ready((i, Some(out)));
                }
            }
            if let Some(s) = sleep.as_mut()
                && s.as_mut().poll(cx).is_ready()
            {
                let now = Instant::now();
                if let Some(i) = running
                    .iter()
                    .position(|r| r.deadline.is_some_and(|d| d <= now))
                {
                    return Poll::Ready((i, None));
                }
            }
            Poll::Pending
        })
        .await;
        let mut done = self.running.swap_remove(i);
        match outcome {
            Some(out) => self.finish(done.index, out.map_err(TaskError::Exited)),
            None => {
                done.task.kill_now();
                let timeout = Err(TaskError::Timeout(self.opts.timeout));
                if self.opts.on_timeout == StreamOnTimeout::Exit {
                    self.kill_running();
                    self.ended = true;
                    // Given next, ahead of anything still buffered.
                    self.by_index.clear();
                    self.in_order.clear();
                    self.by_index.insert(self.emitted, timeout);
                    self.in_order
                        .push_back(Err(TaskError::Timeout(self.opts.timeout)));
                } else {
                    self.finish(done.index, timeout);
                }
            }
        }
    }

    fn kill_running(&mut self) {
        for mut r in self.running.drain(..) {
            r.task.kill_now();
        }
    }
}

impl<I: Iterator, F, T: Send + 'static> Drop for TaskStream<I, F, T> {
    fn drop(&mut self) {
        for r in &mut self.running {
            r.task.kill_now();
        }
    }
}
