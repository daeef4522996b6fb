//! The sampler: once per interval it reads the processes that changed, turns them into wire
//! [`beamline_wire::ProcessSample`]s and publishes them as a [`beamline_wire::Delta`] (and, when a subscriber
//! needs one, a full [`beamline_wire::Snapshot`]) to the hub.
//!
//! Cost follows change, not process count, on every side:
//!
//! - a tick reads only the processes on the dirty list (those that changed since the last tick,
//!   see `dirty.rs`) and those it must read again (still active, just exited); every process
//!   only on a full scan: the first tick after going idle, or when a snapshot is wanted;
//! - per process it reads a handful of relaxed atomics and compares them with what it saw last
//!   tick; it builds a full sample (strings, vectors) only for processes whose counters moved,
//!   that changed status, or whose rates were non-zero last time (so they drop to zero);
//! - a delta carries only those samples, plus the pids removed since.
//!
//! Memory caps (documented in `docs/PUBLISHING.md`): one `Prev` (about 150 bytes with its
//! hash-map slot, plus 80 for a process that has a per-type table) per process sampled;
//! [`TICK_BACKLOG`] ticks kept for subscribers; samples cut as `to_wire.rs` says; frames split
//! as `frames.rs` says.
//!
//! The sampler starts lazily, on the first subscription, and goes idle (dropping its working set
//! and turning dirty tracking off) while nobody subscribes, so an unobserved runtime pays nothing.

use super::frames::{self, Deferred, Found, Header, Rates, Tick};
use super::hub::{Hub, Publish};
use super::prev::ShardedMap;
use super::slice::{self, Slicer};
use super::stream;
use super::to_wire::{self, Base};
use super::type_names::TypeNames;
use crate::msg_types::table::{Counts, MsgTypes, Names};
use crate::process::ProcessCell;
use beamline_wire::{Pid, SystemSample};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_metrics::TaskMonitor;

pub use super::frames::{CHUNK_BYTES, CHUNK_PROCESSES};
pub use super::hub::TICK_BACKLOG;
pub use super::interval::{MAX_INTERVAL, MIN_INTERVAL};
pub use super::to_wire::{MAX_LIST, MAX_TEXT};

/// The runtime's hub, starting the sampler on first use.
pub(crate) fn hub(publish: &Arc<Publish>) -> Arc<Hub> {
    publish
        .hub
        .get_or_init(|| {
            let (hub, tx) = Hub::new();
            tokio::spawn(Sampler::new(publish.clone(), hub.clone(), tx).run());
            hub
        })
        .clone()
}

/// What the sampler remembers about one process between ticks.
struct Prev {
    base: Base,
    sig: u64,
    /// The last sample had non-zero rates, so the next one differs even if nothing moved.
    active: bool,
    /// It was reported as exited; next tick it is removed.
    exit_reported: bool,
    /// The tick that last saw it; entries not seen by a full scan are removed.
    seen: u64,
    /// What it needs for its hottest type (80 bytes, only for a process that handled a
    /// message: 8 bytes otherwise).
    types: Option<Box<TypeMemory>>,
}

/// What [`Sampler::visit`] needs of a process's last reading (copied out of its [`Prev`]).
#[derive(Clone, Copy)]
struct Last {
    base: Base,
    sig: u64,
    active: bool,
    exit_reported: bool,
}

impl Last {
    fn of(p: &Prev) -> Last {
        Last {
            base: p.base,
            sig: p.sig,
            active: p.active,
            exit_reported: p.exit_reported,
        }
    }
}

/// A process's per-type counts at the last reading, and the id its hottest type was last given,
/// so that a process busy with the same type tick after tick is not named again.
#[derive(Default)]
struct TypeMemory {
    counts: Counts,
    /// Slot, the table's taken slots then, and the id.
    named: Option<(usize, u32, u32)>,
}

impl TypeMemory {
    /// The id of the type in `slot` of `table`, named and interned only when it is not the one
    /// named last time (or a new slot may have renamed it).
    fn id(
        &mut self,
        table: &MsgTypes,
        server: fn() -> Names,
        slot: usize,
        names: &TypeNames,
    ) -> Option<u32> {
        let taken = table.taken();
        if let Some((s, t, id)) = self.named
            && (s, t) == (slot, taken)
        {
            return Some(id);
        }
        let id = names.intern(table.slot_name(&server(), slot))?;
        self.named = Some((slot, taken, id));
        Some(id)
    }
}

struct Sampler {
    publish: Arc<Publish>,
    hub: Arc<Hub>,
    /// The only sender: dropping the sampler ends every subscription's stream.
    tx: broadcast::Sender<Arc<Tick>>,
    prev: ShardedMap<Prev>,
    tick_no: u64,
    /// Last sequence number published.
    seq: u64,
    /// Time of the previous tick (0: none since start or since going idle).
    last_ns: u64,
    runtime: Option<tokio_metrics::RuntimeIntervals>,
    /// Whether `prev` holds every process (after a full scan); until then a tick scans all.
    primed: bool,
    /// Processes to read again next tick even if they do not change: those that were active
    /// (their rates must fall back to zero), dirty (to catch changes racing with the read) or
    /// just reported as exited (to be removed).
    revisit: Vec<Arc<ProcessCell>>,
    /// The ticks published last, at most one more than the hub's ring holds (see `retire`).
    held: std::collections::VecDeque<Arc<Tick>>,
}

impl Sampler {
    fn new(publish: Arc<Publish>, hub: Arc<Hub>, tx: broadcast::Sender<Arc<Tick>>) -> Self {
        let runtime = tokio::runtime::Handle::try_current()
            .ok()
            .map(|h| tokio_metrics::RuntimeMonitor::new(&h).intervals());
        Sampler {
            publish,
            hub,
            tx,
            prev: ShardedMap::default(),
            tick_no: 0,
            seq: 0,
            last_ns: 0,
            runtime,
            primed: false,
            revisit: Vec::new(),
            held: std::collections::VecDeque::new(),
        }
    }

    /// Tick at the interval the subscriptions want, sooner when one wants a snapshot; idle while
    /// nobody subscribes. Ends only when its task is dropped (its tokio runtime shut down).
    async fn run(mut self) {
        let mut last: Option<Instant> = None;
        loop {
            if self.tx.receiver_count() == 0 && !self.publish.flight.wants_ticks() {
                self.go_idle();
                last = None;
                self.hub.wake.notified().await;
                continue;
            }
            let now = Instant::now();
            let interval = Duration::from_millis(self.publish.interval_ms());
            let mut due = last.map_or(now, |t| t + interval);
            if self.hub.snapshot_requested() {
                due = due.min(last.map_or(now, |t| t + MIN_INTERVAL));
            }
            if due > now {
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => {}
                    _ = self.hub.wake.notified() => continue,
                }
            }
            last = Some(Instant::now());
            let snapshot = self.hub.take_snapshot_request();
            let tick = self.tick(snapshot).await;
            let tick = Arc::new(tick);
            let _ = self.tx.send(tick.clone());
            self.retire(tick);
        }
    }

    /// Keep a hold on the ticks the hub's ring holds, so that the one leaving it is freed here,
    /// on a blocking thread, once nobody else holds it: freeing a tick (its samples, its encoded
    /// frames of megabytes) on the worker took up to 6 ms at 100,000 processes, most of it the
    /// allocator consolidating its free lists (issue 15). With no subscriber (the flight
    /// recorder alone keeps the sampler ticking) the ring keeps nothing, and neither does this.
    fn retire(&mut self, tick: Arc<Tick>) {
        self.held.push_back(tick);
        let keep = if self.tx.receiver_count() == 0 {
            0
        } else {
            TICK_BACKLOG + 1
        };
        while self.held.len() > keep {
            let old = self.held.pop_front();
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(move || drop(old))),
                Err(_) => drop(old),
            }
        }
    }

    /// Nobody listens: turn dirty tracking off for the whole runtime and drop the working set.
    fn go_idle(&mut self) {
        let shared = &self.publish.shared;
        shared.sampling.store(false, Relaxed);
        drop(shared.dirty.drain());
        // Freeing a million entries gives back ~150 MB, which costs the thread tens of ms.
        let prev = std::mem::take(&mut self.prev);
        if prev.len() > 4096
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn_blocking(move || drop(prev));
        }
        frames::drop_elsewhere(std::mem::take(&mut self.revisit));
        let held = std::mem::take(&mut self.held);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            drop(rt.spawn_blocking(move || drop(held)));
        }
        self.last_ns = 0;
        self.primed = false;
        self.publish.flight.clear();
    }

    /// Run one tick: read the processes that changed since the last one (all of them on a full
    /// scan) and plan the frames to publish, with a snapshot if `want_snapshot`. Long walks
    /// yield as they go (`slice.rs`), so a tick never holds a worker for long.
    async fn tick(&mut self, want_snapshot: bool) -> Tick {
        let cost = std::time::Instant::now();
        let now = self.publish.shared.now_ns();
        self.tick_no += 1;
        // Once primed, the dirty list says which processes changed, so a snapshot needs no
        // second reading of every process: the tick reads what changed (as any tick does) and
        // the snapshot lists the table's processes, read once, as its frames are built.
        let full = !self.primed;
        let mut scan = Scan {
            prev: std::mem::take(&mut self.prev),
            monitors: self.publish.task_monitors.current(),
            now,
            last_ns: self.last_ns,
            tick_no: self.tick_no,
            // Before the first full scan nobody takes deltas (every subscriber waits for a
            // snapshot), so no sample is built: the snapshot reads them as it is sent.
            build: self.primed,
            found: Found {
                built: Vec::new(),
                removed: Vec::new(),
                deferred: Vec::new(),
                deferred_sizes: Vec::new(),
                snapshot: (want_snapshot && full).then(|| {
                    let cells = Vec::new();
                    let rates = Rates::Lifetime;
                    (Deferred { cells, rates }, Vec::new())
                }),
            },
            handled: 0,
            revisit: Vec::new(),
            slicer: Slicer::new(),
            remembered: 0,
            gone: Default::default(),
            publish: self.publish.clone(),
        };
        // Time the walks gave their worker back (yields): other tasks' time, not the tick's.
        let mut waited = Duration::ZERO;
        if full {
            slice::counting_waits(self.scan_all(&mut scan), &mut waited).await;
        } else {
            slice::counting_waits(self.scan_changed(&mut scan), &mut waited).await;
        }
        self.release_reported_exits(&scan.found.removed);
        if full {
            scan.drop_unseen();
        } else if want_snapshot {
            let listed = slice::counting_waits(self.list_all(&mut scan), &mut waited).await;
            scan.found.snapshot = Some(listed);
        }
        #[cfg(test)]
        self.hub.reads.fetch_add(scan.remembered as u64, Relaxed);
        self.prev = std::mem::take(&mut scan.prev);
        self.revisit = std::mem::take(&mut scan.revisit);
        self.primed = true;
        let last_ns = std::mem::replace(&mut self.last_ns, now);
        let mut system = self.system_sample(last_ns, now, scan.handled);
        system.sample_cost_us = cost.elapsed().saturating_sub(waited).as_micros() as u64;
        let header = Header {
            first_seq: self.seq + 1,
            at_ms: now / 1_000_000,
            interval_ms: self.publish.interval_ms(),
            system,
        };
        let (tick, used) = frames::tick(header, scan.found).await;
        self.seq += used;
        if super::flight::feed::tick(&self.publish, &tick, now).await {
            let publish = self.publish.clone();
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(move || publish.flight.trim_now())),
                Err(_) => publish.flight.trim_now(),
            }
        }
        if self.hub.wire_subscribers.load(Relaxed) > 0 {
            tick.set_encoded_deltas(stream::encode_deltas(&tick, &self.publish).await);
        }
        tick
    }

    /// Read every process. Turns dirty tracking on for the whole runtime (the `sampling` flag)
    /// and empties the dirty list, which the scan makes redundant. One shard at a time, its
    /// lock held only to copy its pointers.
    async fn scan_all(&mut self, scan: &mut Scan) {
        let shared = self.publish.shared.clone();
        drop(shared.dirty.drain());
        shared.sampling.store(true, Relaxed);
        self.revisit.clear();
        // The map of previous readings is not reserved whole: it grows a shard at a time
        // (`prev.rs`). The snapshot's lists are plain vectors: reserving them only maps pages.
        let want = shared.table.live.load(Relaxed) + 16;
        if let Some((d, sizes)) = scan.found.snapshot.as_mut() {
            d.cells.reserve(want);
            sizes.reserve(want);
        }
        let mut cells = Vec::new();
        let mut measured = 0usize;
        for i in 0..shared.table.shard_count() {
            shared.table.copy_shard(i, &mut cells);
            // Each pointer is dropped as its process is visited, inside the slices: dropping
            // a shard's worth at once (15,000 at a million processes, a cache miss each) would
            // be one long poll.
            for cell in cells.drain(..) {
                if !self.primed && measure_now(&cell) {
                    measured += 1;
                    if measured.is_multiple_of(MEASURE_BATCH) {
                        // Each request wakes its process: let the woken ones run before
                        // waking more, so that a task woken meanwhile (a timer's) waits
                        // behind at most a batch of them, not a slice's 1,024.
                        tokio::task::yield_now().await;
                        #[cfg(test)]
                        self.hub.measure_yields.fetch_add(1, Relaxed);
                    }
                }
                let was_dirty = cell.stats.dirty.swap(false, Relaxed);
                scan.visit(&cell, was_dirty);
                drop(cell);
                scan.slicer.step().await;
            }
        }
    }

    /// A primed tick's snapshot: every process the table holds, to be read when its frame is
    /// built, but those whose sample this tick built (the snapshot takes those from `built`,
    /// with their rates). Reads no counters: one pointer copy and a size estimate each.
    async fn list_all(&self, scan: &mut Scan) -> (Deferred, Vec<u32>) {
        let table = &self.publish.shared.table;
        let want = table.live.load(Relaxed) + 16;
        let (mut cells, mut sizes) = (Vec::with_capacity(want), Vec::with_capacity(want));
        let any_built = !scan.found.built.is_empty();
        let mut shard = Vec::new();
        for i in 0..table.shard_count() {
            table.copy_shard(i, &mut shard);
            for cell in shard.drain(..) {
                if !(any_built && scan.built_now(&cell)) {
                    sizes.push(size(&cell));
                    cells.push(cell);
                }
                scan.slicer.step().await;
            }
        }
        let rates = Rates::Zero;
        (Deferred { cells, rates }, sizes)
    }

    /// Read the processes on the dirty list, then those kept for a second look, each once
    /// (the lists may repeat a process; nothing here sorts them, which would hold the worker
    /// for a long time on a big list).
    async fn scan_changed(&mut self, scan: &mut Scan) {
        let list = &self.publish.shared.dirty;
        for i in 0..list.shard_count() {
            let dirty = list.take_shard(i);
            for cell in &dirty {
                cell.stats.dirty.store(false, Relaxed);
                if !scan.visited(cell) {
                    scan.visit(cell, true);
                }
                scan.slicer.step().await;
            }
            frames::drop_elsewhere(dirty);
            tokio::task::yield_now().await;
        }
        let again = std::mem::take(&mut self.revisit);
        for cell in &again {
            if !scan.visited(cell) {
                scan.visit(cell, false);
            }
            scan.slicer.step().await;
        }
        frames::drop_elsewhere(again);
    }

    /// Processes whose exit observers have now seen: the table may let them go (it keeps exited
    /// processes until then), and their task monitors go with them.
    fn release_reported_exits(&self, pids: &[Pid]) {
        let shared = &self.publish.shared;
        for pid in pids {
            shared.table.release_exited(*pid);
        }
        self.publish.task_monitors.forget(pids);
    }

    /// The runtime-wide figures of a tick that started at `now` (the previous one at `last_ns`).
    fn system_sample(&mut self, last_ns: u64, now: u64, handled: u64) -> SystemSample {
        let shared = &self.publish.shared;
        let dt_s = now.saturating_sub(last_ns).max(1_000_000) as f64 / 1e9;
        let mut system = SystemSample {
            processes: shared.table.live.load(Relaxed) as u64,
            spawned_total: shared.spawned_total.load(Relaxed),
            exited_total: shared.exited_total.load(Relaxed),
            msgs_per_s: if last_ns == 0 {
                0.0
            } else {
                handled as f64 / dt_s
            },
            dropped_total: shared.dropped_total.load(Relaxed),
            dead_letters: shared.dead_letters.load(Relaxed),
            missed_updates: self.hub.missed_total.load(Relaxed),
            ..SystemSample::default()
        };
        self.runtime_figures(&mut system);
        system
    }

    /// Figures tokio exposes without unstable flags, and the local queue depth with them.
    fn runtime_figures(&mut self, system: &mut SystemSample) {
        let Some(m) = self.runtime.as_mut().and_then(|i| i.next()) else {
            return;
        };
        system.workers = m.workers_count as u64;
        system.global_queue_depth = m.global_queue_depth as u64;
        system.alive_tasks = m.live_tasks_count as u64;
        if m.workers_count > 0 && !m.elapsed.is_zero() {
            system.worker_busy = (m.busy_ratio() / m.workers_count as f64).clamp(0.0, 1.0);
        }
        #[cfg(tokio_unstable)]
        {
            system.local_queue_depth = m.total_local_queue_depth as u64;
        }
    }
}

/// One tick's walk over processes: what it remembers, and what it found.
struct Scan {
    prev: ShardedMap<Prev>,
    monitors: Option<HashMap<u64, TaskMonitor>>,
    now: u64,
    last_ns: u64,
    tick_no: u64,
    /// Whether to build the samples of processes that moved (someone takes the deltas).
    build: bool,
    found: Found,
    /// Messages handled in the interval, all processes together.
    handled: u64,
    revisit: Vec<Arc<ProcessCell>>,
    slicer: Slicer,
    /// Processes this tick remembered (to tell whether a full scan left any entry unseen).
    remembered: usize,
    /// Pids this tick reported removed (so that a list naming one twice does not revive it).
    gone: std::collections::HashSet<u64>,
    /// Where hot types are named.
    publish: Arc<Publish>,
}

impl Scan {
    /// Whether this tick already read `cell`.
    fn visited(&self, cell: &ProcessCell) -> bool {
        self.prev
            .get(cell.pid.0)
            .is_some_and(|p| p.seen == self.tick_no)
            || self.gone.contains(&cell.pid.0)
    }

    /// Whether this tick built `cell`'s sample (it moved; see `visit`).
    fn built_now(&self, cell: &ProcessCell) -> bool {
        self.build
            && self
                .prev
                .get(cell.pid.0)
                .is_some_and(|p| p.seen == self.tick_no && p.active)
    }

    /// Read one process and note what it shows. A process whose counters moved gets its sample
    /// built now (its rates need the previous reading); one that changed otherwise has zero
    /// rates, so its sample is deferred to when its frame is built, as is every process of a
    /// snapshot that is not in the delta.
    fn visit(&mut self, cell: &Arc<ProcessCell>, was_dirty: bool) {
        let pid = cell.pid.0;
        let exited = cell.has_exited();
        // One lookup: what the last reading left, and its type memory taken out (put back with
        // the new reading below).
        let (before, mut types) = match self.prev.get_mut(pid) {
            Some(p) => (Some(Last::of(p)), p.types.take()),
            None => (None, None),
        };
        if exited && before.is_some_and(|p| p.exit_reported) {
            self.prev.remove(pid);
            self.gone.insert(pid);
            self.found.removed.push(cell.pid);
            return;
        }
        if !exited {
            request_state_measure(cell);
        }
        let monitor = self.monitors.as_ref().and_then(|m| m.get(&pid));
        let r = to_wire::take_reading(cell, self.now, monitor);
        // Read every visit, so that the next gain starts from here.
        let table = Some(&cell.msg_types).filter(|t| t.any());
        let mut hot = table.and_then(|t| t.hottest(&mut types.get_or_insert_default().counts));
        // Counts land every 8 messages and at a batch's end: a process in a batch of slow
        // callbacks may gain nothing this interval yet still be busy with the type last named.
        if hot.is_none() && cell.stats.in_batch() {
            hot = types
                .as_ref()
                .and_then(|m| m.named)
                .map(|(slot, _, _)| slot);
        }
        let from = match before {
            None if self.last_ns == 0 => cell.meta.spawned_ns,
            _ => self.last_ns,
        };
        let old = before.map(|p| p.base).unwrap_or_default();
        let moved = r.base != old || r.max_handle_ns != 0;
        self.handled += r.base.handled_since(&old);
        let is_changed = before.is_none_or(|p| p.sig != r.sig || moved || p.active);
        let mut in_built = false;
        if self.build && is_changed {
            if moved {
                let dt_ns = self.now.saturating_sub(from).max(1_000_000);
                let mut s = to_wire::sample(cell, &r, &old, dt_ns);
                if let (Some(slot), Some(table), Some(memory)) = (hot, table, types.as_mut()) {
                    s.hot_type = memory.id(table, cell.meta.server, slot, &self.publish.type_names);
                }
                self.found.built.push(s);
                in_built = true;
            } else {
                self.found.deferred_sizes.push(size(cell));
                self.found.deferred.push(cell.clone());
            }
        }
        if let Some((d, sizes)) = self.found.snapshot.as_mut()
            && !in_built
        {
            sizes.push(size(cell));
            d.cells.push(cell.clone());
        }
        // Rates nobody was shown need not fall back to zero: the first scan with no snapshot
        // (the flight recorder alone started the sampler, as an endpoint does) publishes no
        // sample, so the next tick need not read and send every process that ever handled a
        // message (a million at a million processes).
        let active = moved && (self.build || self.found.snapshot.is_some());
        let prev = Prev {
            base: r.base,
            sig: r.sig,
            active,
            exit_reported: exited,
            seen: self.tick_no,
            types,
        };
        self.prev.insert(pid, prev);
        self.remembered += 1;
        if was_dirty || active || exited {
            self.revisit.push(cell.clone());
        }
    }

    /// After a full scan: processes the sampler remembers but the table no longer holds (they
    /// exited while no sampler ran) are reported removed and forgotten.
    fn drop_unseen(&mut self) {
        if self.remembered == self.prev.len() {
            // The usual case, told without walking the whole map.
            return;
        }
        let tick_no = self.tick_no;
        let removed = &mut self.found.removed;
        self.prev.retain(|pid, p| {
            let seen = p.seen == tick_no;
            if !seen {
                removed.push(Pid(pid));
            }
            seen
        });
    }
}

/// A deferred sample's estimated encoded size, for cutting frames.
fn size(cell: &ProcessCell) -> u32 {
    to_wire::approx_size(cell).min(u32::MAX as usize) as u32
}

/// Measure requests the first scan sends between two yields (see `scan_all`).
const MEASURE_BATCH: usize = 64;

/// Publishing starts: a process that handled messages since it was last measured may hold a
/// state of another size than the one known (measured at spawn, or when the last observer
/// left), so ask it to measure now, on its own task, without waiting for its next message.
/// Whether it asked (and so woke the process).
fn measure_now(cell: &ProcessCell) -> bool {
    if !cell.has_exited() && cell.stats.handled() > 0 {
        let _ = cell
            .sys
            .push(crate::process::Sys::Measure, None, false, None);
        return true;
    }
    false
}

/// Ask a process to measure its state: it does so on its own task after its next batch, so at
/// most once per interval and never per message.
fn request_state_measure(cell: &ProcessCell) {
    cell.stats.measure_requested.store(true, Relaxed);
}

#[cfg(test)]
mod tests {
    use crate::Runtime;
    use crate::publish::observe::Observation;
    use beamline_wire::ServerMsg;
    use std::collections::HashSet;
    use std::sync::atomic::Ordering::Relaxed;

    /// Every process of the snapshot that starts at `first` (its frames), each once.
    async fn snapshot_pids(obs: &mut Observation) -> HashSet<u64> {
        let (mut pids, mut at, mut want) = (HashSet::new(), None, usize::MAX);
        while pids.len() < want {
            match obs.recv().await.expect("stream goes on") {
                ServerMsg::Snapshot(s) if at.is_none() => {
                    at = Some(s.at_ms);
                    want = s.system.processes as usize;
                    for p in s.processes {
                        assert!(pids.insert(p.id.0), "{:?} twice", p.id);
                    }
                }
                ServerMsg::Delta(d) if at == Some(d.at_ms) => {
                    for p in d.changed {
                        assert!(pids.insert(p.id.0), "{:?} twice", p.id);
                    }
                }
                ServerMsg::Delta(_) | ServerMsg::History(_) if at.is_none() => {}
                // Names come before the frames that use them (hot types, protocol 4).
                ServerMsg::TypeNames(_) => {}
                m => panic!("unexpected {m:?}"),
            }
        }
        pids
    }

    /// Started by the flight recorder with nobody subscribed (as an endpoint starts it), the
    /// first scan reads every process and publishes none of them, so the ticks after it read
    /// only what changed: before, every process that ever handled a message was read and sent
    /// again at the second tick, its rates "falling back to zero" from rates nobody was shown.
    #[tokio::test(start_paused = true)]
    async fn a_first_scan_nobody_saw_is_not_read_again() {
        const N: usize = 2_000;
        let rt = Runtime::builder().observe_from_env(false).build();
        let mut agents = Vec::new();
        for i in 0..N {
            let a = crate::Agent::start(&rt, i as u64).await.unwrap();
            a.update(|v| *v += 1).await.unwrap();
            agents.push(a);
        }
        let _keep = crate::publish::flight::keep::keep(&rt.publish).expect("recorder on");
        let hub = rt.publish.hub.get().expect("sampler started").clone();
        for _ in 0..3 {
            tokio::time::sleep(rt.interval()).await;
        }
        let read = hub.reads.load(Relaxed);
        assert!(
            read >= N as u64,
            "the first scan reads every process: {read}"
        );
        assert!(read < N as u64 + N as u64 / 10, "read again: {read}");
        // Every process handled a message, so the first scan asked each to measure its state
        // (waking it), and yielded after every batch of them.
        let yields = hub.measure_yields.load(Relaxed);
        assert!(
            yields >= (N / super::MEASURE_BATCH) as u64,
            "the first scan woke {N} processes with {yields} yields"
        );
    }

    /// Once the sampler is primed, a new subscriber's snapshot reads only the processes that
    /// changed at its tick (each process is read once more as its frame is built): before, it
    /// read every process twice (a full scan, then the frames). Every process is in the
    /// snapshot once, a moving one with the sample built at the tick.
    #[tokio::test(start_paused = true)]
    async fn a_primed_snapshot_reads_only_what_changed() {
        const N: usize = 3_000;
        let rt = Runtime::builder().observe_from_env(false).build();
        let mut agents = Vec::new();
        for i in 0..N {
            agents.push(crate::Agent::start(&rt, i as u64).await.unwrap());
        }
        let mut first = Observation::new(&rt.publish, false);
        assert_eq!(snapshot_pids(&mut first).await.len(), N);
        let hub = rt.publish.hub.get().expect("sampler started").clone();
        let before = hub.reads.load(Relaxed);
        for a in agents.iter().take(10) {
            a.update(|v| *v += 1).await.unwrap();
        }
        let mut second = Observation::new(&rt.publish, false);
        let pids = snapshot_pids(&mut second).await;
        assert_eq!(pids.len(), N, "every process once");
        let read = hub.reads.load(Relaxed) - before;
        assert!(
            read < N as u64 / 10,
            "the snapshot's tick read {read} processes"
        );
    }
}
