//! The shared record of one process: [`ProcessCell`], its links and monitors, and what happens
//! when it exits.
//!
//! A cell is what outsiders hold: handles, the registry, links and monitors, the sampler. It
//! carries the counters, the system-message channel, the relations (links and monitors) and,
//! once the process is gone, its exit reason. The process's state and mailbox receiver are not
//! here: they belong to the process's own task.

use crate::ExitReason;
use crate::node::Node;
use crate::queue::Queue;
use crate::registry::{Holder, Name};
use crate::stats::{Stats, StatusCode};
use crate::table::Keyed;
use beamline_wire::{Pid, ProcessKind};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use thin_vec::ThinVec;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// A monitor's identity, returned by `monitor` and carried in the down message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MonitorRef(pub(crate) u64);

/// The notice a monitor delivers when the watched process exits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Down {
    /// Which monitor fired.
    pub monitor: MonitorRef,
    /// The process that went down.
    pub pid: Pid,
    /// Why; [`ExitReason::NoProcess`] if it was already gone when monitored.
    pub reason: ExitReason,
}

/// Messages the runtime itself sends to a process; they bypass bounded mailboxes and are handled
/// before ordinary messages.
pub(crate) enum Sys {
    /// An exit signal from a link, or `exit(pid, reason)`. (Payloads are boxed here and in
    /// `Down`: they are rare, and the largest variant sets the size of every process's future.)
    Exit { from: Pid, reason: Box<ExitReason> },
    /// An orderly stop request: `terminate` runs with this reason.
    Stop(ExitReason),
    /// A monitor fired.
    Down(Box<Down>),
    /// A brutal kill requested before the task's abort handle was known.
    Kill,
    /// Render the state (opt-in), bounded.
    Inspect(tokio::sync::oneshot::Sender<Option<String>>),
    /// Measure the state now (publishing started: the size known may be from long ago). Taken
    /// outside any callback, it leaves the process's idle timeout and hibernation as they were.
    Measure,
}

/// The restart history of a supervised child slot, shared by all its incarnations.
#[derive(Default)]
pub(crate) struct SlotInfo {
    pub restarts: AtomicU32,
    pub exits: Mutex<VecDeque<String>>,
}

/// How many exit reasons a child slot remembers.
pub(crate) const EXIT_HISTORY: usize = 8;

impl SlotInfo {
    pub(crate) fn record_exit(&self, reason: &ExitReason) {
        let mut exits = self.exits.lock().unwrap_or_else(|p| p.into_inner());
        if exits.len() == EXIT_HISTORY {
            exits.pop_front();
        }
        exits.push_back(reason.to_string());
    }
}

/// How the runtime reaches a supervisor from outside its typed handle.
pub(crate) type RestartHook =
    Box<dyn Fn(Pid, tokio::sync::oneshot::Sender<Result<(), String>>) + Send + Sync>;

/// What a supervisor publishes about itself.
#[derive(Default)]
pub(crate) struct SupervisorStats {
    /// Asks the supervisor to restart the child with this pid (the observer's restart action).
    pub restart_hook: OnceLock<RestartHook>,
    pub strategy: OnceLock<&'static str>,
    pub max_restarts: AtomicU32,
    pub period_ms: AtomicU64,
    pub restarts_in_window: AtomicU32,
    pub children: AtomicU32,
    /// Children whose restart failed and is being retried (OTP's `restarting`).
    pub restarting: AtomicU32,
}

/// Fixed facts about a process, known at spawn.
///
/// Every byte here is paid per process: what most processes lack is boxed in [`Place`], what
/// is the same for every process of a server is behind [`Meta::server`], and the process's kind
/// sits in the cell beside its flags (a byte here would cost a word of padding).
pub(crate) struct Meta {
    /// The server's type name and its messages' names (one pointer for all; see
    /// [`Meta::behaviour`], [`Meta::names`]).
    pub(crate) server: fn() -> crate::msg_types::table::Names,
    /// The parent's pid, 0 for none (pids start at 1): a word where `Option<Pid>` takes two,
    /// in every process (see [`Meta::parent`]).
    pub(crate) parent: u64,
    pub spawned_ns: u64,
    /// Name, child id, slot and a bounded mailbox's capacity, boxed because most processes
    /// (pool workers, per-request processes) have none of them.
    pub place: Option<Box<Place>>,
}

/// Where a process sits: its registered name and, under a supervisor, its child slot; and its
/// mailbox's capacity if bounded (mailboxes are unbounded unless asked).
#[derive(Default)]
pub(crate) struct Place {
    pub name: Option<Name>,
    pub child_id: Option<String>,
    pub slot: Option<Arc<SlotInfo>>,
    pub capacity: Option<u64>,
}

impl Meta {
    /// The server's type name.
    pub(crate) fn behaviour(&self) -> &'static str {
        (self.server)().behaviour
    }

    /// How the server's messages are named.
    pub(crate) fn names(&self) -> crate::msg_types::table::Names {
        (self.server)()
    }

    pub(crate) fn parent(&self) -> Option<Pid> {
        (self.parent != 0).then_some(Pid(self.parent))
    }

    /// The mailbox's capacity, `None` when unbounded.
    pub(crate) fn capacity(&self) -> Option<u64> {
        self.place.as_ref().and_then(|p| p.capacity)
    }

    /// Whether the server lets observers render its state (`GenServer::INSPECTABLE`).
    pub(crate) fn inspectable(&self) -> bool {
        (self.server)().inspectable
    }

    pub(crate) fn name(&self) -> Option<&Name> {
        self.place.as_ref().and_then(|p| p.name.as_ref())
    }

    pub(crate) fn child_id(&self) -> Option<&String> {
        self.place.as_ref().and_then(|p| p.child_id.as_ref())
    }

    pub(crate) fn slot(&self) -> Option<&Arc<SlotInfo>> {
        self.place.as_ref().and_then(|p| p.slot.as_ref())
    }
}

/// Links and monitors; guarded together so that exit and link/monitor never race.
#[derive(Default)]
pub(crate) struct Relations {
    /// (`ThinVec`s: one pointer each while empty, where a `Vec` takes three words, and every
    /// process has all three lists.)
    pub links: ThinVec<Arc<ProcessCell>>,
    /// Processes this one monitors.
    pub monitors: ThinVec<(MonitorRef, Arc<ProcessCell>)>,
    /// Processes monitoring this one.
    pub monitored_by: ThinVec<(MonitorRef, Arc<ProcessCell>)>,
}

/// The shared record of one process.
pub struct ProcessCell {
    pub(crate) pid: Pid,
    pub(crate) shared: Arc<Shared>,
    pub(crate) meta: Meta,
    /// What it is (server, supervisor, …); here beside the flags rather than in [`Meta`],
    /// where its byte would cost a word of padding.
    pub(crate) kind: ProcessKind,
    pub(crate) stats: Stats,
    /// System messages (exit signals, stop, down, inspect), handled before the mailbox.
    pub(crate) sys: Queue<Sys>,
    pub(crate) relations: Mutex<Relations>,
    /// Set when the process exits and its relations are taken: no link or monitor is added
    /// after that. Read and written only while holding `relations`' lock, which orders it (so
    /// relaxed); kept outside the lock's data, where it would cost a word of padding.
    pub(crate) relations_closed: AtomicBool,
    /// Why it exited, once it has. Boxed at the exit (one small allocation per exit) rather
    /// than inline: an inline reason took 40 bytes of every live process's cell.
    pub(crate) exit: once_cell::race::OnceBox<ExitReason>,
    pub(crate) exited: Notify,
    /// The task's abort handle, set once at spawn. A lock rather than a `OnceLock`, the same
    /// size: a `OnceLock::set` cost about 80 instructions per spawn, an uncontended lock a few.
    pub(crate) abort: parking_lot::Mutex<Option<AbortHandle>>,
    pub(crate) trap_exit: AtomicBool,
    /// Whether a message trace follows this process (`trace.rs`): read by the process once per
    /// batch and every 8 messages within one.
    pub(crate) traced: AtomicBool,
    /// Boxed: only supervisors have it, and every process pays for the field's size.
    pub(crate) supervisor: Option<Box<SupervisorStats>>,
    /// Recent log lines emitted inside this process (see [`crate::logs`]).
    /// Boxed with its lock on the first line: most processes never log, and an empty
    /// `VecDeque` inline is four words per process where the box is one.
    pub(crate) logs: once_cell::race::OnceBox<Mutex<VecDeque<String>>>,
    /// Keys it holds in key/value registries, rendered for the observer; one pointer, allocated
    /// on the first registration (see `key_registry/shown.rs`).
    pub(crate) keys: crate::key_registry::shown::KeysSlot,
    /// Messages by type (`msg_types.rs`): the first type counted in place, a table allocated
    /// only when a second type arrives.
    pub(crate) msg_types: crate::msg_types::table::MsgTypes,
    /// Its top senders and receivers (`talkers.rs`): one pointer until its first sampled message.
    pub(crate) talkers: crate::talkers::table::TalkersSlot,
    /// The `beamline.process` span its message spans follow from (feature `otlp`, only when
    /// `Builder::message_spans` is on; one pointer otherwise).
    #[cfg(feature = "otlp")]
    pub(crate) span: once_cell::race::OnceBox<tracing::Span>,
}

impl ProcessCell {
    /// Queue a system message; once the process has exited it is dropped (nobody would read it).
    pub(crate) fn send_sys(&self, msg: Sys) {
        let _ = self.sys.push(msg, None, false, None);
    }

    pub(crate) fn has_exited(&self) -> bool {
        self.exit.get().is_some()
    }

    pub(crate) fn now_ns(&self) -> u64 {
        self.shared.now_ns()
    }

    /// A callback of this process returned `Pending` (`panic::Guarded`): if it is the first
    /// await of the message being handled, that message's handling is timed from now
    /// ([`crate::stats::Stats::since_is_stale`]). Not on the message path: only callbacks that
    /// wait get here, and their wait costs far more.
    #[cold]
    #[inline(never)]
    pub(crate) fn callback_pended(&self) {
        if self.shared.instrument && self.stats.first_wait_of_message() {
            self.stats.status_since_ns.store(self.now_ns(), Relaxed);
        }
    }

    pub(crate) fn relations(&self) -> std::sync::MutexGuard<'_, Relations> {
        self.relations.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait until the process has exited; returns its reason.
    ///
    /// Cancel safety: cancel safe.
    pub(crate) async fn wait_exit(&self) -> ExitReason {
        loop {
            let notified = self.exited.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = self.exit.get() {
                return r.clone();
            }
            notified.await;
        }
    }

    /// Send an exit signal. `Killed` aborts the task at once (no `terminate`).
    pub(crate) fn exit_signal(&self, from: Pid, reason: ExitReason) {
        if reason == ExitReason::Killed {
            self.kill();
            return;
        }
        self.send_sys(Sys::Exit {
            from,
            reason: Box::new(reason),
        });
    }

    /// Brutal kill: abort the task; its exit bookkeeping runs as the task is dropped.
    pub(crate) fn kill(&self) {
        // Cloned out of the lock: the abort may run the task's drop on this thread.
        let handle = self.abort.lock().clone();
        match handle {
            Some(h) => h.abort(),
            None => {
                self.send_sys(Sys::Kill);
            }
        }
    }

    /// Record the exit and tell everyone who needs to know. Runs exactly once per process,
    /// from the process's own task (or its drop when aborted).
    pub(crate) fn finish(self: &Arc<Self>, reason: ExitReason, dropped_in_mailbox: u64) {
        if self.exit.set(Box::new(reason.clone())).is_err() {
            return;
        }
        let now = self.now_ns();
        self.stats.set_status(StatusCode::Exited, now);
        self.stats.batch_start_ns.store(0, Relaxed);
        let shared = &self.shared;
        if dropped_in_mailbox > 0 {
            self.stats.dropped.fetch_add(dropped_in_mailbox, Relaxed);
            shared.dropped_total.fetch_add(dropped_in_mailbox, Relaxed);
        }
        shared.exited_total.fetch_add(1, Relaxed);
        if let Some(slot) = self.meta.slot() {
            slot.record_exit(&reason);
        }
        if let Some(name) = self.meta.name() {
            shared.registry.unregister(name, self.pid);
        }
        let rel = {
            let mut rel = self.relations();
            let taken = std::mem::take(&mut *rel);
            self.relations_closed.store(true, Relaxed);
            taken
        };
        for link in rel.links {
            link.relations().links.retain(|c| c.pid != self.pid);
            // Unlike an explicit kill, a linked process's `killed` exit can be trapped (OTP).
            link.send_sys(Sys::Exit {
                from: self.pid,
                reason: Box::new(reason.clone()),
            });
        }
        for (mref, watcher) in rel.monitored_by {
            watcher.send_sys(Sys::Down(Box::new(Down {
                monitor: mref,
                pid: self.pid,
                reason: reason.clone(),
            })));
        }
        for (mref, target) in rel.monitors {
            target.relations().monitored_by.retain(|(r, _)| *r != mref);
        }
        if reason.is_abnormal() {
            tracing::warn!(pid = %self.pid, name = self.meta.name().map(tracing::field::display), behaviour = self.meta.behaviour(), %reason, "process exited");
        } else {
            tracing::debug!(pid = %self.pid, name = self.meta.name().map(tracing::field::display), behaviour = self.meta.behaviour(), %reason, "process exited");
        }
        shared.table.on_exit(self.pid, shared.instrument);
        self.mark_dirty();
        self.exited.notify_waiters();
    }
}

/// The runtime-wide state, with its table and registry holding process cells.
pub(crate) type Shared = Node<ProcessCell>;

impl Shared {
    pub(crate) fn next_ref(&self) -> MonitorRef {
        MonitorRef(self.next_ref.fetch_add(1, Relaxed))
    }
}

impl Keyed for ProcessCell {
    fn key(&self) -> Pid {
        self.pid
    }
}

impl Holder for ProcessCell {
    fn has_exited(&self) -> bool {
        ProcessCell::has_exited(self)
    }
}

impl ProcessCell {
    /// Note that this process changed, for the sampler: the first change after the sampler read
    /// it puts it on the dirty list; later ones cost one relaxed load. Nothing is recorded while
    /// no sampler runs.
    #[inline]
    pub(crate) fn mark_dirty(self: &Arc<Self>) {
        if self.shared.sampling.load(Relaxed)
            && !self.stats.dirty.load(Relaxed)
            && !self.stats.dirty.swap(true, Relaxed)
        {
            self.shared.dirty.push(self.clone());
        }
    }

    /// Link two processes (both directions). Linking to a dead process sends this one an exit
    /// signal with reason `noproc`.
    pub(crate) fn link(self: &Arc<Self>, other: &Arc<ProcessCell>) {
        if self.pid == other.pid {
            return;
        }
        let (first, second) = if self.pid < other.pid {
            (self, other)
        } else {
            (other, self)
        };
        let mut a = first.relations();
        let mut b = second.relations();
        let closed = |c: &ProcessCell| c.relations_closed.load(Relaxed);
        if closed(first) || closed(second) {
            drop((a, b));
            if other.has_exited() {
                self.exit_signal(other.pid, ExitReason::NoProcess);
            }
            return;
        }
        if !a.links.iter().any(|c| c.pid == second.pid) {
            a.links.push(second.clone());
            b.links.push(first.clone());
        }
        drop((a, b));
        first.mark_dirty();
        second.mark_dirty();
    }

    /// Remove a link in both directions.
    pub(crate) fn unlink(&self, other: &ProcessCell) {
        self.relations().links.retain(|c| c.pid != other.pid);
        other.relations().links.retain(|c| c.pid != self.pid);
    }

    /// Monitor `target`; a down message arrives when it exits (at once if it already has).
    pub(crate) fn monitor(self: &Arc<Self>, target: &Arc<ProcessCell>) -> MonitorRef {
        let mref = self.shared.next_ref();
        {
            let mut t = target.relations();
            if !target.relations_closed.load(Relaxed) {
                t.monitored_by.push((mref, self.clone()));
                drop(t);
                self.relations().monitors.push((mref, target.clone()));
                self.mark_dirty();
                return mref;
            }
        }
        self.send_sys(Sys::Down(Box::new(Down {
            monitor: mref,
            pid: target.pid,
            reason: ExitReason::NoProcess,
        })));
        mref
    }

    /// Remove a monitor set by this process.
    pub(crate) fn demonitor(&self, mref: MonitorRef) {
        let target = {
            let mut mine = self.relations();
            let pos = mine.monitors.iter().position(|(r, _)| *r == mref);
            pos.map(|i| mine.monitors.swap_remove(i).1)
        };
        if let Some(t) = target {
            t.relations().monitored_by.retain(|(r, _)| *r != mref);
        }
    }

    /// Forget a monitor that has fired (its down message is being delivered).
    pub(crate) fn monitor_fired(&self, mref: MonitorRef) {
        self.relations().monitors.retain(|(r, _)| *r != mref);
    }
}

#[cfg(test)]
mod tests {
    /// Every process pays for its cell, allocated in an `Arc` (two counters) with glibc's
    /// malloc (8 bytes of header, rounded up to 16): at 472 bytes it takes a 496-byte chunk,
    /// 8 bytes more would take 512, and the RSS per idle process (issue 15: at most 1.25x a
    /// raw tokio task) grows by that much at every scale.
    #[cfg(not(feature = "otlp"))]
    #[test]
    fn a_process_cell_stays_in_its_allocation_class() {
        let size = std::mem::size_of::<super::ProcessCell>();
        assert!(size <= 472, "{size} bytes");
    }
}
