//! [`DynamicSupervisor`]: children started at run time, each restarted on its own
//! (`one_for_one`), with an optional `max_children` and extra start arguments.

use super::child;
use super::intensity::Intensity;
use super::spec::ChildSpec;
use super::static_sup::{ChildInfo, Counts, SupervisorError, count};
use crate::process::SlotInfo;
use crate::spawn::SpawnOpts;
use crate::{
    CallReply, Ctx, ExitReason, GenServer, Info, InitError, Name, Next, ProcessRef, Runtime,
    ServerRef, StartError,
};
use beamline_wire::{Pid, ProcessKind};
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::oneshot;

/// A dynamic supervisor's configuration.
#[derive(Clone)]
pub struct DynamicSupervisorSpec {
    max_restarts: u32,
    period: Duration,
    max_children: Option<usize>,
    extra: Option<Arc<dyn Any + Send + Sync>>,
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

struct DynChild {
    spec: ChildSpec,
    child: ProcessRef,
    info: Arc<SlotInfo>,
}

/// The process behind a [`DynamicSupervisor`].
pub struct DynamicSupervisorServer {
    rt: Runtime,
    me: Pid,
    parent: Option<Pid>,
    intensity: Intensity,
    max_children: Option<usize>,
    extra: Option<Arc<dyn Any + Send + Sync>>,
    children: Vec<DynChild>,
    /// Children whose restart failed, retried later.
    pending: Vec<(ChildSpec, Arc<SlotInfo>)>,
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
    /// A restart attempt failed earlier: try again.
    Retry,
    /// The observer asked to restart the child with this pid.
    RestartPid(Pid, oneshot::Sender<Result<(), String>>),
}

impl DynamicSupervisorServer {
    fn publish(&mut self) {
        if let Some(cell) = self.rt.shared.table.get(self.me)
            && let Some(stats) = &cell.supervisor
        {
            stats.children.store(self.children.len() as u32, Relaxed);
            stats.restarts_in_window.store(
                self.intensity.in_window(tokio::time::Instant::now()),
                Relaxed,
            );
        }
    }

    async fn start_one(
        &mut self,
        spec: ChildSpec,
        info: Arc<SlotInfo>,
    ) -> Result<Option<ProcessRef>, StartError> {
        let started = child::start(&self.rt, self.me, &spec, &info, self.extra.clone()).await?;
        if let Some(p) = &started {
            self.children.push(DynChild {
                spec,
                child: p.clone(),
                info,
            });
        }
        Ok(started)
    }

    /// Start what failed to restart earlier; `Err` when the intensity is exceeded.
    async fn retry(&mut self) -> Result<(), ()> {
        for (spec, info) in std::mem::take(&mut self.pending) {
            if let Err(e) = self.start_one(spec.clone(), info.clone()).await {
                tracing::warn!(supervisor = %self.me, child = %spec.id, error = %e, "restart failed; will retry");
                self.pending.push((spec, info));
                if !self.intensity.add(tokio::time::Instant::now()) {
                    return Err(());
                }
            }
        }
        if !self.pending.is_empty() {
            let _ = self.myself.send(DynInfo::Retry);
        }
        Ok(())
    }

    async fn stop_all(&mut self) {
        while let Some(c) = self.children.pop() {
            child::stop(&c.child, c.spec.shutdown).await;
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
        let rt = ctx.runtime().clone();
        let me = ctx.pid();
        Ok(DynamicSupervisorServer {
            rt,
            me,
            parent,
            intensity: Intensity::new(spec.max_restarts, spec.period),
            max_children: spec.max_children,
            extra: spec.extra,
            children: Vec::new(),
            pending: Vec::new(),
            myself: ctx.myself().clone(),
        })
    }

    async fn handle_call(&mut self, msg: DynCall, _ctx: &mut Ctx<Self>) -> CallReply<Self::Reply> {
        let reply = match msg {
            DynCall::StartChild(spec) => {
                if let Err(e) = spec.validate() {
                    Err(SupervisorError::InvalidSpec(e))
                } else if self.max_children.is_some_and(|m| self.children.len() >= m) {
                    Err(SupervisorError::MaxChildren)
                } else {
                    self.start_one(spec, Arc::new(SlotInfo::default()))
                        .await
                        .map(DynReply::Started)
                        .map_err(|e| SupervisorError::Start(e.to_string()))
                }
            }
            DynCall::TerminateChild(pid) => {
                match self.children.iter().position(|c| c.child.pid() == pid) {
                    None => Err(SupervisorError::NotFound),
                    Some(i) => {
                        let c = self.children.remove(i);
                        child::stop(&c.child, c.spec.shutdown).await;
                        Ok(DynReply::Done)
                    }
                }
            }
            DynCall::WhichChildren => Ok(DynReply::Children(
                self.children
                    .iter()
                    .map(|c| ChildInfo {
                        id: c.spec.id.clone(),
                        process: Some(c.child.clone()),
                        kind: c.spec.kind,
                        restart: c.spec.restart,
                    })
                    .collect(),
            )),
            DynCall::CountChildren => Ok(DynReply::Counts(count(
                self.children.iter().map(|c| (&c.spec, true)),
            ))),
        };
        self.publish();
        CallReply::reply(reply)
    }

    async fn handle_info(&mut self, msg: Info<DynInfo>, _ctx: &mut Ctx<Self>) -> Next {
        let next = match msg {
            Info::Exit { from, reason } => {
                if Some(from) == self.parent {
                    return Next::stop(reason);
                }
                let Some(i) = self.children.iter().position(|c| c.child.pid() == from) else {
                    return Next::noreply();
                };
                let c = self.children.remove(i);
                if !c.spec.restart.applies(&reason) {
                    Next::noreply()
                } else if !self.intensity.add(tokio::time::Instant::now()) {
                    tracing::error!(supervisor = %self.me, "restart intensity exceeded; shutting down");
                    Next::stop(ExitReason::Shutdown)
                } else {
                    child::count_restart(&c.info);
                    self.pending.push((c.spec, c.info));
                    match self.retry().await {
                        Ok(()) => Next::noreply(),
                        Err(()) => Next::stop(ExitReason::Shutdown),
                    }
                }
            }
            Info::Msg(DynInfo::Retry) => match self.retry().await {
                Ok(()) => Next::noreply(),
                Err(()) => Next::stop(ExitReason::Shutdown),
            },
            Info::Msg(DynInfo::RestartPid(pid, tx)) => {
                match self.children.iter().position(|c| c.child.pid() == pid) {
                    None => {
                        let _ =
                            tx.send(Err(format!("{pid} is not a running child of {}", self.me)));
                    }
                    Some(i) => {
                        let c = self.children.remove(i);
                        child::stop(&c.child, c.spec.shutdown).await;
                        child::count_restart(&c.info);
                        let r = self.start_one(c.spec, c.info).await;
                        let _ = tx.send(r.map(|_| ()).map_err(|e| e.to_string()));
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
        self.stop_all().await;
        self.publish();
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
            .call_timeout(msg, Duration::from_secs(3600))
            .await
            .map_err(SupervisorError::Call)?
    }

    /// Start a child now. `Ok(None)` if its init asked to be ignored;
    /// [`SupervisorError::MaxChildren`] at the limit.
    pub async fn start_child(
        &self,
        spec: ChildSpec,
    ) -> Result<Option<ProcessRef>, SupervisorError> {
        match self.call(DynCall::StartChild(spec)).await? {
            DynReply::Started(p) => Ok(p),
            _ => unreachable!("start_child answers with the child"),
        }
    }

    /// Stop a child by pid, by its shutdown policy; it is not restarted.
    pub async fn terminate_child(&self, pid: Pid) -> Result<(), SupervisorError> {
        self.call(DynCall::TerminateChild(pid)).await.map(|_| ())
    }

    /// The running children in start order.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        match self.call(DynCall::WhichChildren).await? {
            DynReply::Children(c) => Ok(c),
            _ => unreachable!("which_children answers with children"),
        }
    }

    /// Counts of running children.
    pub async fn count_children(&self) -> Result<Counts, SupervisorError> {
        match self.call(DynCall::CountChildren).await? {
            DynReply::Counts(c) => Ok(c),
            _ => unreachable!("count_children answers with counts"),
        }
    }

    /// Stop it and all its children.
    ///
    /// Cancel safety: the stop request is sent at once; dropping the future only stops waiting.
    pub async fn stop(&self) -> ExitReason {
        self.server.stop(ExitReason::Shutdown, None).await
    }
}
