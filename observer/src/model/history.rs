//! Time series kept for charts, sparklines and diagnosis.
//!
//! Each process gets a ring of recent points; rings share a fixed budget, so with a hundred
//! thousand processes each keeps fewer points instead of the observer growing without bound.
//! A supervised child's ring belongs to its slot (supervisor and child id), not its pid, so its
//! series goes on across restarts: a worker that leaks and crashes every few seconds still
//! shows one rising saw, and the new pid's chart starts with the old one's past.

use beamline_wire::{Pid, ProcessSample, ProcessTable, Status};
use std::collections::{HashMap, VecDeque};

/// Most points one process keeps: five minutes at the default one-second interval.
pub const MAX_POINTS: usize = 300;
/// Fewest points one process keeps, so sparklines still mean something at scale.
pub const MIN_POINTS: usize = 8;
/// Points shared by all processes (about 80 MB at worst; the TUI keeps two copies, see
/// [`super::worker`]).
pub const POINT_BUDGET: usize = 2_000_000;

/// A bounded first-in-first-out buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct Ring<T> {
    buf: VecDeque<T>,
    cap: usize,
}

impl<T> Ring<T> {
    /// An empty ring keeping at most `cap` items.
    pub fn new(cap: usize) -> Self {
        Ring {
            buf: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Append, dropping the oldest items beyond the capacity.
    pub fn push(&mut self, v: T) {
        self.buf.push_back(v);
        while self.buf.len() > self.cap {
            self.buf.pop_front();
        }
    }

    /// Change the capacity; shrinking drops the oldest items.
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
        while self.buf.len() > self.cap {
            self.buf.pop_front();
        }
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.buf.iter()
    }

    /// The newest item.
    pub fn last(&self) -> Option<&T> {
        self.buf.back()
    }

    /// How many items are held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// One process at one sample, reduced to what is charted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Sample time, milliseconds since runtime start.
    pub at_ms: u64,
    /// Messages waiting.
    pub mailbox_len: u64,
    /// Arrivals per second.
    pub in_per_s: f32,
    /// Sends per second.
    pub out_per_s: f32,
    /// Fraction of the interval inside callbacks.
    pub busy: f32,
    /// State size in bytes.
    pub state_bytes: u64,
    /// Restarts of its child slot so far.
    pub restarts: u32,
    /// Messages it dropped since spawn.
    pub dropped: u64,
}

/// The runtime at one sample, reduced to what is charted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SystemPoint {
    /// Sample time, milliseconds since runtime start.
    pub at_ms: u64,
    /// Live processes.
    pub processes: u64,
    /// Messages handled per second.
    pub msgs_per_s: f32,
    /// Worker busy fraction.
    pub worker_busy: f32,
    /// Global plus local queue depth.
    pub queue_depth: u64,
    /// State bytes of every process.
    pub state_bytes: u64,
    /// Messages waiting in every mailbox.
    pub mailbox_msgs: u64,
}

/// Whose series a point goes to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SeriesKey {
    /// A process that is not a supervised child.
    Process(Pid),
    /// A supervised child's slot: its supervisor and a hash of its child id.
    Slot(Pid, u64),
}

impl SeriesKey {
    /// The series `p` belongs to.
    pub fn of(p: &ProcessSample) -> SeriesKey {
        match (p.parent, &p.child_id) {
            (Some(sup), Some(id)) => {
                use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
                SeriesKey::Slot(
                    sup,
                    BuildHasherDefault::<DefaultHasher>::default().hash_one(id),
                )
            }
            _ => SeriesKey::Process(p.id),
        }
    }
}

/// All series.
#[derive(Clone, Debug)]
pub struct History {
    /// Each series with the last [`History::record`] call that added to it.
    per: HashMap<SeriesKey, (u64, Ring<Point>)>,
    /// Calls to [`History::record`] so far.
    generation: u64,
    /// The slot of each supervised child reported (other pids are their own key).
    slot_of: HashMap<Pid, SeriesKey>,
    /// Runtime-wide series.
    pub system: Ring<SystemPoint>,
    budget: usize,
}

impl Default for History {
    fn default() -> Self {
        Self::with_budget(POINT_BUDGET)
    }
}

impl History {
    /// History sharing `budget` points between processes.
    pub fn with_budget(budget: usize) -> Self {
        History {
            per: HashMap::new(),
            generation: 0,
            slot_of: HashMap::new(),
            system: Ring::new(MAX_POINTS),
            budget,
        }
    }

    /// Points each process may keep with `n` processes alive.
    pub fn cap_for(&self, n: usize) -> usize {
        (self.budget / n.max(1)).clamp(MIN_POINTS, MAX_POINTS)
    }

    /// Add one point per series of `m`, and forget series no longer reported.
    pub fn record(&mut self, m: &ProcessTable) {
        let cap = self.cap_for(m.processes.len());
        let (mut series, mut slotted) = (0, 0);
        self.generation += 1;
        let now = self.generation;
        for p in &m.processes {
            let key = SeriesKey::of(p);
            if let SeriesKey::Slot(..) = key {
                slotted += 1;
                if self.slot_of.get(&p.id) != Some(&key) {
                    self.slot_of.insert(p.id, key.clone());
                }
            }
            let (seen, ring) = self.per.entry(key).or_insert_with(|| (0, Ring::new(cap)));
            if ring.cap != cap {
                ring.set_cap(cap);
            }
            let point = Point {
                at_ms: m.at_ms,
                mailbox_len: p.mailbox_len,
                in_per_s: p.in_per_s as f32,
                out_per_s: p.out_per_s as f32,
                busy: p.busy as f32,
                state_bytes: p.state_bytes,
                restarts: p.restarts,
                dropped: p.dropped,
            };
            // A slot reported twice (the old pid lingers as exited while the new one runs):
            // the live process speaks for it.
            if *seen != now {
                ring.push(point);
                *seen = now;
                series += 1;
            } else if !matches!(p.status, Status::Exited { .. })
                && let Some(last) = ring.buf.back_mut()
            {
                *last = point;
            }
        }
        // Every live series got a point at this sample, so any other ring belongs to a series
        // that is gone.
        if self.per.len() > series {
            self.per.retain(|_, (seen, _)| *seen == now);
        }
        if self.slot_of.len() > slotted {
            self.slot_of.retain(|pid, _| m.index_of(*pid).is_some());
        }
        let s = &m.system;
        let (state_bytes, mailbox_msgs) = m.processes.iter().fold((0u64, 0u64), |(b, q), p| {
            (
                b.saturating_add(p.state_bytes),
                q.saturating_add(p.mailbox_len),
            )
        });
        self.system.push(SystemPoint {
            state_bytes,
            mailbox_msgs,
            at_ms: m.at_ms,
            processes: s.processes,
            msgs_per_s: s.msgs_per_s as f32,
            worker_busy: s.worker_busy as f32,
            queue_depth: s.global_queue_depth.saturating_add(s.local_queue_depth),
        });
    }

    /// The series of one process: its slot's, for a supervised child.
    pub fn process(&self, pid: Pid) -> Option<&Ring<Point>> {
        match self.slot_of.get(&pid) {
            Some(key) => self.per.get(key),
            None => self.per.get(&SeriesKey::Process(pid)),
        }
        .map(|(_, ring)| ring)
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        self.per.clear();
        self.slot_of.clear();
        self.system = Ring::new(MAX_POINTS);
    }

    /// Points held across all processes (for the memory bound's test and the System view).
    pub fn total_points(&self) -> usize {
        self.per.values().map(|(_, r)| r.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::{ProcessKind, ProcessSample, Snapshot, SystemSample};

    fn moment(seq: u64, n: u64) -> ProcessTable {
        ProcessTable::from_snapshot(Snapshot {
            seq,
            at_ms: seq * 1000,
            interval_ms: 1000,
            system: SystemSample::default(),
            processes: (0..n)
                .map(|i| ProcessSample::new(Pid(i), ProcessKind::Task, "T"))
                .collect(),
        })
    }

    /// Found by the `client_decoder` fuzz target: a hostile runtime's queue depths near
    /// `u64::MAX` overflowed their sum and crashed the observer.
    #[test]
    fn queue_depths_from_the_wire_do_not_overflow() {
        let mut m = moment(1, 1);
        m.system.global_queue_depth = u64::MAX;
        m.system.local_queue_depth = 2;
        let mut h = History::with_budget(1000);
        h.record(&m);
        assert_eq!(h.system.last().unwrap().queue_depth, u64::MAX);
    }

    #[test]
    fn ring_keeps_the_newest() {
        let mut r = Ring::new(3);
        for i in 0..5 {
            r.push(i);
        }
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [2, 3, 4]);
        r.set_cap(2);
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [3, 4]);
    }

    #[test]
    fn total_points_stay_within_budget_as_processes_grow() {
        let mut h = History::with_budget(1000);
        for seq in 0..50 {
            h.record(&moment(seq, 10));
        }
        assert_eq!(h.process(Pid(0)).unwrap().len(), 50);
        for seq in 50..100 {
            h.record(&moment(seq, 100));
        }
        assert_eq!(h.process(Pid(0)).unwrap().len(), 10);
        assert!(h.total_points() <= 1000);
        h.record(&moment(100, 3));
        assert!(
            h.process(Pid(50)).is_none(),
            "removed processes are forgotten"
        );
    }
}
