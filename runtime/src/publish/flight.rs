//! The flight recorder: the last minutes of samples, kept by the runtime so that an observer
//! attaching late (or once, `--json --once`) sees trends, charts and true alert ages on its
//! first screen.
//!
//! Fed by the sampler, once per tick, with what that tick found changed (the processes whose
//! sample it built or deferred, and those removed); the cast path never touches it. It keeps
//! each past tick as a list of compact `point::Point`s (the fields diagnosis reads; strings
//! shared per process), so a runtime of a million idle processes costs nothing here, and a
//! busy one is capped:
//!
//! - ticks older than [`FlightConfig::window`] are dropped;
//! - one tick keeps at most [`FlightConfig::max_points`] / [`TICK_SHARE`] points, the weightiest
//!   (drops, restarts, exits, deep mailboxes) when more changed;
//! - past [`FlightConfig::max_points`] in all, the older half of the ticks is thinned (each
//!   pair merged into one, the newer point of a process winning: counters stay exact, the
//!   resolution halves), and the oldest ticks go if thinning does not help.
//!
//! A new subscriber is handed the ticks (shared pointers, taken under a short lock) and sends
//! them, one `ServerMsg::History` each, before its first snapshot (`observe.rs`). Kept only
//! while publishing is on: the sampler forgets it all when it goes idle. An attach endpoint
//! keeps the sampler ticking while it serves (`FlightRecorder::keep`) so that the history is
//! there before the first observer comes.

pub mod black_box;
pub(crate) mod feed;
pub(crate) mod keep;
pub(crate) mod point;

use beamline_wire::{Delta, Pid, ProcessSample, SystemSample};
use point::{Metas, Point};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A tick keeps at most this fraction of the point budget.
pub const TICK_SHARE: usize = 8;

/// How much history the runtime keeps for observers that attach later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlightConfig {
    /// Keep history at all (default on): off, a late observer starts blind as before.
    pub enabled: bool,
    /// How far back (default 10 minutes).
    pub window: Duration,
    /// Most process points kept in all (default 250,000, about 30 MB: see
    /// `docs/PUBLISHING.md`); older ticks are thinned to stay within it.
    pub max_points: usize,
}

impl Default for FlightConfig {
    fn default() -> Self {
        FlightConfig {
            enabled: true,
            window: Duration::from_secs(600),
            max_points: 250_000,
        }
    }
}

impl FlightConfig {
    /// No history.
    pub fn off() -> Self {
        FlightConfig {
            enabled: false,
            ..FlightConfig::default()
        }
    }
}

/// Points made between two yields when the sampler records a tick (about 100 µs of work).
const RECORD_SLICE: usize = 256;

/// One past tick: the processes that changed at it, and those that went.
#[derive(Debug)]
pub(crate) struct Past {
    pub(crate) seq: u64,
    pub(crate) at_ms: u64,
    pub(crate) interval_ms: u64,
    pub(crate) system: SystemSample,
    pub(crate) changed: Vec<Point>,
    pub(crate) removed: Vec<Pid>,
}

impl Past {
    /// The tick as the wire's delta (sent as `ServerMsg::History`).
    pub(crate) fn delta(&self) -> Delta {
        Delta {
            seq: self.seq,
            at_ms: self.at_ms,
            interval_ms: self.interval_ms,
            system: self.system.clone(),
            changed: self.changed.iter().map(Point::sample).collect(),
            removed: self.removed.clone(),
        }
    }

    /// `self` followed by the newer `next`, as one tick (at `next`'s time and sequence).
    fn merge(&self, next: &Past) -> Past {
        let newer: std::collections::HashSet<u64> = next
            .changed
            .iter()
            .map(|p| p.meta.id.0)
            .chain(next.removed.iter().map(|p| p.0))
            .collect();
        let mut changed: Vec<Point> = self
            .changed
            .iter()
            .filter(|p| !newer.contains(&p.meta.id.0))
            .cloned()
            .collect();
        changed.extend(next.changed.iter().cloned());
        let mut removed = self.removed.clone();
        removed.extend(next.removed.iter().copied());
        Past {
            seq: next.seq,
            at_ms: next.at_ms,
            interval_ms: next.interval_ms,
            system: next.system.clone(),
            changed,
            removed,
        }
    }
}

/// What the recorder holds.
#[derive(Debug, Default)]
struct Ticks {
    ticks: VecDeque<Arc<Past>>,
    points: usize,
    metas: Metas,
    /// Ticks dropped since the metas were last pruned.
    dropped: usize,
}

/// Prune the metas after this many ticks were dropped (a prune walks them all).
const PRUNE_EVERY: usize = 32;

/// The runtime's flight recorder (one per runtime, in its publishing state).
#[derive(Debug)]
pub(crate) struct FlightRecorder {
    config: FlightConfig,
    /// Writes the history to a file on its triggers (opt-in).
    pub(crate) black_box: Option<black_box::Armed>,
    ticks: Mutex<Ticks>,
    /// Endpoints serving: while there are any the sampler ticks for the recorder alone
    /// (`keep.rs`).
    pub(crate) keepers: AtomicUsize,
}

impl FlightRecorder {
    pub(crate) fn new(config: FlightConfig, black_box: Option<black_box::BlackBox>) -> Self {
        FlightRecorder {
            black_box: black_box
                .filter(|_| config.enabled)
                .map(black_box::Armed::new),
            config,
            ticks: Mutex::new(Ticks::default()),
            keepers: AtomicUsize::new(0),
        }
    }

    /// Whether it records at all.
    pub(crate) fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Most points one tick keeps.
    pub(crate) fn per_tick(&self) -> usize {
        (self.config.max_points / TICK_SHARE).max(1)
    }

    /// Whether the sampler should tick with no subscriber.
    pub(crate) fn wants_ticks(&self) -> bool {
        self.keepers.load(Relaxed) > 0 || self.black_box.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, Ticks> {
        self.ticks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Note one tick: `changed` samples (built at tick time, or read for the recorder), the
    /// pids removed. `seq` and the header fields are the tick's. The tests' synchronous form of
    /// [`FlightRecorder::record_sliced`].
    #[cfg(test)]
    pub(crate) fn record<'a>(
        &self,
        header: (u64, u64, u64, &SystemSample),
        changed: impl IntoIterator<Item = &'a ProcessSample>,
        removed: &[Pid],
    ) {
        let fut = self.record_sliced(header, changed.into_iter().collect(), removed);
        let mut fut = std::pin::pin!(fut);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        while fut.as_mut().poll(&mut cx).is_pending() {}
        self.trim_now();
    }

    /// Drop ticks past the window and thin to the point budget, now: the sampler runs this on
    /// a blocking thread when [`FlightRecorder::record_sliced`] says it is due (thinning a
    /// full budget merges up to 125,000 points and prunes as many metas: 4-19 ms on a worker at
    /// 1,000,000 processes, issue 15). Meanwhile the lock is held: a subscriber arriving then
    /// waits for it to take the history.
    pub(crate) fn trim_now(&self) {
        let mut t = self.lock();
        self.trim(&mut t);
    }

    /// Whether [`FlightRecorder::trim_now`] has work to do.
    fn trim_due(&self, t: &Ticks) -> bool {
        let newest = t.ticks.back().map_or(0, |p| p.at_ms);
        let window = self.config.window.as_millis() as u64;
        t.ticks
            .front()
            .is_some_and(|p| p.at_ms.saturating_add(window) < newest)
            || t.dropped >= PRUNE_EVERY
            || t.metas.len() > t.points + self.per_tick()
            || t.points > self.config.max_points
    }

    /// Note one tick, a slice at a time (the sampler's side): `chosen` samples (built at tick
    /// time, or read for the recorder), the pids removed; `seq` and the header fields are the
    /// tick's. The points are made [`RECORD_SLICE`] at a time, each batch under a short lock,
    /// yielding between batches: made in one go, a tick of 31,250 changes held a worker for
    /// about 16 ms (issue 15). Returns whether a trim is due ([`FlightRecorder::trim_now`]),
    /// which it leaves to the caller.
    pub(crate) async fn record_sliced(
        &self,
        header: (u64, u64, u64, &SystemSample),
        mut chosen: Vec<&ProcessSample>,
        removed: &[Pid],
    ) -> bool {
        // Nothing changed: the tick would tell nothing the next one does not.
        if !self.config.enabled || (chosen.is_empty() && removed.is_empty()) {
            return false;
        }
        let (seq, at_ms, interval_ms, system) = header;
        let per_tick = self.per_tick();
        // Chosen before anything is copied: a tick of a million changes copies its share.
        if chosen.len() > per_tick {
            chosen
                .select_nth_unstable_by_key(per_tick - 1, |p| std::cmp::Reverse(point::weight(p)));
            chosen.truncate(per_tick);
        }
        let mut points = Vec::with_capacity(chosen.len());
        for batch in chosen.chunks(RECORD_SLICE) {
            {
                let mut t = self.lock();
                points.extend(batch.iter().map(|p| Point::of(p, &mut t.metas)));
            }
            tokio::task::yield_now().await;
        }
        let mut t = self.lock();
        t.points += points.len();
        t.ticks.push_back(Arc::new(Past {
            seq,
            at_ms,
            interval_ms,
            system: system.clone(),
            changed: points,
            removed: removed.to_vec(),
        }));
        self.trim_due(&t)
    }

    /// Drop ticks past the window, then thin until within the point budget.
    fn trim(&self, t: &mut Ticks) {
        let newest = t.ticks.back().map_or(0, |p| p.at_ms);
        let window = self.config.window.as_millis() as u64;
        while t
            .ticks
            .front()
            .is_some_and(|p| p.at_ms.saturating_add(window) < newest)
        {
            let gone = t.ticks.pop_front().expect("checked");
            t.points -= gone.changed.len();
            t.dropped += 1;
        }
        // Metas of processes no kept point names: pruned every few dropped ticks, and at once
        // should they outnumber the points (a runtime whose changes name new processes).
        if t.dropped >= PRUNE_EVERY || t.metas.len() > t.points + self.per_tick() {
            t.dropped = 0;
            t.metas.prune();
        }
        let per_tick = self.per_tick();
        if t.points > self.config.max_points {
            thin(t, per_tick);
            // Thinning saves little when each tick names other processes: drop the oldest.
            while t.points > self.config.max_points && t.ticks.len() > 1 {
                let gone = t.ticks.pop_front().expect("more than one");
                t.points -= gone.changed.len();
            }
            t.metas.prune();
        }
    }

    /// The ticks held, oldest first (shared pointers: cheap under the lock).
    pub(crate) fn history(&self) -> VecDeque<Arc<Past>> {
        self.lock().ticks.clone()
    }

    /// Forget everything (publishing stopped).
    pub(crate) fn clear(&self) {
        let mut t = self.lock();
        *t = Ticks::default();
    }

    /// Points and ticks held, and the processes they name (for tests and measurements).
    pub(crate) fn held(&self) -> (usize, usize, usize) {
        let t = self.lock();
        (t.points, t.ticks.len(), t.metas.len())
    }
}

/// What a runtime's flight recorder holds now ([`crate::Runtime::flight_held`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlightHeld {
    /// Process points, over all ticks.
    pub points: usize,
    /// Past ticks.
    pub ticks: usize,
    /// Processes those points name (their strings are stored once each).
    pub processes: usize,
    /// An estimate of the memory held, bytes: the points, ticks and per-process records at
    /// their sizes, plus 64 bytes of strings per process (names, behaviours).
    pub approx_bytes: usize,
}

impl FlightRecorder {
    /// What it holds now, with an estimate of its memory.
    pub(crate) fn report(&self) -> FlightHeld {
        let (points, ticks, processes) = self.held();
        let per_process = std::mem::size_of::<point::Meta>() + 64 + 48;
        FlightHeld {
            points,
            ticks,
            processes,
            approx_bytes: points * std::mem::size_of::<Point>()
                + ticks * (std::mem::size_of::<Past>() + 16)
                + processes * per_process,
        }
    }
}

/// Merge each pair of ticks in the older half into one (a merge that would hold more than
/// `per_tick` points is left alone).
fn thin(t: &mut Ticks, per_tick: usize) {
    let half = t.ticks.len() / 2;
    let mut out = VecDeque::with_capacity(t.ticks.len());
    let mut old = t.ticks.drain(..half);
    let mut points = 0;
    while let Some(a) = old.next() {
        match old.next() {
            Some(b) => {
                let m = a.merge(&b);
                if m.changed.len() <= per_tick {
                    points += m.changed.len();
                    out.push_back(Arc::new(m));
                } else {
                    points += a.changed.len() + b.changed.len();
                    out.push_back(a);
                    out.push_back(b);
                }
            }
            _ => {
                points += a.changed.len();
                out.push_back(a);
            }
        }
    }
    drop(old);
    points += t.ticks.iter().map(|p| p.changed.len()).sum::<usize>();
    out.extend(t.ticks.drain(..));
    t.ticks = out;
    t.points = points;
}

#[cfg(test)]
mod tests;
