//! The process behind a [`super::Supervisor`]: a fixed list of children restarted by strategy,
//! within a restart intensity, with OTP's restart loop.
//!
//! A restart works as OTP's `restart/2`: count it toward the intensity, then restart what the
//! strategy says (the child; all; the child and those after it). When a start fails, the child
//! that failed is marked *restarting* and the supervisor sends itself a retry, so requests
//! queued meanwhile (a shutdown, a `terminate_child`) are handled between attempts. A retry is a
//! restart like the first: it counts, and under `one_for_all` / `rest_for_one` it shuts the
//! group down again and restarts it whole, so the group guarantee holds on every path.
//!
//! (A little over 400 lines: the restart loop and the API calls work on the same slot list and
//! are best read together.)

use super::child::{self, GiveUp};
use super::intensity::Intensity;
use super::listing::{ChildInfo, SupervisorError, count};
use super::spec::{ChildSpec, Restart, Strategy, SupervisorSpec};
use crate::process::SlotInfo;
use crate::{
    CallReply, Ctx, ExitReason, GenServer, Info, InitError, Next, ProcessRef, Runtime, ServerRef,
};
use beamline_wire::Pid;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Where a child slot stands.
enum Child {
    /// Not running: terminated, ignored at start, or not yet started in a group restart.
    Undefined,
    Running(ProcessRef),
    /// A restart attempt failed; a retry is on its way (OTP's `restarting`).
    Restarting,
}

struct Slot {
    spec: ChildSpec,
    child: Child,
    info: Arc<SlotInfo>,
}

impl Slot {
    fn process(&self) -> Option<&ProcessRef> {
        match &self.child {
            Child::Running(p) => Some(p),
            _ => None,
        }
    }

    fn is_temporary(&self) -> bool {
        self.spec.restart == Restart::Temporary
    }
}

/// The process behind a [`super::Supervisor`].
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
    Counts(super::Counts),
    /// The started child (`None` if its init asked to be ignored).
    Started(Option<ProcessRef>),
    /// Done.
    Done,
}

/// Messages a supervisor sends itself.
pub enum SupInfo {
    /// A restart attempt of the child with this id failed: try again (OTP's
    /// `try_again_restart`).
    Retry(String),
    /// The observer asked to restart the child with this pid.
    RestartPid(Pid, oneshot::Sender<Result<(), String>>),
}

impl SupervisorServer {
    fn publish(&mut self) {
        let (running, restarting) = self.slots.iter().fold((0, 0), |(r, t), s| match s.child {
            Child::Running(_) => (r + 1, t),
            Child::Restarting => (r, t + 1),
            Child::Undefined => (r, t),
        });
        let in_window = self.intensity.in_window(tokio::time::Instant::now());
        child::publish(&self.rt, self.me, running, restarting, in_window);
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.spec.id == id)
    }

    /// Start slot `i`. `Ok(false)` when its init asked to be ignored.
    async fn start_slot(&mut self, i: usize) -> Result<bool, String> {
        let slot = &self.slots[i];
        match child::start(&self.rt, self.me, &slot.spec, &slot.info, None).await {
            Ok(p) => {
                let started = p.is_some();
                self.slots[i].child = p.map_or(Child::Undefined, Child::Running);
                Ok(started)
            }
            Err(e) => Err(format!("child {:?}: {e}", slot.spec.id)),
        }
    }

    /// Start the slots from `from` on that are not running, in order (OTP's `start_children`).
    /// An ignored temporary child is forgotten. On a failure, stops there: `Err(index, why)`.
    async fn start_children(&mut self, from: usize) -> Result<(), (usize, String)> {
        let mut i = from;
        while i < self.slots.len() {
            if matches!(self.slots[i].child, Child::Running(_)) {
                i += 1;
                continue;
            }
            match self.start_slot(i).await {
                Ok(false) if self.slots[i].is_temporary() => {
                    self.slots.remove(i);
                }
                Ok(_) => i += 1,
                Err(e) => return Err((i, e)),
            }
        }
        Ok(())
    }

    /// Stop the children from `from` on, in reverse start order; temporary ones are forgotten
    /// (OTP's `terminate_children`).
    async fn terminate_children(&mut self, from: usize) {
        for i in (from..self.slots.len()).rev() {
            if let Child::Running(p) = std::mem::replace(&mut self.slots[i].child, Child::Undefined)
            {
                child::stop(self.me, &p, self.slots[i].spec.shutdown).await;
            }
            if self.slots[i].is_temporary() {
                self.slots.remove(i);
            }
        }
    }

    /// Restart slot `i` after its exit or a failed attempt (OTP's `restart/2`): count it, then
    /// restart by strategy. A start that fails leaves the failed child restarting and queues a
    /// retry.
    async fn restart(&mut self, i: usize) -> Result<(), GiveUp> {
        if !self.intensity.add(tokio::time::Instant::now()) {
            return Err(GiveUp);
        }
        self.slots[i].child = Child::Undefined;
        let first = match self.strategy {
            Strategy::OneForOne => i,
            Strategy::OneForAll => 0,
            Strategy::RestForOne => i,
        };
        if self.strategy != Strategy::OneForOne {
            // The slot at `first` is restartable, so not temporary: removals happen after it.
            self.terminate_children(first).await;
        }
        let last = if self.strategy == Strategy::OneForOne {
            i + 1
        } else {
            self.slots.len()
        };
        for slot in &self.slots[first..last] {
            child::count_restart(&slot.info);
        }
        let started = if self.strategy == Strategy::OneForOne {
            self.start_slot(i).await.map(|_| ()).map_err(|e| (i, e))
        } else {
            self.start_children(first).await
        };
        if let Err((failed, e)) = started {
            tracing::warn!(supervisor = %self.me, error = %e, "restart failed; will retry");
            self.slots[failed].child = Child::Restarting;
            let _ = self
                .myself
                .send(SupInfo::Retry(self.slots[failed].spec.id.clone()));
        }
        Ok(())
    }

    /// A linked process exited: the parent ends the supervisor; a child is restarted or
    /// forgotten by its restart type.
    async fn on_exit(&mut self, from: Pid, reason: ExitReason) -> Next {
        if Some(from) == self.parent {
            return Next::stop(reason);
        }
        let Some(i) = self
            .slots
            .iter()
            .position(|s| s.process().is_some_and(|c| c.pid() == from))
        else {
            return Next::noreply();
        };
        self.slots[i].child = Child::Undefined;
        let restart = self.slots[i].spec.restart;
        if !restart.applies(&reason) {
            if restart == Restart::Temporary {
                self.slots.remove(i);
            }
            return Next::noreply();
        }
        tracing::info!(supervisor = %self.me, child = %self.slots[i].spec.id, %reason, "restarting child");
        child::after_restart(self.me, self.restart(i).await)
    }

    /// The observer's restart: stop the child with this pid and start it again.
    async fn restart_pid(&mut self, pid: Pid) -> Result<(), String> {
        let i = self
            .slots
            .iter()
            .position(|s| s.process().is_some_and(|c| c.pid() == pid))
            .ok_or_else(|| format!("{pid} is not a running child of {}", self.me))?;
        if let Child::Running(p) = std::mem::replace(&mut self.slots[i].child, Child::Undefined) {
            child::stop(self.me, &p, self.slots[i].spec.shutdown).await;
        }
        child::count_restart(&self.slots[i].info);
        match self.start_slot(i).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.slots[i].child = Child::Restarting;
                let _ = self
                    .myself
                    .send(SupInfo::Retry(self.slots[i].spec.id.clone()));
                Err(e)
            }
        }
    }

    async fn start_child(&mut self, spec: ChildSpec) -> Result<SupReply, SupervisorError> {
        spec.validate().map_err(SupervisorError::InvalidSpec)?;
        if let Some(i) = self.find(&spec.id) {
            return Err(match self.slots[i].process() {
                Some(p) => SupervisorError::AlreadyStarted(p.pid()),
                None => SupervisorError::AlreadyPresent,
            });
        }
        let info = Arc::new(SlotInfo::default());
        let p = child::start(&self.rt, self.me, &spec, &info, None)
            .await
            .map_err(|e| SupervisorError::Start(e.to_string()))?;
        // An ignored temporary child is not kept (OTP); any other ignored child keeps its spec.
        if p.is_some() || spec.restart != Restart::Temporary {
            self.slots.push(Slot {
                spec,
                child: p.clone().map_or(Child::Undefined, Child::Running),
                info,
            });
        }
        Ok(SupReply::Started(p))
    }

    async fn terminate_child(&mut self, id: &str) -> Result<SupReply, SupervisorError> {
        let i = self.find(id).ok_or(SupervisorError::NotFound)?;
        // A restarting child has no process; it becomes undefined and its retry finds nothing.
        if let Child::Running(p) = std::mem::replace(&mut self.slots[i].child, Child::Undefined) {
            child::stop(self.me, &p, self.slots[i].spec.shutdown).await;
        }
        if self.slots[i].is_temporary() {
            self.slots.remove(i);
        }
        Ok(SupReply::Done)
    }

    async fn restart_child(&mut self, id: &str) -> Result<SupReply, SupervisorError> {
        let i = self.find(id).ok_or(SupervisorError::NotFound)?;
        match self.slots[i].child {
            Child::Running(_) => Err(SupervisorError::Running),
            Child::Restarting => Err(SupervisorError::Restarting),
            Child::Undefined => match self.start_slot(i).await {
                Ok(_) => Ok(SupReply::Started(self.slots[i].process().cloned())),
                Err(e) => Err(SupervisorError::Start(e)),
            },
        }
    }

    fn delete_child(&mut self, id: &str) -> Result<SupReply, SupervisorError> {
        let i = self.find(id).ok_or(SupervisorError::NotFound)?;
        match self.slots[i].child {
            Child::Running(_) => Err(SupervisorError::Running),
            Child::Restarting => Err(SupervisorError::Restarting),
            Child::Undefined => {
                self.slots.remove(i);
                Ok(SupReply::Done)
            }
        }
    }

    fn which_children(&self) -> Vec<ChildInfo> {
        self.slots
            .iter()
            .map(|s| ChildInfo {
                id: s.spec.id.clone(),
                process: s.process().cloned(),
                restarting: matches!(s.child, Child::Restarting),
                kind: s.spec.kind,
                restart: s.spec.restart,
            })
            .collect()
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
        let mut sup = SupervisorServer {
            rt: ctx.runtime().clone(),
            myself: ctx.myself().clone(),
            me: ctx.pid(),
            parent,
            strategy: spec.strategy,
            intensity: Intensity::new(spec.max_restarts, spec.period),
            slots: spec
                .children
                .into_iter()
                .map(|c| Slot {
                    spec: c,
                    child: Child::Undefined,
                    info: Arc::new(SlotInfo::default()),
                })
                .collect(),
        };
        if let Err((_, e)) = sup.start_children(0).await {
            sup.terminate_children(0).await;
            return Err(InitError::Stop(ExitReason::ShutdownWith(format!(
                "failed to start {e}"
            ))));
        }
        sup.publish();
        Ok(sup)
    }

    async fn handle_call(&mut self, msg: SupCall, _ctx: &mut Ctx<Self>) -> CallReply<Self::Reply> {
        let reply = match msg {
            SupCall::WhichChildren => Ok(SupReply::Children(self.which_children())),
            SupCall::CountChildren => Ok(SupReply::Counts(count(
                self.slots.iter().map(|s| (&s.spec, s.process().is_some())),
            ))),
            SupCall::StartChild(spec) => self.start_child(spec).await,
            SupCall::TerminateChild(id) => self.terminate_child(&id).await,
            SupCall::RestartChild(id) => self.restart_child(&id).await,
            SupCall::DeleteChild(id) => self.delete_child(&id),
        };
        self.publish();
        CallReply::reply(reply)
    }

    async fn handle_info(&mut self, msg: Info<SupInfo>, _ctx: &mut Ctx<Self>) -> Next {
        let next = match msg {
            Info::Exit { from, reason } => self.on_exit(from, reason).await,
            Info::Msg(SupInfo::Retry(id)) => match self.find(&id) {
                // Still restarting: not terminated, deleted or restarted by hand meanwhile.
                Some(i) if matches!(self.slots[i].child, Child::Restarting) => {
                    child::after_restart(self.me, self.restart(i).await)
                }
                _ => Next::noreply(),
            },
            Info::Msg(SupInfo::RestartPid(pid, tx)) => {
                let _ = tx.send(self.restart_pid(pid).await);
                Next::noreply()
            }
            _ => Next::noreply(),
        };
        self.publish();
        next
    }

    async fn terminate(&mut self, _reason: &ExitReason, _ctx: &mut Ctx<Self>) {
        self.terminate_children(0).await;
        self.publish();
    }
}
