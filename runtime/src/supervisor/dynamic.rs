//! [`DynamicSupervisor`]: children started at run time, each restarted on its own
//! (`one_for_one`), with an optional `max_children` and extra start arguments. The spec and the
//! handle are here; the process is in [`super::dynamic_server`].

use super::dynamic_server::{DynCall, DynReply, DynamicSupervisorServer};
use super::listing::{ChildInfo, Counts, SupervisorError};
use super::spec::{ChildSpec, validate_period};
use super::sup_handle::SUPERVISOR_CALL_TIMEOUT;
use crate::spawn::SpawnOpts;
use crate::{CallError, ExitReason, Name, ProcessRef, Runtime, ServerRef, StartError};
use beamline_wire::{Pid, ProcessKind};
use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

/// A dynamic supervisor's configuration.
#[derive(Clone)]
pub struct DynamicSupervisorSpec {
    pub(crate) max_restarts: u32,
    pub(crate) period: Duration,
    pub(crate) max_children: Option<usize>,
    pub(crate) extra: Option<Arc<dyn Any + Send + Sync>>,
    name: Option<Name>,
}

impl Default for DynamicSupervisorSpec {
    fn default() -> Self {
        DynamicSupervisorSpec {
            max_restarts: 3,
            period: Duration::from_secs(5),
            max_children: None,
            extra: None,
            name: None,
        }
    }
}

impl DynamicSupervisorSpec {
    /// Elixir's defaults: 3 restarts in 5 s, no child limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restart intensity, as for [`super::SupervisorSpec::intensity`].
    pub fn intensity(mut self, max_restarts: u32, period: Duration) -> Self {
        self.max_restarts = max_restarts;
        self.period = period;
        self
    }

    /// Refuse `start_child` beyond this many running children.
    pub fn max_children(mut self, max: usize) -> Self {
        self.max_children = Some(max);
        self
    }

    /// Extra start arguments handed to every child's start function (Elixir's
    /// `extra_arguments`); see [`ChildSpec::with_extra`].
    pub fn extra_arguments<E: Any + Send + Sync>(mut self, extra: E) -> Self {
        self.extra = Some(Arc::new(extra));
        self
    }

    /// Register under a name.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// A handle to a running dynamic supervisor.
#[derive(Clone, Debug)]
pub struct DynamicSupervisor {
    server: ServerRef<DynamicSupervisorServer>,
}

impl DynamicSupervisor {
    /// Start a dynamic supervisor with no children.
    pub async fn start(rt: &Runtime, spec: DynamicSupervisorSpec) -> Result<Self, StartError> {
        DynamicSupervisor::start_with(rt, spec, SpawnOpts::new()).await
    }

    /// Start with options (used when it is itself a child).
    pub async fn start_with(
        rt: &Runtime,
        spec: DynamicSupervisorSpec,
        mut opts: SpawnOpts,
    ) -> Result<Self, StartError> {
        validate_period(spec.period).map_err(StartError::InvalidSpec)?;
        if opts.name.is_none() {
            opts.name = spec.name.clone();
        }
        let server = rt
            .start_with::<DynamicSupervisorServer>(spec, opts.kind(ProcessKind::Supervisor))
            .await?;
        Ok(DynamicSupervisor { server })
    }

    /// A child spec that runs a dynamic supervisor inside a tree.
    pub fn child_spec(id: impl Into<String>, spec: DynamicSupervisorSpec) -> ChildSpec {
        ChildSpec::custom(id, super::ChildKind::Supervisor, move |args| {
            let spec = spec.clone();
            Box::pin(async move {
                DynamicSupervisor::start_with(&args.rt, spec, args.opts)
                    .await
                    .map(|s| s.server.process())
            })
        })
    }

    /// Find a dynamic supervisor by name.
    pub fn whereis(rt: &Runtime, name: impl Into<Name>) -> Option<Self> {
        rt.whereis::<DynamicSupervisorServer>(name)
            .map(|server| DynamicSupervisor { server })
    }

    /// Its pid.
    pub fn pid(&self) -> Pid {
        self.server.pid()
    }

    /// The untyped process handle.
    pub fn process(&self) -> ProcessRef {
        self.server.process()
    }

    async fn call(&self, msg: DynCall) -> Result<DynReply, SupervisorError> {
        self.server
            .call_timeout(msg, SUPERVISOR_CALL_TIMEOUT)
            .await
            .map_err(SupervisorError::Call)?
    }

    /// Start a child now. `Ok(None)` if its init asked to be ignored;
    /// [`SupervisorError::MaxChildren`] at the limit (restarting children count toward it).
    pub async fn start_child(
        &self,
        spec: ChildSpec,
    ) -> Result<Option<ProcessRef>, SupervisorError> {
        match self.call(DynCall::StartChild(spec)).await? {
            DynReply::Started(p) => Ok(p),
            _ => unreachable!("start_child answers with the child"),
        }
    }

    /// Stop a child by pid, by its shutdown policy; it is not restarted. A restarting child is
    /// named by the pid it had when it exited; terminating it ends its retries.
    pub async fn terminate_child(&self, pid: Pid) -> Result<(), SupervisorError> {
        self.call(DynCall::TerminateChild(pid)).await.map(|_| ())
    }

    /// The children in start order, running or restarting.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        match self.call(DynCall::WhichChildren).await? {
            DynReply::Children(c) => Ok(c),
            _ => unreachable!("which_children answers with children"),
        }
    }

    /// Counts of children: restarting ones are specs but not active.
    pub async fn count_children(&self) -> Result<Counts, SupervisorError> {
        match self.call(DynCall::CountChildren).await? {
            DynReply::Counts(c) => Ok(c),
            _ => unreachable!("count_children answers with counts"),
        }
    }

    /// Stop it and all its children. Errors as for [`ProcessRef::stop`].
    ///
    /// Cancel safety: the stop request is sent at once; dropping the future only stops waiting.
    pub async fn stop(&self) -> Result<ExitReason, CallError> {
        self.server.stop(ExitReason::Shutdown, None).await
    }
}
