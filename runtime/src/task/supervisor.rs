//! Tasks under supervision: [`ChildSpec::task`] (Elixir's `{Task, fun}` child) and
//! [`TaskSupervisor`] (Elixir's `Task.Supervisor`), built on [`DynamicSupervisor`].

use super::server::{Job, TaskArgs, TaskServer};
use super::{Task, TaskError};
use crate::supervisor::{
    ChildKind, ChildSpec, Counts, DynamicSupervisor, DynamicSupervisorSpec, Restart, Shutdown,
    SupervisorError,
};
use crate::{CallError, ExitReason, ProcessRef, Runtime, StartError, current};
use beamline_wire::{Pid, ProcessKind};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

impl ChildSpec {
    /// A task as a supervised child (Elixir's `{Task, fun}`): `make` gives the future for each
    /// start. Temporary by default (a task that ends is not restarted), 5 s shutdown; change
    /// either with [`ChildSpec::restart`] and [`ChildSpec::shutdown`]. A transient task is
    /// restarted only if it crashed.
    pub fn task<F, Fut>(id: impl Into<String>, make: F) -> ChildSpec
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let make = Arc::new(make);
        ChildSpec::custom(id, ChildKind::Worker, move |args| {
            let job: Job<()> = Box::pin(make());
            Box::pin(async move {
                let args_ = TaskArgs {
                    job,
                    reply: None,
                    link_to: None,
                };
                args.rt
                    .start_with::<TaskServer<()>>(args_, args.opts.kind(ProcessKind::Task))
                    .await
                    .map(|s| s.process())
            })
        })
        .restart(Restart::Temporary)
    }
}

/// Per-task options of a [`TaskSupervisor`] (Elixir's `:restart` and `:shutdown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskOpts {
    restart: Restart,
    shutdown: Shutdown,
}

impl Default for TaskOpts {
    fn default() -> Self {
        TaskOpts {
            restart: Restart::Temporary,
            shutdown: Shutdown::Timeout(Duration::from_secs(5)),
        }
    }
}

impl TaskOpts {
    /// Temporary, 5 s shutdown.
    pub fn new() -> Self {
        Self::default()
    }

    /// For [`TaskSupervisor::start_child`] only: awaited tasks are always temporary.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// How the supervisor stops the task when it shuts down.
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }
}

/// A supervisor of tasks (Elixir's `Task.Supervisor`): a [`DynamicSupervisor`] whose children
/// are task processes. Tasks started here are the supervisor's children (shut down with it,
/// listed in the observer under it) and, for [`TaskSupervisor::start_task`], also linked to
/// and awaited by the caller.
#[derive(Clone, Debug)]
pub struct TaskSupervisor {
    sup: DynamicSupervisor,
    opts: TaskOpts,
}

impl TaskSupervisor {
    /// Start one. `spec` carries `max_children`, the restart intensity and a name.
    pub async fn start(rt: &Runtime, spec: DynamicSupervisorSpec) -> Result<Self, StartError> {
        Ok(TaskSupervisor {
            sup: DynamicSupervisor::start(rt, spec).await?,
            opts: TaskOpts::default(),
        })
    }

    /// A child spec that runs a task supervisor inside a tree.
    pub fn child_spec(id: impl Into<String>, spec: DynamicSupervisorSpec) -> ChildSpec {
        DynamicSupervisor::child_spec(id, spec)
    }

    /// Find a task supervisor by name (e.g. one started by [`TaskSupervisor::child_spec`]).
    pub fn whereis(rt: &Runtime, name: impl Into<crate::Name>) -> Option<Self> {
        DynamicSupervisor::whereis(rt, name).map(|sup| TaskSupervisor {
            sup,
            opts: TaskOpts::default(),
        })
    }

    /// The same supervisor, starting tasks with these options.
    pub fn with(&self, opts: TaskOpts) -> Self {
        TaskSupervisor {
            sup: self.sup.clone(),
            opts,
        }
    }

    /// The underlying dynamic supervisor.
    pub fn supervisor(&self) -> &DynamicSupervisor {
        &self.sup
    }

    /// Its pid.
    pub fn pid(&self) -> Pid {
        self.sup.pid()
    }

    /// Run `fut` as a child, linked to the caller and awaitable (Elixir's
    /// `Task.Supervisor.async`). [`TaskError::NotStarted`] at `max_children`.
    pub async fn start_task<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<Task<T>, TaskError> {
        self.awaitable(Box::pin(fut), true).await
    }

    /// Run `fut` as a child, awaitable but not linked to the caller (Elixir's
    /// `Task.Supervisor.async_nolink`): a crash reaches the caller only as the result.
    pub async fn start_task_nolink<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<Task<T>, TaskError> {
        self.awaitable(Box::pin(fut), false).await
    }

    async fn awaitable<T: Send + 'static>(
        &self,
        job: Job<T>,
        link: bool,
    ) -> Result<Task<T>, TaskError> {
        let (tx, rx) = oneshot::channel();
        let linked = if link {
            current::with(|c| c.clone())
        } else {
            None
        };
        // A start function may be called again for a restart; an awaited task is temporary,
        // so it runs once and a second call finds nothing.
        let once = Arc::new(Mutex::new(Some(TaskArgs {
            job,
            reply: Some(tx),
            link_to: linked.clone(),
        })));
        let spec = ChildSpec::custom("task", ChildKind::Worker, move |args| {
            let taken = once.lock().unwrap_or_else(|p| p.into_inner()).take();
            Box::pin(async move {
                let Some(task_args) = taken else {
                    return Err(StartError::InitFailed(ExitReason::error(
                        "an awaited task runs once",
                    )));
                };
                args.rt
                    .start_with::<TaskServer<T>>(task_args, args.opts.kind(ProcessKind::Task))
                    .await
                    .map(|s| s.process())
            })
        })
        .restart(Restart::Temporary)
        .shutdown(self.opts.shutdown);
        let process = self.add(spec).await?;
        Ok(Task::from_parts(process.cell, linked, rx))
    }

    /// Start a task child nobody awaits, not linked to the caller (Elixir's
    /// `Task.Supervisor.start_child`); `make` gives the future for each start (a permanent or
    /// transient task, see [`TaskSupervisor::with`], is restarted with a new one).
    pub async fn start_child<F, Fut>(&self, make: F) -> Result<ProcessRef, TaskError>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let spec = ChildSpec::task("task", make)
            .restart(self.opts.restart)
            .shutdown(self.opts.shutdown);
        self.add(spec).await
    }

    async fn add(&self, spec: ChildSpec) -> Result<ProcessRef, TaskError> {
        match self.sup.start_child(spec).await {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(TaskError::NotStarted("the task was ignored".into())),
            Err(SupervisorError::MaxChildren) => Err(TaskError::NotStarted(
                "reached the maximum number of tasks for this task supervisor".into(),
            )),
            Err(e) => Err(TaskError::NotStarted(e.to_string())),
        }
    }

    /// The pids of its running tasks (Elixir's `Task.Supervisor.children`).
    pub async fn children(&self) -> Result<Vec<Pid>, SupervisorError> {
        Ok(self
            .sup
            .which_children()
            .await?
            .into_iter()
            .filter_map(|c| c.process.map(|p| p.pid()))
            .collect())
    }

    /// Its counts.
    pub async fn count_children(&self) -> Result<Counts, SupervisorError> {
        self.sup.count_children().await
    }

    /// Stop one task by its shutdown policy; `NotFound` if it is not a running child.
    pub async fn terminate_child(&self, pid: Pid) -> Result<(), SupervisorError> {
        self.sup.terminate_child(pid).await
    }

    /// Stop the supervisor and its tasks: its exit reason, `CallingSelf` from inside the
    /// supervisor itself, `NoProcess` when it has already exited (OTP's `noproc`).
    pub async fn stop(&self) -> Result<ExitReason, CallError> {
        self.sup.stop().await
    }
}
