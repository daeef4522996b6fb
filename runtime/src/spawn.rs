//! Starting a process and the loop it runs: wait for a message, handle it, account for it.
//!
//! The loop handles messages in batches: after one message it takes whatever else is already
//! queued (up to [`BATCH`]) without going back to the scheduler, and reads the clock once per
//! batch rather than once per message. This keeps the instrumented message path within a few
//! nanoseconds of tokio's bare channel.

use crate::ctx::Ctx;
use crate::handle::{Envelope, ServerRef};
use crate::mailbox::{Mailbox, Rx};
use crate::panic::guarded;
use crate::process::{Meta, Place, ProcessCell, Relations, SlotInfo, Sys};
use crate::registry::{Entry, Name};
use crate::stats::{Stats, StatusCode, bump};
use crate::{
    CallReply, ExitReason, GenServer, Info, InitError, Next, Runtime, StartError, current,
};
use beamline_wire::{Pid, ProcessKind};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// Messages handled back to back before the loop yields to the scheduler.
const BATCH: u32 = 32;

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
    pub(crate) claim: Option<crate::key_registry::Claim>,
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

/// The process's own side: mailbox receiver, system channel and state. When it is dropped
/// without having finished (a brutal kill aborts the task), the exit is recorded as `killed`.
struct Core<S: GenServer> {
    cell: Arc<ProcessCell>,
    rx: Rx<Envelope<S>>,
    state: Option<S>,
    finished: bool,
    /// The callbacks' context. Kept here, not beside the core, so that a call's reply handle
    /// is dropped only after the exit reason is recorded (the caller then sees why).
    ctx: Ctx<S>,
    /// The reply handle of a call whose callback panicked, held until the exit is recorded.
    dying_reply: Option<oneshot::Sender<S::Reply>>,
}

impl<S: GenServer> Core<S> {
    /// Record the exit (reason first, so callers whose requests are dropped see it), then drop
    /// what is queued, then the state.
    fn finish(&mut self, reason: ExitReason) {
        if self.finished {
            return;
        }
        self.finished = true;
        // Close first and count what is really queued, holding it until the exit is recorded
        // (so callers whose requests are dropped see why). Reading the mailbox length instead
        // raced with senders between their count and their push: such a message was counted
        // twice (dropped here, then a dead letter) or not at all. Found by the crash storm in
        // tests/tests/guarantees.rs. The close never waits: senders blocked for room under
        // `Overflow::Wait` are woken and refused (their casts become dead letters).
        let queued = self.rx.close_and_take();
        self.cell.finish(reason, queued.len() as u64);
        self.dying_reply = None;
        self.ctx.reply = None;
        drop(queued);
        drop(self.cell.sys.close_and_take());
        self.state = None;
    }
}

impl<S: GenServer> Drop for Core<S> {
    fn drop(&mut self) {
        self.finish(ExitReason::Killed);
    }
}

/// What to do after a callback.
enum Flow {
    Continue(Next),
    /// Exit without `terminate` (an untrapped exit signal).
    Die(ExitReason),
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
    let kind = opts.kind.unwrap_or(ProcessKind::Server);
    let pid = Pid(shared.next_pid.fetch_add(1, Relaxed));
    let now = shared.now_ns();
    let (tx, rx) = opts.mailbox.channel::<Envelope<S>>();
    let cell = Arc::new(ProcessCell {
        pid,
        shared: shared.clone(),
        meta: Meta {
            kind,
            behaviour: std::any::type_name::<S>(),
            parent: opts.parent.or(spawner.as_ref().map(|c| c.pid)),
            spawned_ns: now,
            place: (opts.name.is_some() || opts.child_id.is_some() || opts.slot.is_some()).then(
                || {
                    Box::new(Place {
                        name: opts.name.clone(),
                        child_id: opts.child_id.clone(),
                        slot: opts.slot.clone(),
                    })
                },
            ),
            capacity: opts.mailbox.capacity(),
            inspectable: S::INSPECTABLE,
        },
        stats: Stats::default(),
        sys: Default::default(),
        relations: Mutex::new(Relations::default()),
        exit: OnceLock::new(),
        exited: Notify::new(),
        abort: OnceLock::new(),
        trap_exit: AtomicBool::new(false),
        supervisor: (kind == ProcessKind::Supervisor).then(Box::default),
        logs: Mutex::new(None),
        keys: Default::default(),
    });
    let handle = ServerRef {
        cell: cell.clone(),
        tx,
    };
    if let Some(name) = &opts.name {
        let entry = Entry {
            cell: cell.clone(),
            typed: Arc::new(handle.clone()),
        };
        if let Err(existing) = shared.registry.register(name, entry) {
            return Err(StartError::AlreadyStarted(crate::ProcessRef {
                cell: existing.cell,
                typed: Some(existing.typed),
            }));
        }
    }
    if let Some(claim) = &opts.claim
        && let Err(e) = claim.take(&handle.process())
    {
        if let Some(name) = &opts.name {
            shared.registry.unregister(name, pid);
        }
        return Err(e);
    }
    if opts.link
        && let Some(parent) = &spawner
    {
        parent.link(&cell);
    }
    shared.table.insert(cell.clone());
    shared.spawned_total.fetch_add(1, Relaxed);
    cell.mark_dirty();
    cell.stats.set_status(StatusCode::Starting, now);
    tracing::debug!(%pid, name = opts.name.as_ref().map(tracing::field::display), behaviour = cell.meta.behaviour, "process spawned");

    let ctx = Ctx {
        myself: handle.clone(),
        rt: rt.clone(),
        reply: None,
        idle_timeout: None,
    };
    let mut core = Core {
        cell: cell.clone(),
        rx,
        state: None,
        finished: false,
        ctx,
        dying_reply: None,
    };
    // `init` runs here, on the starter's task but as the new process (inside it, `self` is the
    // new pid and links, monitors and logs are its own), and the starter waits for it as OTP's
    // `start_link` does. The process's own task is spawned only once there is a state to run:
    // one task, no init handshake, and a smaller future per process. If the starter's future is
    // dropped mid-init, the process ends `killed` (its core is dropped).
    let init = {
        let init = current::CURRENT.scope(cell.clone(), guarded(S::init(args, &mut core.ctx)));
        killable(&cell, std::pin::pin!(init)).await
    };
    // An `init` that failed ends the process as itself (its exit logged as its own).
    let fail = |core: &mut Core<S>, reason: ExitReason| {
        current::CURRENT.sync_scope(cell.clone(), || core.finish(reason));
    };
    let state = match init {
        Some(Ok(Ok(state))) => state,
        Some(Ok(Err(InitError::Ignore))) => {
            fail(&mut core, ExitReason::Normal);
            return Err(StartError::Ignored);
        }
        Some(Ok(Err(InitError::Stop(reason)))) => {
            fail(&mut core, reason.clone());
            return Err(StartError::InitFailed(reason));
        }
        Some(Err(panic)) => {
            let reason = ExitReason::Panic(panic);
            fail(&mut core, reason.clone());
            return Err(StartError::InitFailed(reason));
        }
        None => {
            fail(&mut core, ExitReason::Killed);
            return Err(StartError::InitFailed(ExitReason::Killed));
        }
    };
    measure(&cell, &state);
    core.state = Some(state);
    let body = current::CURRENT.scope(cell.clone(), run(core));
    // Opt-in (Builder::task_metrics): tokio-metrics' per-task figures cost memory per process.
    let task = match rt.publish.task_monitor(shared, pid) {
        Some(monitor) => tokio::spawn(monitor.instrument(body)),
        None => tokio::spawn(body),
    };
    let _ = cell.abort.set(task.abort_handle());
    Ok(handle)
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

/// The life of a process after `init`: wait for a message, handle a batch, account for it.
/// (A plain `fn` returning an `async move` block rather than an `async fn`: the core is then
/// stored once in the task, not once as the argument and again as a local.)
#[allow(clippy::manual_async_fn)] // deliberate: see above
fn run<S: GenServer>(mut core: Core<S>) -> impl Future<Output = ()> {
    async move {
        let cell = core.cell.clone();
        let instrument = cell.shared.instrument;
        let stats = &cell.stats;
        let mut next = Next {
            timeout: core.ctx.idle_timeout.take(),
            ..Next::default()
        };
        // Messages handled since the last yield (a wait for messages is not counted as one:
        // at worst that brings a yield forward).
        let mut since_yield = 0u32;
        if instrument {
            // `init` returned: leaving `Starting` changes no counter the sampler watches, so
            // put the process on its list (once per process, not per message).
            stats.set_status(StatusCode::Idle, cell.now_ns());
            cell.mark_dirty();
        }
        let reason = loop {
            if next.hibernate {
                if let Some(state) = core.state.as_mut() {
                    state.hibernate();
                }
                bump(&stats.hibernations, 1);
                stats.set_status(StatusCode::Hibernating, cell.now_ns());
            } else if instrument {
                stats.status.store(StatusCode::Idle as u8, Relaxed);
            }
            if instrument && stats.measure_requested.swap(false, Relaxed) {
                measure(&cell, core.state.as_ref().expect("state is set after init"));
            }
            let mut event = next_event(&cell, &mut core.rx, next.timeout).await;
            let start = if instrument {
                let now = cell.now_ns();
                stats.batch_start_ns.store(now, Relaxed);
                stats.status_since_ns.store(now, Relaxed);
                stats.note_peak();
                now
            } else {
                0
            };
            let mut handled = 0u32;
            let flow = loop {
                let flow = handle(&mut core, event).await;
                handled += 1;
                match &flow {
                    Flow::Continue(n) if *n == Next::default() && handled < BATCH => {}
                    _ => break flow,
                }
                // `try_pop` on the (almost always empty) system queue is one relaxed load
                // unless something is queued.
                if let Some(sys) = cell.sys.try_pop() {
                    event = Event::Sys(sys);
                } else if let Some(env) = core.rx.try_recv() {
                    event = Event::Msg(env);
                } else {
                    break flow;
                }
            };
            if instrument {
                let end = cell.now_ns();
                let took = end.saturating_sub(start);
                bump(&stats.busy_ns, took);
                stats.batch_start_ns.store(0, Relaxed);
                let per = took / handled as u64;
                if per > stats.max_handle_ns.load(Relaxed) {
                    stats.max_handle_ns.store(per, Relaxed);
                }
                cell.mark_dirty();
            }
            // Only what the next round needs stays live across these awaits (a stop leaves the
            // loop first), which keeps every process's future small.
            match flow {
                Flow::Continue(mut n) => {
                    if let Some(reason) = n.stop.take() {
                        break reason;
                    }
                    next = n;
                }
                Flow::Die(reason) => {
                    core.finish(reason);
                    return;
                }
            }
            // Every BATCH messages, give the scheduler a turn, as the BEAM does after a budget
            // of reductions, so a flooded process cannot starve the others on its thread: the
            // mailbox never returns `Pending` while messages wait. Counted across batches,
            // since a callback that returns an idle timeout or hibernates ends its batch early.
            since_yield += handled;
            if since_yield >= BATCH {
                since_yield = 0;
                tokio::task::yield_now().await;
            }
        };
        terminate(&mut core, reason.clone()).await;
        core.finish(reason);
    }
}

enum Event<S: GenServer> {
    Sys(Sys),
    Msg(Envelope<S>),
    Timeout,
}

/// Wait for what comes next: a system message first, then the mailbox, then the idle timeout.
async fn next_event<S: GenServer>(
    cell: &ProcessCell,
    rx: &mut Rx<Envelope<S>>,
    timeout: Option<Duration>,
) -> Event<S> {
    // Boxed because it is rare: an unboxed `Sleep` would make every process's future larger.
    let mut sleep = timeout.map(|t| Box::pin(tokio::time::sleep(t)));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(sys) = cell.sys.poll_pop(cx) {
            return Poll::Ready(Event::Sys(sys));
        }
        if let Poll::Ready(env) = rx.poll_recv(cx) {
            return Poll::Ready(Event::Msg(env));
        }
        match sleep.as_mut().map(|s| s.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Event::Timeout),
            _ => Poll::Pending,
        }
    })
    .await
}

/// Count a message taken from the mailbox: what the process is now doing, the message's wait
/// (if it was stamped) and its kind.
#[inline]
fn taken(
    cell: &ProcessCell,
    status: StatusCode,
    handled: &std::sync::atomic::AtomicU64,
    stamp: u64,
) {
    cell.stats.status.store(status as u8, Relaxed);
    waited(cell, stamp);
    bump(handled, 1);
}

/// Record the mailbox wait of a stamped message.
#[inline]
fn waited(cell: &ProcessCell, stamp: u64) {
    if stamp != 0 {
        let now = cell.now_ns();
        bump(&cell.stats.wait_ns, now.saturating_sub(stamp));
        bump(&cell.stats.wait_samples, 1);
    }
}

/// Handle one event; a panic in the callback becomes a stop with the panic as reason
/// (`terminate` then runs, as in OTP).
/// (Not an `async fn`, for the same reason as [`run`]: the event is stored once.)
#[allow(clippy::manual_async_fn)]
fn handle<S: GenServer>(core: &mut Core<S>, event: Event<S>) -> impl Future<Output = Flow> + '_ {
    async move {
        let cell = &core.cell;
        let instrument = cell.shared.instrument;
        let state = core.state.as_mut().expect("state is set after init");
        let ctx = &mut core.ctx;
        let outcome = match event {
            Event::Msg(env) => {
                if instrument {
                    bump(&cell.stats.dequeued, 1);
                }
                match env {
                    Envelope::Call(msg, reply, stamp) => {
                        if instrument {
                            taken(
                                cell,
                                StatusCode::HandlingCall,
                                &cell.stats.handled_call,
                                stamp,
                            );
                        }
                        ctx.reply = Some(reply);
                        let r = guarded(state.handle_call(msg, ctx)).await;
                        let reply = ctx.reply.take();
                        match r {
                            Ok(CallReply { reply: value, next }) => {
                                if let (Some(value), Some(tx)) = (value, reply) {
                                    let _ = tx.send(value);
                                }
                                Ok(next)
                            }
                            Err(panic) => {
                                core.dying_reply = reply;
                                Err(panic)
                            }
                        }
                    }
                    Envelope::Cast(msg, stamp) => {
                        if instrument {
                            taken(
                                cell,
                                StatusCode::HandlingCast,
                                &cell.stats.handled_cast,
                                stamp,
                            );
                        }
                        guarded(state.handle_cast(msg, ctx)).await
                    }
                    Envelope::Info(msg, stamp) => {
                        if instrument {
                            taken(
                                cell,
                                StatusCode::HandlingInfo,
                                &cell.stats.handled_info,
                                stamp,
                            );
                        }
                        guarded(state.handle_info(Info::Msg(msg), ctx)).await
                    }
                }
            }
            Event::Timeout => {
                info_status(cell);
                guarded(state.handle_info(Info::Timeout, ctx)).await
            }
            Event::Sys(sys) => match sys {
                Sys::Stop(reason) => Ok(Next::stop(reason)),
                Sys::Kill => return Flow::Die(ExitReason::Killed),
                Sys::Exit { from, reason } => {
                    if cell.trap_exit.load(Relaxed) {
                        info_status(cell);
                        // The parent's exit ends a trapping process whatever `handle_info`
                        // does, as in OTP's gen_server; `handle_info` may pick its own reason.
                        // (Boxed: held across the callback, in every process's future.)
                        let parent = (cell.meta.parent == Some(from)).then(|| reason.clone());
                        let reason = *reason;
                        let r = guarded(state.handle_info(Info::Exit { from, reason }, ctx)).await;
                        r.map(|next| match parent {
                            Some(reason) if next.stop.is_none() => Next::stop(*reason),
                            _ => next,
                        })
                    } else if *reason != ExitReason::Normal {
                        // Only `normal` is ignored, as in OTP: `shutdown` ends it too.
                        return Flow::Die(*reason);
                    } else {
                        Ok(Next::noreply())
                    }
                }
                Sys::Down(down) => {
                    cell.monitor_fired(down.monitor);
                    info_status(cell);
                    guarded(state.handle_info(Info::Down(*down), ctx)).await
                }
                Sys::Inspect(tx) => {
                    let rendering = S::INSPECTABLE.then(|| bounded(state.inspect()));
                    let _ = tx.send(rendering);
                    Ok(Next::noreply())
                }
            },
        };
        match outcome {
            Ok(next) => Flow::Continue(next),
            Err(panic) => {
                tracing::error!(pid = %cell.pid, name = cell.meta.name().map(tracing::field::display), behaviour = cell.meta.behaviour, panic = %panic, "process crashed");
                Flow::Continue(Next::stop(ExitReason::Panic(panic)))
            }
        }
    }
}

fn info_status(cell: &ProcessCell) {
    if cell.shared.instrument {
        cell.stats
            .status
            .store(StatusCode::HandlingInfo as u8, Relaxed);
        bump(&cell.stats.handled_info, 1);
    }
}

/// State renderings are cut to this many bytes.
const MAX_RENDERING: usize = 4096;

fn bounded(mut s: String) -> String {
    if s.len() > MAX_RENDERING {
        let mut cut = MAX_RENDERING;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Run `terminate`, catching a panic in it.
async fn terminate<S: GenServer>(core: &mut Core<S>, reason: ExitReason) {
    core.cell
        .stats
        .set_status(StatusCode::Terminating, core.cell.now_ns());
    if let Some(state) = core.state.as_mut()
        && let Err(panic) = guarded(state.terminate(&reason, &mut core.ctx)).await
    {
        tracing::error!(pid = %core.cell.pid, panic = %panic, "terminate panicked");
    }
}

/// Measure the state on the process's own task.
fn measure<S: GenServer>(cell: &ProcessCell, state: &S) {
    if !cell.shared.instrument {
        return;
    }
    let size = state.state_size();
    cell.stats.state_bytes.store(size.bytes, Relaxed);
    cell.stats.state_deep.store(size.deep, Relaxed);
}
