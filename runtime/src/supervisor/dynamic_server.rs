//! The process behind a [`super::DynamicSupervisor`]: children started at run time, each
//! restarted on its own, with Elixir's restart loop.
//!
//! A child is known by its pid. When its restart fails it stays, under its old pid, as
//! *restarting*: listed, counted as a spec (and toward `max_children`) but not as active, and
//! retried through the mailbox until it starts or the intensity is exceeded. It can be
//! terminated by that old pid meanwhile.

use super::child::{self, GiveUp};
use super::dynamic::DynamicSupervisorSpec;
use super::intensity::Intensity;
use super::listing::{ChildInfo, Counts, SupervisorError, count};
use super::spec::ChildSpec;
use crate::process::SlotInfo;
use crate::{CallReply, Ctx, ExitReason, GenServer, Info, InitError, Next, ProcessRef, Runtime};
use crate::{ServerRef, StartError};
use beamline_wire::Pid;
use std::any::Any;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Where a dynamic child stands.
enum DynState {
    Running(ProcessRef),
    /// Its restart failed; retried under the pid of the incarnation that exited.
    Restarting(Pid),
}

struct DynChild {
    spec: ChildSpec,
    state: DynState,
    info: Arc<SlotInfo>,
}

impl DynChild {
    /// The pid it is known by: the running one, or the last one while restarting.
    fn key(&self) -> Pid {
        match &self.state {
            DynState::Running(p) => p.pid(),
            DynState::Restarting(old) => *old,
        }
    }

    fn process(&self) -> Option<&ProcessRef> {
        match &self.state {
            DynState::Running(p) => Some(p),
            DynState::Restarting(_) => None,
        }
    }
}

/// The process behind a [`super::DynamicSupervisor`].
pub struct DynamicSupervisorServer {
    rt: Runtime,
    me: Pid,
    parent: Option<Pid>,
    intensity: Intensity,
    max_children: Option<usize>,
    extra: Option<Arc<dyn Any + Send + Sync>>,
    /// In start order; a restarted child keeps its place.
    children: Vec<DynChild>,
    myself: ServerRef<DynamicSupervisorServer>,
}

/// Requests to a dynamic supervisor.
pub enum DynCall {
    /// `start_child`.
    StartChild(ChildSpec),
    /// `terminate_child` by pid.
    TerminateChild(Pid),
    /// `which_children`.
    WhichChildren,
    /// `count_children`.
    CountChildren,
}

/// Answers from a dynamic supervisor.
pub enum DynReply {
    /// The started child (`None` if its init asked to be ignored).
    Started(Option<ProcessRef>),
    /// Done.
    Done,
    /// The children, in start order.
    Children(Vec<ChildInfo>),
    /// The counts.
    Counts(Counts),
}

/// Messages a dynamic supervisor sends itself.
pub enum DynInfo {
    /// A restart attempt of the child known by this pid failed: try again.
    Retry(Pid),
    /// The observer asked to restart the child with this pid.
    RestartPid(Pid, oneshot::Sender<Result<(), String>>),
}

impl DynamicSupervisorServer {
    fn publish(&mut self) {
        let running = self
            .children
            .iter()
            .filter(|c| c.process().is_some())
            .count();
        let restarting = self.children.len() - running;
        let in_window = self.intensity.in_window(tokio::time::Instant::now());
        child::publish(
            &self.rt,
            self.me,
            running as u32,
            restarting as u32,
            in_window,
        );
    }

    fn find(&self, pid: Pid) -> Option<usize> {
        self.children.iter().position(|c| c.key() == pid)
    }

    async fn start(
        &self,
        spec: &ChildSpec,
        info: &Arc<SlotInfo>,
    ) -> Result<Option<ProcessRef>, StartError> {
        child::start(&self.rt, self.me, spec, info, self.extra.clone()).await
    }

    async fn start_child(&mut self, spec: ChildSpec) -> Result<DynReply, SupervisorError> {
        spec.validate().map_err(SupervisorError::InvalidSpec)?;
        // Restarting children count: they will be back (Elixir).
        if self.max_children.is_some_and(|m| self.children.len() >= m) {
            return Err(SupervisorError::MaxChildren);
        }
        let info = Arc::new(SlotInfo::default());
        let started = self
            .start(&spec, &info)
            .await
            .map_err(|e| SupervisorError::Start(e.to_string()))?;
        if let Some(p) = &started {
            self.children.push(DynChild {
                spec,
                state: DynState::Running(p.clone()),
                info,
            });
        }
        Ok(DynReply::Started(started))
    }

    /// Restart child `i` (Elixir's `restart_child`): count it, start it; an ignored child is
    /// forgotten, a failed one stays restarting and a retry is queued.
    async fn restart(&mut self, i: usize) -> Result<(), GiveUp> {
        if !self.intensity.add(tokio::time::Instant::now()) {
            return Err(GiveUp);
        }
        child::count_restart(&self.children[i].info);
        let old = self.children[i].key();
        let c = &self.children[i];
        match self.start(&c.spec, &c.info).await {
            Ok(Some(p)) => self.children[i].state = DynState::Running(p),
            Ok(None) => {
                self.children.remove(i);
            }
            Err(e) => {
                tracing::warn!(supervisor = %self.me, child = %self.children[i].spec.id, error = %e, "restart failed; will retry");
                self.children[i].state = DynState::Restarting(old);
                let _ = self.myself.send(DynInfo::Retry(old));
            }
        }
        Ok(())
    }

    async fn on_exit(&mut self, from: Pid, reason: ExitReason) -> Next {
        if Some(from) == self.parent {
            return Next::stop(reason);
        }
        let Some(i) = self
            .children
            .iter()
            .position(|c| c.process().is_some_and(|p| p.pid() == from))
        else {
            return Next::noreply();
        };
        if !self.children[i].spec.restart.applies(&reason) {
            self.children.remove(i);
            return Next::noreply();
        }
        child::after_restart(self.me, self.restart(i).await)
    }

    /// The observer's restart: stop the child with this pid and start it again.
    async fn restart_pid(&mut self, pid: Pid) -> Result<(), String> {
        let i = self
            .children
            .iter()
            .position(|c| c.process().is_some_and(|p| p.pid() == pid))
            .ok_or_else(|| format!("{pid} is not a running child of {}", self.me))?;
        if let DynState::Running(p) = &self.children[i].state {
            child::stop(self.me, p, self.children[i].spec.shutdown).await;
        }
        child::count_restart(&self.children[i].info);
        let c = &self.children[i];
        match self.start(&c.spec, &c.info).await {
            Ok(Some(p)) => {
                self.children[i].state = DynState::Running(p);
                Ok(())
            }
            Ok(None) => {
                self.children.remove(i);
                Ok(())
            }
            Err(e) => {
                self.children[i].state = DynState::Restarting(pid);
                let _ = self.myself.send(DynInfo::Retry(pid));
                Err(e.to_string())
            }
        }
    }

    async fn stop_all(&mut self) {
        while let Some(c) = self.children.pop() {
            if let DynState::Running(p) = &c.state {
                child::stop(self.me, p, c.spec.shutdown).await;
            }
        }
    }
}

impl GenServer for DynamicSupervisorServer {
    type Args = DynamicSupervisorSpec;
    type Call = DynCall;
    type Reply = Result<DynReply, SupervisorError>;
    type Cast = ();
    type Info = DynInfo;

    async fn init(spec: DynamicSupervisorSpec, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        let parent = child::set_up(
            ctx,
            "dynamic",
            spec.max_restarts,
            spec.period,
            DynInfo::RestartPid,
        );
        Ok(DynamicSupervisorServer {
            rt: ctx.runtime().clone(),
            me: ctx.pid(),
            parent,
            intensity: Intensity::new(spec.max_restarts, spec.period),
            max_children: spec.max_children,
            extra: spec.extra,
            children: Vec::new(),
            myself: ctx.myself().clone(),
        })
    }

    async fn handle_call(&mut self, msg: DynCall, _ctx: &mut Ctx<Self>) -> CallReply<Self::Reply> {
        let reply = match msg {
            DynCall::StartChild(spec) => self.start_child(spec).await,
            DynCall::TerminateChild(pid) => match self.find(pid) {
                None => Err(SupervisorError::NotFound),
                Some(i) => {
                    // A restarting child has no process: forgetting it ends its retries.
                    let c = self.children.remove(i);
                    if let DynState::Running(p) = &c.state {
                        child::stop(self.me, p, c.spec.shutdown).await;
                    }
                    Ok(DynReply::Done)
                }
            },
            DynCall::WhichChildren => Ok(DynReply::Children(
                self.children
                    .iter()
                    .map(|c| ChildInfo {
                        id: c.spec.id.clone(),
                        process: c.process().cloned(),
                        restarting: c.process().is_none(),
                        kind: c.spec.kind,
                        restart: c.spec.restart,
                    })
                    .collect(),
            )),
            DynCall::CountChildren => Ok(DynReply::Counts(count(
                self.children
                    .iter()
                    .map(|c| (&c.spec, c.process().is_some())),
            ))),
        };
        self.publish();
        CallReply::reply(reply)
    }

    async fn handle_info(&mut self, msg: Info<DynInfo>, _ctx: &mut Ctx<Self>) -> Next {
        let next = match msg {
            Info::Exit { from, reason } => self.on_exit(from, reason).await,
            // Gone when it was terminated meanwhile.
            Info::Msg(DynInfo::Retry(old)) => match self.find(old) {
                Some(i) if self.children[i].process().is_none() => {
                    child::after_restart(self.me, self.restart(i).await)
                }
                _ => Next::noreply(),
            },
            Info::Msg(DynInfo::RestartPid(pid, tx)) => {
                let _ = tx.send(self.restart_pid(pid).await);
                Next::noreply()
            }
            _ => Next::noreply(),
        };
        self.publish();
        next
    }

    async fn terminate(&mut self, _reason: &ExitReason, _ctx: &mut Ctx<Self>) {
        self.stop_all().await;
        self.publish();
    }
}
