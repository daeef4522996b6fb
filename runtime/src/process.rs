//! The shared record of one process ([`ProcessCell`]) and of the runtime ([`Shared`]).
//!
//! A cell is what outsiders hold: handles, the registry, links and monitors, the sampler. It
//! carries the counters, the system-message channel, the relations (links and monitors) and,
//! once the process is gone, its exit reason. The process's state and mailbox receiver are not
//! here: they belong to the process's own task.

use crate::ExitReason;
use crate::queue::Queue;
use crate::registry::{Name, Registry};
use crate::stats::{Stats, StatusCode};
use beamline_wire::{Pid, ProcessKind};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
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
}

/// Fixed facts about a process, known at spawn.
pub(crate) struct Meta {
    pub kind: ProcessKind,
    pub behaviour: &'static str,
    pub parent: Option<Pid>,
    pub spawned_ns: u64,
    /// Name, child id and slot, boxed because most processes (pool workers, per-request
    /// processes) have none of them and every byte here is paid per process.
    pub place: Option<Box<Place>>,
    pub capacity: Option<u64>,
    pub inspectable: bool,
}

/// Where a process sits: its registered name and, under a supervisor, its child slot.
#[derive(Default)]
pub(crate) struct Place {
    pub name: Option<Name>,
    pub child_id: Option<String>,
    pub slot: Option<Arc<SlotInfo>>,
}

impl Meta {
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
    pub exited: bool,
}

/// The shared record of one process.
pub struct ProcessCell {
    pub(crate) pid: Pid,
    pub(crate) shared: Arc<Shared>,
    pub(crate) meta: Meta,
    pub(crate) stats: Stats,
    /// System messages (exit signals, stop, down, inspect), handled before the mailbox.
    pub(crate) sys: Queue<Sys>,
    pub(crate) relations: Mutex<Relations>,
    pub(crate) exit: OnceLock<ExitReason>,
    pub(crate) exited: Notify,
    pub(crate) abort: OnceLock<AbortHandle>,
    pub(crate) trap_exit: AtomicBool,
    /// Boxed: only supervisors have it, and every process pays for the field's size.
    pub(crate) supervisor: Option<Box<SupervisorStats>>,
    /// Recent log lines emitted inside this process (see [`crate::logs`]).
    /// Boxed on the first line: most processes never log, and an empty `VecDeque` inline is
    /// four words per process where the box is one.
    #[allow(clippy::box_collection)]
    pub(crate) logs: Mutex<Option<Box<VecDeque<String>>>>,
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
        match self.abort.get() {
            Some(h) => h.abort(),
            None => {
                self.send_sys(Sys::Kill);
            }
        }
    }

    /// Record the exit and tell everyone who needs to know. Runs exactly once per process,
    /// from the process's own task (or its drop when aborted).
    pub(crate) fn finish(self: &Arc<Self>, reason: ExitReason, dropped_in_mailbox: u64) {
        if self.exit.set(reason.clone()).is_err() {
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
            rel.exited = true;
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
            tracing::warn!(pid = %self.pid, name = self.meta.name().map(tracing::field::display), behaviour = self.meta.behaviour, %reason, "process exited");
        } else {
            tracing::debug!(pid = %self.pid, name = self.meta.name().map(tracing::field::display), behaviour = self.meta.behaviour, %reason, "process exited");
        }
        shared.table.on_exit(self);
        self.mark_dirty();
        self.exited.notify_waiters();
    }
}

/// Exited processes kept for the sampler (so short-lived ones are seen at least once), at most.
pub(crate) const MAX_RETAINED_EXITED: usize = 10_000;

const TABLE_SHARDS: usize = 64;

/// The table's hash for pids: one multiply and a fold instead of SipHash, whose resistance to
/// chosen keys is not needed (the runtime picks pids) and which cost ~100 instructions a spawn.
#[derive(Default, Clone, Copy)]
pub(crate) struct PidHasher(u64);

impl std::hash::Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing, then the high half folded down: pids in one shard differ only in
        // their high bits (they are 64 apart), and the map indexes buckets by the low bits.
        let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }
}

type PidMap = HashMap<u64, Arc<ProcessCell>, std::hash::BuildHasherDefault<PidHasher>>;

/// Every live (and recently exited) process, sharded by pid so spawns on many cores do not
/// contend. Touched only at spawn, at exit and by the sampler.
pub(crate) struct Table {
    shards: Vec<Mutex<PidMap>>,
    pub retained_exited: AtomicUsize,
    pub live: AtomicUsize,
}

impl Table {
    fn new() -> Self {
        Table {
            shards: (0..TABLE_SHARDS)
                .map(|_| Mutex::new(PidMap::default()))
                .collect(),
            retained_exited: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
        }
    }

    fn shard(&self, pid: Pid) -> std::sync::MutexGuard<'_, PidMap> {
        self.shards[(pid.0 as usize) % TABLE_SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn insert(&self, cell: Arc<ProcessCell>) {
        self.live.fetch_add(1, Relaxed);
        self.shard(cell.pid).insert(cell.pid.0, cell);
    }

    pub(crate) fn get(&self, pid: Pid) -> Option<Arc<ProcessCell>> {
        self.shard(pid).get(&pid.0).cloned()
    }

    fn on_exit(&self, cell: &ProcessCell) {
        self.live.fetch_sub(1, Relaxed);
        if !cell.shared.instrument || self.retained_exited.load(Relaxed) >= MAX_RETAINED_EXITED {
            self.shard(cell.pid).remove(&cell.pid.0);
        } else {
            self.retained_exited.fetch_add(1, Relaxed);
        }
    }

    /// Drop an exited process that the sampler has reported.
    pub(crate) fn forget(&self, pid: Pid) {
        if self.shard(pid).remove(&pid.0).is_some() {
            self.retained_exited.fetch_sub(1, Relaxed);
        }
    }

    /// Visit every process, one shard at a time (a shard is locked only while it is visited).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Arc<ProcessCell>)) {
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            for cell in shard.values() {
                f(cell);
            }
        }
    }

    /// A copy of the live cells (for shutdown and tests).
    pub(crate) fn cells(&self) -> Vec<Arc<ProcessCell>> {
        let mut out = Vec::new();
        self.for_each(|c| out.push(c.clone()));
        out
    }
}

const DIRTY_SHARDS: usize = 16;

/// The processes that changed since the sampler's last tick, sharded so that processes on many
/// cores do not contend. A process appears at most once per tick (see `Stats::dirty`).
pub(crate) struct DirtyList {
    shards: Vec<Mutex<Vec<Arc<ProcessCell>>>>,
}

impl DirtyList {
    fn new() -> Self {
        DirtyList {
            shards: (0..DIRTY_SHARDS).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    fn push(&self, cell: Arc<ProcessCell>) {
        let i = cell.pid.0 as usize % DIRTY_SHARDS;
        self.shards[i]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cell);
    }

    /// Take everything recorded so far.
    pub(crate) fn drain(&self) -> Vec<Arc<ProcessCell>> {
        let mut out = Vec::new();
        for shard in &self.shards {
            out.append(&mut shard.lock().unwrap_or_else(|p| p.into_inner()));
        }
        out
    }
}

/// State shared by everything in one runtime.
pub(crate) struct Shared {
    pub epoch: tokio::time::Instant,
    pub started_unix_ms: u64,
    pub incarnation: u64,
    pub node: String,
    pub instrument: bool,
    pub next_pid: AtomicU64,
    pub next_ref: AtomicU64,
    pub table: Table,
    pub registry: Registry,
    pub dead_letters: AtomicU64,
    /// Messages dropped anywhere since start: overflow policies and crashes.
    pub dropped_total: AtomicU64,
    /// Whether a sampler is running; only then do processes put themselves on `dirty`.
    pub sampling: AtomicBool,
    /// Processes that changed since the last tick.
    pub dirty: DirtyList,
    pub spawned_total: AtomicU64,
    pub exited_total: AtomicU64,
    pub shutting_down: AtomicBool,
    /// Sampling interval in milliseconds; the sampler reads it every tick.
    pub interval_ms: AtomicU64,
    /// The root supervisor, started on first use.
    pub root: tokio::sync::OnceCell<crate::supervisor::Supervisor>,
    /// Calls waiting for a reply, for their timeouts.
    pub deadlines: Arc<crate::deadline::Deadlines>,
}

impl Shared {
    pub(crate) fn new(node: String, instrument: bool, interval_ms: u64) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Shared {
            epoch: tokio::time::Instant::now(),
            started_unix_ms: started.as_millis() as u64,
            incarnation: started.as_nanos() as u64 ^ ((std::process::id() as u64) << 32),
            node,
            instrument,
            next_pid: AtomicU64::new(1),
            next_ref: AtomicU64::new(1),
            table: Table::new(),
            registry: Registry::new(),
            dead_letters: AtomicU64::new(0),
            dropped_total: AtomicU64::new(0),
            sampling: AtomicBool::new(false),
            dirty: DirtyList::new(),
            spawned_total: AtomicU64::new(0),
            exited_total: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            interval_ms: AtomicU64::new(interval_ms),
            root: tokio::sync::OnceCell::new(),
            deadlines: Default::default(),
        }
    }

    /// Nanoseconds since the runtime started, never 0 (0 means "not set" in the counters).
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64 + 1
    }

    pub(crate) fn next_ref(&self) -> MonitorRef {
        MonitorRef(self.next_ref.fetch_add(1, Relaxed))
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
        if a.exited || b.exited {
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
            if !t.exited {
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
mod pid_hash_tests {
    use super::*;
    use std::hash::Hasher;

    /// Pids in one table shard are 64 apart; their hashes must still spread over the low bits
    /// the map indexes buckets by, or every spawn would probe a long chain.
    #[test]
    fn pids_one_shard_apart_spread_over_buckets() {
        let buckets: std::collections::HashSet<u64> = (0..1024u64)
            .map(|j| {
                let mut h = PidHasher::default();
                h.write_u64(7 + 64 * j);
                h.finish() & 1023
            })
            .collect();
        assert!(
            buckets.len() > 600,
            "only {} of 1024 buckets used",
            buckets.len()
        );
    }
}
