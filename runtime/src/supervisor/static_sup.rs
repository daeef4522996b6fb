//! [`Supervisor`]: a fixed list of children restarted by strategy, within a restart intensity.

use super::child;
use super::intensity::Intensity;
use super::spec::{ChildKind, ChildSpec, Restart, Strategy, SupervisorSpec};
use crate::process::SlotInfo;
use crate::spawn::SpawnOpts;
use crate::{
    CallError, CallReply, Ctx, ExitReason, GenServer, Info, InitError, Next, ProcessRef, Runtime,
    ServerRef, StartError,
};
use beamline_wire::{Pid, ProcessKind};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long callers wait on a supervisor (it may be busy shutting a subtree down).
const SUPERVISOR_CALL_TIMEOUT: Duration = Duration::from_secs(3600);

/// Errors of the supervisor API, as in OTP.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SupervisorError {
    /// No child with that id (or pid).
    #[error("child not found")]
    NotFound,
    /// The child is running; terminate it first.
    #[error("child is running")]
    Running,
    /// A child with that id is already running.
    #[error("child already started as {0}")]
    AlreadyStarted(Pid),
    /// A child spec with that id exists (not running); restart or delete it.
    #[error("a child with that id already exists")]
    AlreadyPresent,
    /// A dynamic supervisor is at its `max_children`.
    #[error("max_children reached")]
    MaxChildren,
    /// The spec is invalid.
    #[error("invalid child spec: {0}")]
    InvalidSpec(String),
    /// The child's start function failed.
    #[error("child failed to start: {0}")]
    Start(String),
    /// The supervisor itself could not be reached.
    #[error("supervisor unreachable: {0}")]
    Call(CallError),
}

/// One child as listed by `which_children`.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildInfo {
    /// The child id.
    pub id: String,
    /// The running process, if any (`None` after it was terminated, or ignored at init).
    pub process: Option<ProcessRef>,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// Its restart type.
    pub restart: Restart,
}

/// Counts as given by `count_children`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Child specs held.
    pub specs: usize,
    /// Children running.
    pub active: usize,
    /// Specs that are supervisors.
    pub supervisors: usize,
    /// Specs that are workers.
    pub workers: usize,
}

struct Slot {
    spec: ChildSpec,
    child: Option<ProcessRef>,
    info: Arc<SlotInfo>,
}

/// The process behind a [`Supervisor`].
pub struct SupervisorServer {
    rt: Runtime,
    myself: ServerRef<SupervisorServer>,
    me: Pid,
    parent: Option<Pid>,
    strategy: Strategy,
    intensity: Intensity,
    slots: Vec<Slot>,
}

/// Requests to a supervisor.
pub enum SupCall {
    /// `which_children`.
    WhichChildren,
    /// `count_children`.
    CountChildren,
    /// `start_child`.
    StartChild(ChildSpec),
    /// `terminate_child` by id.
    TerminateChild(String),
    /// `restart_child` by id.
    RestartChild(String),
    /// `delete_child` by id.
    DeleteChild(String),
}

/// Answers from a supervisor.
pub enum SupReply {
    /// The children, in start order.
    Children(Vec<ChildInfo>),
    /// The counts.
    Counts(Counts),
    /// The started child (`None` if its init asked to be ignored).
    Started(Option<ProcessRef>),
    /// Done.
    Done,
}

/// Messages a supervisor sends itself.
pub enum SupInfo {
    /// A restart attempt failed earlier: try the children still down.
    Retry,
    /// The observer asked to restart the child with this pid.
    RestartPid(Pid, oneshot::Sender<Result<(), String>>),
}

impl SupervisorServer {
    fn publish(&mut self) {
        let Some(cell) = self.rt.shared.table.get(self.me) else {
            return;
        };
        if let Some(stats) = &cell.supervisor {
            stats.children.store(
                self.slots.iter().filter(|s| s.child.is_some()).count() as u32,
                Relaxed,
            );
            stats.restarts_in_window.store(
                self.intensity.in_window(tokio::time::Instant::now()),
                Relaxed,
            );
        }
    }

    /// Start the slots in `range` that are down (and not temporary leftovers), in order.
    /// On a failure, stops there and returns the error.
    async fn start_down(&mut self, from: usize) -> Result<(), String> {
        for i in from..self.slots.len() {
            if self.slots[i].child.is_some() {
                continue;
            }
            let slot = &self.slots[i];
            match child::start(&self.rt, self.me, &slot.spec, &slot.info, None).await {
                Ok(p) => self.slots[i].child = p,
                Err(e) => return Err(format!("child {:?}: {e}", self.slots[i].spec.id)),
            }
        }
        Ok(())
    }

    /// Stop running children after index `after` (exclusive) in reverse order.
    async fn stop_after(&mut self, after: Option<usize>) {
        let first = after.map_or(0, |i| i + 1);
        for i in (first..self.slots.len()).rev() {
            if let Some(p) = self.slots[i].child.take() {
                child::stop(&p, self.slots[i].spec.shutdown).await;
            }
        }
    }

    /// React to a child's exit by strategy. Returns `Err` when the intensity is exceeded.
    async fn restart(&mut self, index: usize) -> Result<(), ()> {
        if !self.intensity.add(tokio::time::Instant::now()) {
            return Err(());
        }
        let first = match self.strategy {
            Strategy::OneForOne => index,
            Strategy::OneForAll => {
                self.stop_after(None).await;
                0
            }
            Strategy::RestForOne => {
                self.stop_after(Some(index)).await;
                index
            }
        };
        // Temporary children stopped by the strategy are forgotten, not restarted (OTP).
        for i in (first..self.slots.len()).rev() {
            if i != index
                && self.slots[i].child.is_none()
                && self.slots[i].spec.restart == Restart::Temporary
            {
                self.slots.remove(i);
            }
        }
        for slot in &self.slots[first..] {
            if slot.child.is_none() {
                child::count_restart(&slot.info);
            }
        }
        self.retry_from(first).await
    }

    /// Start what is down from `first`; a failed attempt counts towards the intensity and is
    /// retried through the mailbox, so other requests are not starved.
    async fn retry_from(&mut self, first: usize) -> Result<(), ()> {
        match self.start_down(first).await {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::warn!(supervisor = %self.me, error = %e, "restart failed; will retry");
                if !self.intensity.add(tokio::time::Instant::now()) {
                    return Err(());
                }
                self.myself_send(SupInfo::Retry);
                Ok(())
            }
        }
    }

    fn myself_send(&self, msg: SupInfo) {
        let _ = self.myself.send(msg);
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.spec.id == id)
    }

    fn give_up(&self) -> Next {
        tracing::error!(supervisor = %self.me, "restart intensity exceeded; shutting down");
        Next::stop(ExitReason::Shutdown)
    }
}

impl GenServer for SupervisorServer {
    type Args = SupervisorSpec;
    type Call = SupCall;
    type Reply = Result<SupReply, SupervisorError>;
    type Cast = ();
    type Info = SupInfo;

    async fn init(spec: SupervisorSpec, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        let parent = child::set_up(
            ctx,
            spec.strategy.as_str(),
            spec.max_restarts,
            spec.period,
            SupInfo::RestartPid,
        );
        let rt = ctx.runtime().clone();
        let me = ctx.pid();
        let mut sup = SupervisorServer {
            rt,
            myself: ctx.myself().clone(),
            me,
            parent,
            strategy: spec.strategy,
            intensity: Intensity::new(spec.max_restarts, spec.period),
            slots: spec
                .children
                .into_iter()
                .map(|c| Slot {
                    spec: c,
                    child: None,
                    info: Arc::new(SlotInfo::default()),
                })
                .collect(),
        };
        if let Err(e) = sup.start_down(0).await {
            sup.stop_after(None).await;
            return Err(InitError::Stop(ExitReason::ShutdownWith(format!(
                "failed to start {e}"
            ))));
        }
        sup.publish();
        Ok(sup)
    }

    async fn handle_call(&mut self, msg: SupCall, _ctx: &mut Ctx<Self>) -> CallReply<Self::Reply> {
        let reply = match msg {
            SupCall::WhichChildren => Ok(SupReply::Children(
                self.slots
                    .iter()
                    .map(|s| ChildInfo {
                        id: s.spec.id.clone(),
                        process: s.child.clone(),
                        kind: s.spec.kind,
                        restart: s.spec.restart,
                    })
                    .collect(),
            )),
            SupCall::CountChildren => Ok(SupReply::Counts(count(
                self.slots.iter().map(|s| (&s.spec, s.child.is_some())),
            ))),
            SupCall::StartChild(spec) => match (spec.validate(), self.find(&spec.id)) {
                (Err(e), _) => Err(SupervisorError::InvalidSpec(e)),
                (Ok(()), Some(i)) => Err(match &self.slots[i].child {
                    Some(p) => SupervisorError::AlreadyStarted(p.pid()),
                    None => SupervisorError::AlreadyPresent,
                }),
                (Ok(()), None) => {
                    let info = Arc::new(SlotInfo::default());
                    match child::start(&self.rt, self.me, &spec, &info, None).await {
                        Ok(p) => {
                            self.slots.push(Slot {
                                spec,
                                child: p.clone(),
                                info,
                            });
                            Ok(SupReply::Started(p))
                        }
                        Err(e) => Err(SupervisorError::Start(e.to_string())),
                    }
                }
            },
            SupCall::TerminateChild(id) => match self.find(&id) {
                None => Err(SupervisorError::NotFound),
                Some(i) => {
                    if let Some(p) = self.slots[i].child.take() {
                        child::stop(&p, self.slots[i].spec.shutdown).await;
                    }
                    if self.slots[i].spec.restart == Restart::Temporary {
                        self.slots.remove(i);
                    }
                    Ok(SupReply::Done)
                }
            },
            SupCall::RestartChild(id) => match self.find(&id) {
                None => Err(SupervisorError::NotFound),
                Some(i) if self.slots[i].child.is_some() => Err(SupervisorError::Running),
                Some(i) => {
                    let slot = &self.slots[i];
                    match child::start(&self.rt, self.me, &slot.spec, &slot.info, None).await {
                        Ok(p) => {
                            self.slots[i].child = p.clone();
                            Ok(SupReply::Started(p))
                        }
                        Err(e) => Err(SupervisorError::Start(e.to_string())),
                    }
                }
            },
            SupCall::DeleteChild(id) => match self.find(&id) {
                None => Err(SupervisorError::NotFound),
                Some(i) if self.slots[i].child.is_some() => Err(SupervisorError::Running),
                Some(i) => {
                    self.slots.remove(i);
                    Ok(SupReply::Done)
                }
            },
        };
        self.publish();
        CallReply::reply(reply)
    }

    async fn handle_info(&mut self, msg: Info<SupInfo>, _ctx: &mut Ctx<Self>) -> Next {
        let next = match msg {
            Info::Exit { from, reason } => {
                if Some(from) == self.parent {
                    return Next::stop(reason);
                }
                let Some(i) = self
                    .slots
                    .iter()
                    .position(|s| s.child.as_ref().is_some_and(|c| c.pid() == from))
                else {
                    return Next::noreply();
                };
                self.slots[i].child = None;
                let restart = self.slots[i].spec.restart;
                if !restart.applies(&reason) {
                    if restart == Restart::Temporary {
                        self.slots.remove(i);
                    }
                    Next::noreply()
                } else {
                    tracing::info!(supervisor = %self.me, child = %self.slots[i].spec.id, %reason, "restarting child");
                    match self.restart(i).await {
                        Ok(()) => Next::noreply(),
                        Err(()) => self.give_up(),
                    }
                }
            }
            Info::Msg(SupInfo::Retry) => match self.retry_from(0).await {
                Ok(()) => Next::noreply(),
                Err(()) => self.give_up(),
            },
            Info::Msg(SupInfo::RestartPid(pid, tx)) => {
                let found = self
                    .slots
                    .iter()
                    .position(|s| s.child.as_ref().is_some_and(|c| c.pid() == pid));
                match found {
                    None => {
                        let _ =
                            tx.send(Err(format!("{pid} is not a running child of {}", self.me)));
                    }
                    Some(i) => {
                        if let Some(p) = self.slots[i].child.take() {
                            child::stop(&p, self.slots[i].spec.shutdown).await;
                        }
                        child::count_restart(&self.slots[i].info);
                        let r = self.start_down(i).await;
                        let _ = tx.send(r.clone());
                        if r.is_err() {
                            self.myself_send(SupInfo::Retry);
                        }
                    }
                }
                Next::noreply()
            }
            _ => Next::noreply(),
        };
        self.publish();
        next
    }

    async fn terminate(&mut self, _reason: &ExitReason, _ctx: &mut Ctx<Self>) {
        self.stop_after(None).await;
        self.publish();
    }
}

pub(crate) fn count<'a>(children: impl Iterator<Item = (&'a ChildSpec, bool)>) -> Counts {
    let mut c = Counts::default();
    for (spec, running) in children {
        c.specs += 1;
        c.active += running as usize;
        match spec.kind {
            ChildKind::Supervisor => c.supervisors += 1,
            ChildKind::Worker => c.workers += 1,
        }
    }
    c
}

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

    /// Start a terminated child again.
    pub async fn restart_child(&self, id: &str) -> Result<Option<ProcessRef>, SupervisorError> {
        match self.call(SupCall::RestartChild(id.to_string())).await? {
            SupReply::Started(p) => Ok(p),
            _ => unreachable!("restart_child answers with the child"),
        }
    }

    /// Forget a terminated child's spec.
    pub async fn delete_child(&self, id: &str) -> Result<(), SupervisorError> {
        self.call(SupCall::DeleteChild(id.to_string()))
            .await
            .map(|_| ())
    }

    /// Stop the supervisor and its whole subtree (children in reverse start order).
    ///
    /// Cancel safety: the stop request is sent at once; dropping the future only stops waiting.
    pub async fn stop(&self) -> ExitReason {
        self.server.stop(ExitReason::Shutdown, None).await
    }
}
