//! Starting a process: its cell, its name, its `init` (on the starter's task, as the new
//! process), then its own task. The parts of its life after that are in `spawn/`:
//! `process_loop.rs` (wait, handle a batch, account for it), `dispatch.rs` (one event to one
//! callback) and `core.rs` (the process's own side, and how its exit is recorded).

mod core;
mod dispatch;
mod process_loop;
#[cfg(feature = "otlp")]
mod spans;

use self::core::Core;
use self::dispatch::measure;
use crate::ctx::Ctx;
use crate::handle::{Envelope, ProcessRef, ServerRef};
use crate::mailbox::{Mailbox, Rx};
use crate::panic::guarded;
use crate::process::{Meta, Place, ProcessCell, Relations, Shared, SlotInfo, Sys};
use crate::registry::{Entry, Name};
use crate::stats::{Stats, StatusCode};
use crate::{ExitReason, GenServer, InitError, Runtime, StartError, current};
use beamline_wire::{Pid, ProcessKind};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use tokio::sync::Notify;

/// How to start a process: name, mailbox, and (for supervisors) its place in the tree.
#[derive(Clone, Debug, Default)]
pub struct SpawnOpts {
    pub(crate) name: Option<Name>,
    pub(crate) mailbox: Mailbox,
    pub(crate) link: bool,
    pub(crate) parent: Option<Pid>,
    pub(crate) child_id: Option<String>,
    pub(crate) slot: Option<Arc<SlotInfo>>,
    pub(crate) kind: Option<ProcessKind>,
    /// A key to take in a key/value [`crate::Registry`] before `init` (see `SpawnOpts::via`).
    pub(crate) claim: Option<Claim>,
}

/// Something to take for the new process before its `init`, failing the start if it cannot:
/// a key in a key/value registry (`SpawnOpts::via`, in `key_registry.rs`), as OTP registers a
/// `via` name. A closure, so that starting needs to know nothing of registries.
#[derive(Clone)]
pub(crate) struct Claim(Arc<ClaimFn>);

type ClaimFn = dyn Fn(&ProcessRef) -> Result<(), StartError> + Send + Sync;

impl Claim {
    pub(crate) fn new(
        take: impl Fn(&ProcessRef) -> Result<(), StartError> + Send + Sync + 'static,
    ) -> Self {
        Claim(Arc::new(take))
    }

    pub(crate) fn take(&self, process: &ProcessRef) -> Result<(), StartError> {
        (self.0)(process)
    }
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Claim")
    }
}

impl std::fmt::Debug for SlotInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlotInfo")
    }
}

impl SpawnOpts {
    /// Default options: unnamed, unbounded mailbox, not linked.
    pub fn new() -> Self {
        SpawnOpts::default()
    }

    /// Register under a unique name; start fails with `AlreadyStarted` if it is taken.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The mailbox's shape (unbounded by default).
    pub fn mailbox(mut self, mailbox: Mailbox) -> Self {
        self.mailbox = mailbox;
        self
    }

    /// Link to the starting process, like OTP's `start_link` (no effect outside a process).
    pub fn link(mut self) -> Self {
        self.link = true;
        self
    }

    /// Used by Agent, Task and supervisors to say what they are.
    pub(crate) fn kind(mut self, kind: ProcessKind) -> Self {
        self.kind = Some(kind);
        self
    }
}

impl Runtime {
    /// Start a `GenServer` and wait for its `init` to finish (OTP's `start`; inside a process,
    /// the new one's parent is the caller).
    ///
    /// Cancel safety: if the future is dropped while `init` runs, the process still starts.
    pub async fn start<S: GenServer>(&self, args: S::Args) -> Result<ServerRef<S>, StartError> {
        start(self, args, SpawnOpts::new()).await
    }

    /// Start with options: a name, a bounded mailbox, a link to the caller.
    ///
    /// Cancel safety: as [`Runtime::start`].
    pub async fn start_with<S: GenServer>(
        &self,
        args: S::Args,
        opts: SpawnOpts,
    ) -> Result<ServerRef<S>, StartError> {
        start(self, args, opts).await
    }
}

/// Start a `GenServer` and wait for its `init`.
pub(crate) async fn start<S: GenServer>(
    rt: &Runtime,
    args: S::Args,
    opts: SpawnOpts,
) -> Result<ServerRef<S>, StartError> {
    let shared = &rt.shared;
    if shared.shutting_down.load(Relaxed) && opts.parent.is_none() {
        return Err(StartError::ShuttingDown);
    }
    let spawner = current::with(|c| c.clone());
    let (tx, rx) = opts.mailbox.channel::<Envelope<S>>();
    let cell = new_cell::<S>(shared, &opts, spawner.as_ref().map(|c| c.pid), &rx);
    let handle = ServerRef {
        cell: cell.clone(),
        tx,
    };
    enrol(shared, &opts, &handle, spawner.as_ref())?;
    let ctx = Ctx {
        myself: handle.clone(),
        rt: rt.clone(),
        reply: None,
        idle_timeout: None,
    };
    let mut core = Core::new(cell.clone(), rx, ctx);
    let state = run_init(&mut core, args).await?;
    measure(&cell, &state);
    core.state = Some(state);
    use process_loop::{Plain, run};
    #[cfg(feature = "otlp")]
    let task = if shared.message_spans.load(Relaxed) {
        spawn_loop(rt, &cell, run::<S, spans::Spanned>(core))
    } else {
        spawn_loop(rt, &cell, run::<S, Plain>(core))
    };
    #[cfg(not(feature = "otlp"))]
    let task = spawn_loop(rt, &cell, run::<S, Plain>(core));
    *cell.abort.lock() = Some(task.abort_handle());
    Ok(handle)
}

/// Run a process's loop on a task of its own, as the current process.
fn spawn_loop(
    rt: &Runtime,
    cell: &Arc<ProcessCell>,
    run: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let body = current::CURRENT.scope(cell.clone(), run);
    // Opt-in (Builder::task_metrics): tokio-metrics' per-task figures cost memory per process.
    match rt.publish.task_monitor(&rt.shared, cell.pid) {
        Some(monitor) => tokio::spawn(monitor.instrument(body)),
        None => tokio::spawn(body),
    }
}

/// The new process's cell: a fresh pid, what it is and where it sits, zeroed counters.
fn new_cell<S: GenServer>(
    shared: &Arc<Shared>,
    opts: &SpawnOpts,
    spawner: Option<Pid>,
    rx: &Rx<Envelope<S>>,
) -> Arc<ProcessCell> {
    let queue: Arc<dyn crate::msg_types::table::Peekable> = rx.queue().clone();
    let kind = opts.kind.unwrap_or(ProcessKind::Server);
    let capacity = opts.mailbox.capacity();
    let placed =
        opts.name.is_some() || opts.child_id.is_some() || opts.slot.is_some() || capacity.is_some();
    Arc::new(ProcessCell {
        pid: Pid(shared.next_pid.fetch_add(1, Relaxed)),
        shared: shared.clone(),
        kind,
        meta: Meta {
            server: crate::msg_types::names::<S>,
            parent: opts.parent.or(spawner).map_or(0, |p| p.0),
            spawned_ns: shared.now_ns(),
            place: placed.then(|| {
                Box::new(Place {
                    name: opts.name.clone(),
                    child_id: opts.child_id.clone(),
                    slot: opts.slot.clone(),
                    capacity,
                })
            }),
        },
        stats: Stats::default(),
        sys: Default::default(),
        relations: Mutex::new(Relations::default()),
        relations_closed: AtomicBool::new(false),
        exit: Default::default(),
        exited: Notify::new(),
        abort: Default::default(),
        trap_exit: AtomicBool::new(false),
        traced: AtomicBool::new(false),
        supervisor: (kind == ProcessKind::Supervisor).then(Box::default),
        logs: Default::default(),
        keys: Default::default(),
        msg_types: crate::msg_types::MsgTypes::new(Arc::downgrade(&queue)),
        talkers: Default::default(),
        #[cfg(feature = "otlp")]
        span: Default::default(),
    })
}

/// Make the new process known before its `init`: its name, its key in a key/value registry,
/// its link to the starter, its table entry. A name or key already taken fails the start with
/// nothing left behind.
fn enrol<S: GenServer>(
    shared: &Shared,
    opts: &SpawnOpts,
    handle: &ServerRef<S>,
    spawner: Option<&Arc<ProcessCell>>,
) -> Result<(), StartError> {
    let cell = &handle.cell;
    if let Some(name) = &opts.name {
        let entry = Entry {
            cell: cell.clone(),
            typed: Arc::new(handle.clone()),
        };
        if let Err(existing) = shared.registry.register(name, entry) {
            return Err(StartError::AlreadyStarted(ProcessRef {
                cell: existing.cell,
                typed: Some(existing.typed),
            }));
        }
    }
    if let Some(claim) = &opts.claim
        && let Err(e) = claim.take(&handle.process())
    {
        if let Some(name) = &opts.name {
            shared.registry.unregister(name, cell.pid);
        }
        return Err(e);
    }
    if opts.link
        && let Some(parent) = spawner
    {
        parent.link(cell);
    }
    shared.table.insert(cell.clone());
    shared.spawned_total.fetch_add(1, Relaxed);
    cell.mark_dirty();
    cell.stats
        .set_status(StatusCode::Starting, cell.meta.spawned_ns);
    tracing::debug!(pid = %cell.pid, name = opts.name.as_ref().map(tracing::field::display), behaviour = cell.meta.behaviour(), "process spawned");
    Ok(())
}

/// Run `init` here, on the starter's task but as the new process (inside it, `self` is the new
/// pid and links, monitors and logs are its own), and the starter waits for it as OTP's
/// `start_link` does. The process's own task is spawned only once there is a state to run:
/// one task, no init handshake, and a smaller future per process. If the starter's future is
/// dropped mid-init, the process ends `killed` (its core is dropped). An `init` that fails ends
/// the process as itself (its exit logged as its own).
async fn run_init<S: GenServer>(core: &mut Core<S>, args: S::Args) -> Result<S, StartError> {
    let cell = core.cell.clone();
    let init = {
        let init = current::CURRENT.scope(cell.clone(), guarded(S::init(args, &mut core.ctx)));
        killable(&cell, std::pin::pin!(init)).await
    };
    let (reason, error) = match init {
        Some(Ok(Ok(state))) => return Ok(state),
        Some(Ok(Err(InitError::Ignore))) => (ExitReason::Normal, StartError::Ignored),
        Some(Ok(Err(InitError::Stop(reason)))) => (reason.clone(), StartError::InitFailed(reason)),
        Some(Err(panic)) => {
            let reason = ExitReason::Panic(panic);
            (reason.clone(), StartError::InitFailed(reason))
        }
        None => (
            ExitReason::Killed,
            StartError::InitFailed(ExitReason::Killed),
        ),
    };
    current::CURRENT.sync_scope(cell, || core.finish(reason));
    Err(error)
}

/// Run `init` unless the process is killed first: before its task exists, a brutal kill
/// (`ProcessCell::kill`) can only queue `Sys::Kill`, so the starter watches for it (a stuck
/// `init` must not hold up a supervisor's or the runtime's shutdown). `None` when killed.
async fn killable<F: Future>(
    cell: &ProcessCell,
    mut init: std::pin::Pin<&mut F>,
) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = init.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if cell.sys.poll_any(cx, |m| matches!(m, Sys::Kill)) {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}
