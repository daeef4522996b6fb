//! [`Supervisor`]: the handle to a static supervisor (the process is in
//! [`super::static_sup`]): start it, ask about its children, change them, stop it.

use super::listing::{ChildInfo, Counts, SupervisorError};
use super::spec::{ChildSpec, SupervisorSpec};
use super::static_sup::{SupCall, SupReply, SupervisorServer};
use crate::spawn::SpawnOpts;
use crate::{CallError, ExitReason, ProcessRef, Runtime, ServerRef, StartError};
use beamline_wire::{Pid, ProcessKind};
use std::time::Duration;

/// How long callers wait on a supervisor (it may be busy shutting a subtree down).
pub(crate) const SUPERVISOR_CALL_TIMEOUT: Duration = Duration::from_secs(3600);

/// A handle to a running supervisor.
#[derive(Clone, Debug)]
pub struct Supervisor {
    server: ServerRef<SupervisorServer>,
}

impl Supervisor {
    /// Validate the spec, start the supervisor and its children in order. If a child fails to
    /// start, those already started are stopped in reverse order and the start fails.
    pub async fn start(rt: &Runtime, spec: SupervisorSpec) -> Result<Supervisor, StartError> {
        Supervisor::start_with(rt, spec, SpawnOpts::new()).await
    }

    /// Start with options (used when a supervisor is itself a child).
    pub async fn start_with(
        rt: &Runtime,
        spec: SupervisorSpec,
        mut opts: SpawnOpts,
    ) -> Result<Supervisor, StartError> {
        spec.validate().map_err(StartError::InvalidSpec)?;
        if opts.name.is_none() {
            opts.name = spec.name.clone();
        }
        let server = rt
            .start_with::<SupervisorServer>(spec, opts.kind(ProcessKind::Supervisor))
            .await?;
        Ok(Supervisor { server })
    }

    /// Its pid.
    pub fn pid(&self) -> Pid {
        self.server.pid()
    }

    /// The supervisor behind a process handle, if it is one (the runtime keeps its root
    /// supervisor as a process handle).
    pub(crate) fn from_process(process: &ProcessRef) -> Option<Supervisor> {
        Some(Supervisor {
            server: process.downcast()?,
        })
    }

    /// The untyped process handle.
    pub fn process(&self) -> ProcessRef {
        self.server.process()
    }

    async fn call(&self, msg: SupCall) -> Result<SupReply, SupervisorError> {
        self.server
            .call_timeout(msg, SUPERVISOR_CALL_TIMEOUT)
            .await
            .map_err(SupervisorError::Call)?
    }

    /// The children in start order, with their processes.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        match self.call(SupCall::WhichChildren).await? {
            SupReply::Children(c) => Ok(c),
            _ => unreachable!("which_children answers with children"),
        }
    }

    /// Specs, running children, supervisors and workers.
    pub async fn count_children(&self) -> Result<Counts, SupervisorError> {
        match self.call(SupCall::CountChildren).await? {
            SupReply::Counts(c) => Ok(c),
            _ => unreachable!("count_children answers with counts"),
        }
    }

    /// Add a child at the end and start it.
    pub async fn start_child(
        &self,
        spec: ChildSpec,
    ) -> Result<Option<ProcessRef>, SupervisorError> {
        match self.call(SupCall::StartChild(spec)).await? {
            SupReply::Started(p) => Ok(p),
            _ => unreachable!("start_child answers with the child"),
        }
    }

    /// Stop a child by its shutdown policy; its spec stays (unless temporary).
    pub async fn terminate_child(&self, id: &str) -> Result<(), SupervisorError> {
        self.call(SupCall::TerminateChild(id.to_string()))
            .await
            .map(|_| ())
    }

    /// Start a terminated child again. [`SupervisorError::Restarting`] while the supervisor is
    /// retrying a failed restart of it.
    pub async fn restart_child(&self, id: &str) -> Result<Option<ProcessRef>, SupervisorError> {
        match self.call(SupCall::RestartChild(id.to_string())).await? {
            SupReply::Started(p) => Ok(p),
            _ => unreachable!("restart_child answers with the child"),
        }
    }

    /// Forget a terminated child's spec ([`SupervisorError::Restarting`] while it is being
    /// retried: terminate it first).
    pub async fn delete_child(&self, id: &str) -> Result<(), SupervisorError> {
        self.call(SupCall::DeleteChild(id.to_string()))
            .await
            .map(|_| ())
    }

    /// Stop the supervisor and its whole subtree (children in reverse start order). Errors as
    /// for [`ProcessRef::stop`]: `CallingSelf` from inside the supervisor, `NoProcess` if it had
    /// already exited.
    ///
    /// Cancel safety: the stop request is sent at once; dropping the future only stops waiting.
    pub async fn stop(&self) -> Result<ExitReason, CallError> {
        self.server.stop(ExitReason::Shutdown, None).await
    }
}
