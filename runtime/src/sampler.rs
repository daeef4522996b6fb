//! The sampler: once per interval it turns every process's counters into a wire
//! [`ProcessSample`], and publishes what changed as a [`Delta`] (and, when a subscriber needs
//! one, a full [`Snapshot`]) to the [`Hub`].
//!
//! Cost follows change, not process count, on every side:
//!
//! - per process the sampler reads a handful of relaxed atomics and compares them with what it
//!   saw last tick; it builds a full sample (strings, vectors) only for processes whose counters
//!   moved, that changed status, or whose rates were non-zero last time (so they drop to zero);
//! - a delta carries only those samples, plus the pids removed since;
//! - a full snapshot is built only on a tick where some subscriber asked for one.
//!
//! Memory caps (documented in `docs/PUBLISHING.md`):
//!
//! - working set: one [`Prev`] (about 140 bytes with its hash-map slot) per process sampled;
//! - [`TICK_BACKLOG`] ticks are kept for subscribers; one further behind skips ahead;
//! - links and monitors lists are cut at [`MAX_LIST`] entries, exit reasons at [`MAX_TEXT`]
//!   bytes, so one sample stays small;
//! - a tick whose delta or snapshot exceeds [`CHUNK_PROCESSES`] samples or [`CHUNK_BYTES`] is sent
//!   as several frames with consecutive sequence numbers (see `docs/PROTOCOL.md`).
//!
//! The sampler starts lazily, on the first subscription or endpoint, and goes idle (dropping its
//! working set) while nobody subscribes, so an unobserved runtime pays nothing.

use crate::process::{ProcessCell, Shared};
use beamline_wire::{
    Delta, PROTOCOL_VERSION, Pid, ProcessSample, ServerMsg, Snapshot, SupervisorInfo, SystemSample,
    TaskMetrics, Welcome,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;
use tokio_metrics::TaskMonitor;

/// The shortest sampling interval; shorter requests are clamped to it.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// Ticks kept for subscribers. A subscriber further behind is skipped ahead to a fresh snapshot
/// and told how many updates it missed.
pub const TICK_BACKLOG: usize = 8;
/// At most this many samples go in one frame; a bigger delta or snapshot is split.
pub const CHUNK_PROCESSES: usize = 50_000;
/// At most about this many encoded bytes go in one frame (well under the wire's frame limit).
pub const CHUNK_BYTES: usize = 16 * 1024 * 1024;
/// Links and monitors listed per sample, at most.
pub const MAX_LIST: usize = 1024;
/// Exit reasons in a sample's history are cut to this many bytes.
pub const MAX_TEXT: usize = 256;

/// Publishing state of one runtime: lives in [`crate::Runtime`], shared by its clones.
pub(crate) struct Publish {
    /// Whether processes are wrapped in a tokio-metrics `TaskMonitor` (opt-in: memory per process).
    pub(crate) task_metrics: bool,
    /// The monitors, by pid; only filled when `task_metrics` is on.
    monitors: Mutex<HashMap<u64, TaskMonitor>>,
    hub: OnceLock<Arc<Hub>>,
}

impl Publish {
    pub(crate) fn new(task_metrics: bool) -> Self {
        Publish {
            task_metrics,
            monitors: Mutex::new(HashMap::new()),
            hub: OnceLock::new(),
        }
    }

    fn monitors(&self) -> std::sync::MutexGuard<'_, HashMap<u64, TaskMonitor>> {
        self.monitors.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A monitor for a process being spawned, when task metrics are on.
    pub(crate) fn task_monitor(&self, shared: &Shared, pid: Pid) -> Option<TaskMonitor> {
        if !self.task_metrics {
            return None;
        }
        let monitor = TaskMonitor::new();
        let mut all = self.monitors();
        // Monitors of processes the sampler never got to forget (it was idle) are pruned here, so
        // the map stays within the table's size.
        let bound = shared.table.live.load(Relaxed) + crate::process::MAX_RETAINED_EXITED + 1024;
        if all.len() > bound {
            all.retain(|pid, _| shared.table.get(Pid(*pid)).is_some());
        }
        all.insert(pid.0, monitor.clone());
        Some(monitor)
    }

    /// The hub, starting the sampler on first use.
    pub(crate) fn hub(&self, shared: &Arc<Shared>, publish: &Arc<Publish>) -> Arc<Hub> {
        self.hub
            .get_or_init(|| {
                let (tx, _) = broadcast::channel(TICK_BACKLOG);
                let hub = Arc::new(Hub {
                    tx,
                    wake: Notify::new(),
                    want_snapshot: AtomicBool::new(false),
                    missed_total: AtomicU64::new(0),
                });
                let sampler = Sampler::new(shared.clone(), publish.clone(), hub.clone());
                tokio::spawn(sampler.run());
                hub
            })
            .clone()
    }

    /// The hub if the sampler runs.
    pub(crate) fn running_hub(&self) -> Option<&Arc<Hub>> {
        self.hub.get()
    }
}

/// Where ticks are published; subscribers hold a receiver.
pub(crate) struct Hub {
    pub(crate) tx: broadcast::Sender<Arc<Tick>>,
    /// Wakes the sampler: a subscriber arrived or wants a snapshot, or the interval changed.
    pub(crate) wake: Notify,
    want_snapshot: AtomicBool,
    /// Updates skipped by all subscribers since start (reported in the system sample).
    pub(crate) missed_total: AtomicU64,
}

impl Hub {
    /// Ask for a full snapshot on the next tick (brought forward to at most
    /// [`MIN_INTERVAL`] after the last one).
    pub(crate) fn request_snapshot(&self) {
        self.want_snapshot.store(true, Relaxed);
        self.wake.notify_one();
    }
}

/// What one tick published: the delta frames, and the snapshot frames if one was asked for.
/// Both lists cover the same sequence numbers and end in the same state.
pub(crate) struct Tick {
    pub(crate) deltas: Vec<ServerMsg>,
    pub(crate) snapshot: Option<Vec<ServerMsg>>,
}

/// The counters rates are computed from.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Base {
    received: u64,
    sent: u64,
    call: u64,
    cast: u64,
    info: u64,
    busy_ns: u64,
    wait_ns: u64,
    wait_n: u64,
    polls: u64,
    poll_ns: u64,
    scheduled: u64,
    scheduled_ns: u64,
    slow_polls: u64,
}

/// What the sampler remembers about one process between ticks.
struct Prev {
    base: Base,
    /// Hash of everything else a sample shows; equal hash and base means an unchanged sample.
    sig: u64,
    /// The last sample had non-zero rates, so the next one differs even if nothing moved.
    active: bool,
    /// It was reported as exited; next tick it is removed.
    exit_reported: bool,
    /// The tick that last saw it; entries not seen are removed.
    seen: u64,
}

/// One reading of a process's counters.
struct Reading {
    base: Base,
    sig: u64,
    len: u64,
    peak: u64,
    max_handle_ns: u64,
}

/// A small mixing hash (FNV-1a over words): enough to tell "same as last tick".
struct Sig(u64);

impl Sig {
    fn new() -> Self {
        Sig(0xcbf2_9ce4_8422_2325)
    }
    fn add(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x0000_0100_0000_01b3);
    }
}

struct Sampler {
    shared: Arc<Shared>,
    publish: Arc<Publish>,
    hub: Arc<Hub>,
    prev: HashMap<u64, Prev>,
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
}

impl Sampler {
    fn new(shared: Arc<Shared>, publish: Arc<Publish>, hub: Arc<Hub>) -> Self {
        let runtime = tokio::runtime::Handle::try_current()
            .ok()
            .map(|h| tokio_metrics::RuntimeMonitor::new(&h).intervals());
        Sampler {
            shared,
            publish,
            hub,
            prev: HashMap::new(),
            tick_no: 0,
            seq: 0,
            last_ns: 0,
            runtime,
            primed: false,
            revisit: Vec::new(),
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(self.shared.interval_ms.load(Relaxed)).max(MIN_INTERVAL)
    }

    async fn run(mut self) {
        let mut last: Option<Instant> = None;
        loop {
            if self.hub.tx.receiver_count() == 0 {
                // Nobody listens: drop the working set and wait for a subscriber.
                self.prev = HashMap::new();
                self.last_ns = 0;
                last = None;
                self.shared.sampling.store(false, Relaxed);
                self.primed = false;
                self.revisit = Vec::new();
                drop(self.shared.dirty.drain());
                self.hub.wake.notified().await;
                continue;
            }
            let now = Instant::now();
            let mut due = last.map_or(now, |t| t + self.interval());
            if self.hub.want_snapshot.load(Relaxed) {
                due = due.min(last.map_or(now, |t| t + MIN_INTERVAL));
            }
            if due > now {
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => {}
                    _ = self.hub.wake.notified() => continue,
                }
            }
            last = Some(Instant::now());
            let snapshot = self.hub.want_snapshot.swap(false, Relaxed);
            let tick = self.tick(snapshot);
            let _ = self.hub.tx.send(Arc::new(tick));
        }
    }

    /// Run one tick: read every process, publish the changes (and a snapshot if asked).
    fn tick(&mut self, want_snapshot: bool) -> Tick {
        let cost = std::time::Instant::now();
        let shared = self.shared.clone();
        let now = shared.now_ns();
        self.tick_no += 1;
        let tick_no = self.tick_no;
        let last_ns = self.last_ns;
        let interval_ms = self.interval().as_millis() as u64;
        let monitors = if self.publish.task_metrics {
            Some(self.publish.monitors().clone())
        } else {
            None
        };

        let mut changed: Vec<ProcessSample> = Vec::new();
        let mut all: Option<Vec<ProcessSample>> =
            want_snapshot.then(|| Vec::with_capacity(shared.table.live.load(Relaxed) + 16));
        let mut removed: Vec<Pid> = Vec::new();
        let mut handled_in_interval = 0u64;
        let mut prev = std::mem::take(&mut self.prev);
        let mut revisit: Vec<Arc<ProcessCell>> = Vec::new();

        let mut visit = |cell: &Arc<ProcessCell>, was_dirty: bool| {
            let pid = cell.pid.0;
            let exited = cell.has_exited();
            let before = prev.get(&pid);
            if exited && before.is_some_and(|p| p.exit_reported) {
                removed.push(cell.pid);
                return;
            }
            if !exited {
                // The process measures its state on its own task after its next batch: at most
                // once per interval, never per message.
                cell.stats.measure_requested.store(true, Relaxed);
            }
            let monitor = monitors.as_ref().and_then(|m| m.get(&pid));
            let r = read(cell, now, monitor);
            let from = before.map_or_else(
                || {
                    if last_ns == 0 {
                        cell.meta.spawned_ns
                    } else {
                        last_ns
                    }
                },
                |_| last_ns,
            );
            let old = before.map(|p| p.base).unwrap_or_default();
            let moved = r.base != old || r.max_handle_ns != 0;
            handled_in_interval += (r.base.call + r.base.cast + r.base.info)
                .saturating_sub(old.call + old.cast + old.info);
            let is_changed = match before {
                None => true,
                Some(p) => p.sig != r.sig || moved || p.active,
            };
            if is_changed || all.is_some() {
                let s = sample(cell, &r, &old, now.saturating_sub(from).max(1_000_000));
                if let Some(all) = all.as_mut() {
                    all.push(s.clone());
                }
                if is_changed {
                    changed.push(s);
                }
            }
            prev.insert(
                pid,
                Prev {
                    base: r.base,
                    sig: r.sig,
                    active: moved,
                    exit_reported: exited,
                    seen: tick_no,
                },
            );
            if was_dirty || moved || exited {
                revisit.push(cell.clone());
            }
        };
        // A full scan when a snapshot is wanted or nothing is known yet; otherwise only what
        // changed since the last tick, plus what must be read again.
        let full = want_snapshot || !self.primed;
        let dirty = shared.dirty.drain();
        if full {
            self.shared.sampling.store(true, Relaxed);
            drop(dirty);
            self.revisit.clear();
            shared.table.for_each(|cell| {
                let was_dirty = cell.stats.dirty.swap(false, Relaxed);
                visit(cell, was_dirty);
            });
        } else {
            let mut dirty = dirty;
            dirty.sort_unstable_by_key(|c| c.pid);
            dirty.dedup_by_key(|c| c.pid);
            for cell in &dirty {
                cell.stats.dirty.store(false, Relaxed);
                visit(cell, true);
            }
            let mut again = std::mem::take(&mut self.revisit);
            again.sort_unstable_by_key(|c| c.pid);
            again.dedup_by_key(|c| c.pid);
            for cell in &again {
                if dirty.binary_search_by_key(&cell.pid, |c| c.pid).is_err() {
                    visit(cell, false);
                }
            }
        }
        for pid in &removed {
            prev.remove(&pid.0);
            shared.table.forget(*pid);
        }
        if monitors.is_some() && !removed.is_empty() {
            let mut live = self.publish.monitors();
            for pid in &removed {
                live.remove(&pid.0);
            }
        }
        if full {
            // Processes that left the table unseen (exited while no sampler ran).
            prev.retain(|pid, p| {
                if p.seen != tick_no {
                    removed.push(Pid(*pid));
                    false
                } else {
                    true
                }
            });
        }
        self.prev = prev;
        self.primed = true;
        self.revisit = revisit;
        self.last_ns = now;

        changed.sort_unstable_by_key(|p| p.id);
        removed.sort_unstable();
        if let Some(all) = all.as_mut() {
            all.sort_unstable_by_key(|p| p.id);
        }
        let dt_s = now.saturating_sub(last_ns).max(1_000_000) as f64 / 1e9;
        let mut system = SystemSample {
            processes: shared.table.live.load(Relaxed) as u64,
            spawned_total: shared.spawned_total.load(Relaxed),
            exited_total: shared.exited_total.load(Relaxed),
            msgs_per_s: if last_ns == 0 {
                0.0
            } else {
                handled_in_interval as f64 / dt_s
            },
            dropped_total: shared.dropped_total.load(Relaxed),
            dead_letters: shared.dead_letters.load(Relaxed),
            missed_updates: self.hub.missed_total.load(Relaxed),
            ..SystemSample::default()
        };
        self.runtime_figures(&mut system);
        system.sample_cost_us = cost.elapsed().as_micros() as u64;

        let at_ms = now / 1_000_000;
        let delta_chunks = chunk(changed);
        let snap_chunks = all.map(chunk);
        let frames = delta_chunks
            .len()
            .max(snap_chunks.as_ref().map_or(1, |c| c.len()));
        let first = self.seq + 1;
        self.seq += frames as u64;
        let delta = |seq: u64, changed: Vec<ProcessSample>, removed: Vec<Pid>| {
            ServerMsg::Delta(Delta {
                seq,
                at_ms,
                interval_ms,
                system: system.clone(),
                changed,
                removed,
            })
        };
        let mut deltas = Vec::with_capacity(frames);
        let mut delta_chunks = delta_chunks.into_iter();
        let mut removed = Some(removed);
        for i in 0..frames as u64 {
            let changed = delta_chunks.next().unwrap_or_default();
            let gone = if i == 0 {
                removed.take().unwrap_or_default()
            } else {
                Vec::new()
            };
            deltas.push(delta(first + i, changed, gone));
        }
        let snapshot = snap_chunks.map(|chunks| {
            let mut chunks = chunks.into_iter();
            let mut out = vec![ServerMsg::Snapshot(Snapshot {
                seq: first,
                at_ms,
                interval_ms,
                system: system.clone(),
                processes: chunks.next().unwrap_or_default(),
            })];
            for i in 1..frames as u64 {
                out.push(delta(
                    first + i,
                    chunks.next().unwrap_or_default(),
                    Vec::new(),
                ));
            }
            out
        });
        Tick { deltas, snapshot }
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

/// Read one process's counters, resetting the per-interval peaks.
fn read(cell: &ProcessCell, now: u64, monitor: Option<&TaskMonitor>) -> Reading {
    let s = &cell.stats;
    let len = s.mailbox_len();
    let mut peak = s.peak.load(Relaxed);
    if peak != 0 {
        peak = s.peak.swap(0, Relaxed);
    }
    let mut max_handle_ns = s.max_handle_ns.load(Relaxed);
    if max_handle_ns != 0 {
        max_handle_ns = s.max_handle_ns.swap(0, Relaxed);
    }
    let mut base = Base {
        received: s.enqueued.load(Relaxed),
        sent: s.sent.load(Relaxed),
        call: s.handled_call.load(Relaxed),
        cast: s.handled_cast.load(Relaxed),
        info: s.handled_info.load(Relaxed),
        busy_ns: s.busy_at(now),
        wait_ns: s.wait_ns.load(Relaxed),
        wait_n: s.wait_samples.load(Relaxed),
        ..Base::default()
    };
    if let Some(m) = monitor {
        let t = m.cumulative();
        base.polls = t.total_poll_count;
        base.poll_ns = t.total_poll_duration.as_nanos() as u64;
        base.scheduled = t.total_scheduled_count;
        base.scheduled_ns = t.total_scheduled_duration.as_nanos() as u64;
        base.slow_polls = t.total_slow_poll_count;
    }
    let mut sig = Sig::new();
    sig.add(s.status.load(Relaxed) as u64);
    sig.add(s.status_since_ns.load(Relaxed) / 1_000_000);
    sig.add(s.waiting_on.load(Relaxed));
    sig.add(s.dequeued.load(Relaxed));
    sig.add(s.evicted.load(Relaxed));
    sig.add(s.dropped.load(Relaxed));
    sig.add(s.state_bytes.load(Relaxed));
    sig.add(s.state_deep.load(Relaxed) as u64);
    sig.add(s.hibernations.load(Relaxed));
    sig.add(cell.trap_exit.load(Relaxed) as u64);
    sig.add(len);
    sig.add(peak.max(len));
    if let Some(slot) = cell.meta.slot() {
        sig.add(slot.restarts.load(Relaxed) as u64);
    }
    if let Some(sup) = &cell.supervisor {
        sig.add(sup.restarts_in_window.load(Relaxed) as u64);
        sig.add(sup.children.load(Relaxed) as u64);
        sig.add(sup.max_restarts.load(Relaxed) as u64);
        sig.add(sup.period_ms.load(Relaxed));
        sig.add(sup.strategy.get().map_or(0, |s| s.len() as u64));
    }
    {
        let rel = cell.relations();
        sig.add(rel.links.len() as u64);
        sig.add(rel.monitors.len() as u64);
        for c in &rel.links {
            sig.add(c.pid.0);
        }
        for (_, c) in &rel.monitors {
            sig.add(c.pid.0);
        }
    }
    sig.add(cell.has_exited() as u64);
    Reading {
        base,
        sig: sig.0,
        len,
        peak: peak.max(len),
        max_handle_ns,
    }
}

/// Build the full sample of one process from a reading and the previous base.
fn sample(cell: &ProcessCell, r: &Reading, old: &Base, dt_ns: u64) -> ProcessSample {
    let meta = &cell.meta;
    let s = &cell.stats;
    let dt_s = dt_ns as f64 / 1e9;
    let d = |new: u64, old: u64| new.saturating_sub(old);
    let per_s = |new: u64, old: u64| d(new, old) as f64 / dt_s;
    let b = &r.base;
    let handled_now = d(b.call, old.call) + d(b.cast, old.cast) + d(b.info, old.info);
    let busy_ns = d(b.busy_ns, old.busy_ns);
    let waits = d(b.wait_n, old.wait_n);
    let (links, monitors) = {
        let rel = cell.relations();
        (
            rel.links.iter().take(MAX_LIST).map(|c| c.pid).collect(),
            rel.monitors
                .iter()
                .take(MAX_LIST)
                .map(|(_, c)| c.pid)
                .collect(),
        )
    };
    let exit_history = meta.slot().map_or_else(Vec::new, |slot| {
        let exits = slot.exits.lock().unwrap_or_else(|p| p.into_inner());
        exits.iter().map(|e| cut(e, MAX_TEXT)).collect()
    });
    let task = (b.polls != 0 || b.scheduled != 0).then(|| {
        let polls = d(b.polls, old.polls);
        let scheduled = d(b.scheduled, old.scheduled);
        TaskMetrics {
            mean_poll_us: ratio(d(b.poll_ns, old.poll_ns), polls) / 1e3,
            mean_scheduled_us: ratio(d(b.scheduled_ns, old.scheduled_ns), scheduled) / 1e3,
            slow_polls: d(b.slow_polls, old.slow_polls),
        }
    });
    let mut status = crate::info::status_of(cell);
    if let beamline_wire::Status::Exited { reason } = &mut status {
        *reason = cut(reason, MAX_TEXT);
    }
    ProcessSample {
        id: cell.pid,
        name: meta.name().map(|n| n.to_string()),
        parent: meta.parent,
        child_id: meta.child_id().cloned(),
        kind: meta.kind,
        behaviour: meta.behaviour.to_string(),
        spawned_ms: meta.spawned_ns / 1_000_000,
        status,
        mailbox_len: r.len,
        mailbox_peak: r.peak,
        mailbox_capacity: meta.capacity,
        in_per_s: per_s(b.received, old.received),
        out_per_s: per_s(b.sent, old.sent),
        call_per_s: per_s(b.call, old.call),
        cast_per_s: per_s(b.cast, old.cast),
        info_per_s: per_s(b.info, old.info),
        received: b.received,
        handled: s.handled(),
        dropped: s.dropped.load(Relaxed) + s.evicted.load(Relaxed),
        busy: (busy_ns as f64 / dt_ns as f64).clamp(0.0, 1.0),
        mean_handle_us: ratio(busy_ns, handled_now) / 1e3,
        max_handle_us: r.max_handle_ns as f64 / 1e3,
        mean_wait_us: ratio(d(b.wait_ns, old.wait_ns), waits) / 1e3,
        state_bytes: s.state_bytes.load(Relaxed),
        state_deep: s.state_deep.load(Relaxed),
        restarts: meta.slot().map_or(0, |s| s.restarts.load(Relaxed)),
        exit_history,
        links,
        monitors,
        trap_exit: cell.trap_exit.load(Relaxed),
        inspectable: meta.inspectable,
        hibernations: s.hibernations.load(Relaxed),
        supervisor: cell.supervisor.as_ref().map(|sup| SupervisorInfo {
            strategy: sup.strategy.get().copied().unwrap_or("unknown").to_string(),
            max_restarts: sup.max_restarts.load(Relaxed),
            period_ms: sup.period_ms.load(Relaxed),
            restarts_in_window: sup.restarts_in_window.load(Relaxed),
            children: sup.children.load(Relaxed),
        }),
        task,
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A generous estimate of a sample's encoded size, for splitting frames.
fn approx_size(p: &ProcessSample) -> usize {
    256 + p.behaviour.len()
        + p.name.as_ref().map_or(0, String::len)
        + p.child_id.as_ref().map_or(0, String::len)
        + p.exit_history.iter().map(|e| e.len() + 2).sum::<usize>()
        + 10 * (p.links.len() + p.monitors.len())
}

/// Split samples into frame-sized groups (always at least one group, maybe empty).
fn chunk(samples: Vec<ProcessSample>) -> Vec<Vec<ProcessSample>> {
    let mut out = vec![Vec::new()];
    let mut bytes = 0;
    for p in samples {
        let size = approx_size(&p);
        let last = out.last_mut().expect("never empty");
        if !last.is_empty() && (last.len() >= CHUNK_PROCESSES || bytes + size > CHUNK_BYTES) {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        out.last_mut().expect("never empty").push(p);
    }
    out
}

/// The handshake answer describing this runtime.
pub(crate) fn welcome(shared: &Shared) -> Welcome {
    Welcome {
        version: PROTOCOL_VERSION,
        node: shared.node.clone(),
        os_pid: std::process::id(),
        incarnation: shared.incarnation,
        started_unix_ms: shared.started_unix_ms,
        interval_ms: shared
            .interval_ms
            .load(Relaxed)
            .max(MIN_INTERVAL.as_millis() as u64),
        // In-process watchers own the runtime; the endpoint narrows this per connection.
        role: beamline_wire::Role::Operate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::ProcessKind;

    fn big(id: u64, links: usize) -> ProcessSample {
        let mut p = ProcessSample::new(Pid(id), ProcessKind::Server, "T");
        p.links = (0..links as u64).map(Pid).collect();
        p
    }

    #[test]
    fn chunks_split_by_count_and_by_size_and_never_come_back_empty() {
        assert_eq!(chunk(Vec::new()).len(), 1);
        let many: Vec<_> = (0..CHUNK_PROCESSES as u64 * 2 + 1)
            .map(|i| big(i, 0))
            .collect();
        let c = chunk(many);
        assert_eq!(c.len(), 3);
        assert_eq!(c[2].len(), 1);
        // Samples with big link lists: the byte budget splits well before the count does.
        let heavy: Vec<_> = (0..4000).map(|i| big(i, MAX_LIST)).collect();
        let c = chunk(heavy);
        assert!(c.len() > 1);
        for part in &c {
            let bytes = beamline_wire::frame::encode(&part.clone()).unwrap().len();
            assert!(bytes <= CHUNK_BYTES, "{bytes}");
        }
    }

    #[test]
    fn cut_respects_char_boundaries() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("ééé", 3), "é…");
    }
}
