//! The plain tables behind `talkers.rs`: two generations of space-saving counts per direction,
//! behind one lock. A leaf: it knows pids and times, not processes.

use beamline_wire::{MAX_TALKERS, Pid, Talker};
use once_cell::race::OnceBox;
use parking_lot::Mutex;

/// Entries per table.
pub(crate) const SLOTS: usize = MAX_TALKERS;

/// How long one generation of counts lasts; a reading covers the last one or two.
pub(crate) const GENERATION_NS: u64 = 5_000_000_000;

/// Where a process's tables live: empty (one pointer) until its first sampled message.
pub(crate) type TalkersSlot = OnceBox<Talkers>;

/// A process's top senders and top receivers.
#[derive(Default)]
pub(crate) struct Talkers {
    pub(super) inner: Mutex<Both>,
}

#[derive(Default)]
pub(super) struct Both {
    pub(super) senders: Table,
    pub(super) receivers: Table,
}

/// The pid noted for messages sent from outside any process (pids start at 1).
pub(super) const OUTSIDE: u64 = 0;

/// One table: two generations of space-saving counts.
#[derive(Default, Clone)]
pub(super) struct Table {
    /// `now / GENERATION_NS` when `current` began.
    generation: u64,
    /// When the table was first used, so a young table's window is not overstated.
    born_ns: u64,
    current: Counts,
    previous: Counts,
}

#[derive(Default, Clone)]
struct Counts {
    /// (pid, count); a count of 0 is a free slot.
    slots: [(u64, u64); SLOTS],
    /// Everything noted in this generation, including what fell out of the slots.
    total: u64,
}

impl Counts {
    fn note(&mut self, pid: u64) {
        self.total += 1;
        if let Some(slot) = self.slots.iter_mut().find(|s| s.1 != 0 && s.0 == pid) {
            slot.1 += 1;
            return;
        }
        // A free slot counts 0, so it is the smallest; when full, the newcomer takes the
        // smallest entry's place and count plus one (space-saving).
        let slot = self
            .slots
            .iter_mut()
            .min_by_key(|s| s.1)
            .expect("SLOTS > 0");
        *slot = (pid, slot.1 + 1);
    }
}

impl Table {
    /// Move to the generation of `now`: the current counts become the previous ones, or both
    /// are dropped after a silence of two generations or more.
    fn roll(&mut self, now: u64) {
        if self.born_ns == 0 {
            self.born_ns = now;
            self.generation = now / GENERATION_NS;
        }
        let g = now / GENERATION_NS;
        if g == self.generation {
            return;
        }
        let current = std::mem::take(&mut self.current);
        self.previous = if g == self.generation + 1 {
            current
        } else {
            Counts::default()
        };
        self.generation = g;
    }

    pub(super) fn note(&mut self, pid: u64, now: u64) {
        self.roll(now);
        self.current.note(pid);
    }

    /// The top talkers of the last one or two generations, most first, and how far back that
    /// reaches (ns).
    pub(super) fn read(&mut self, now: u64) -> (Vec<Talker>, u64) {
        if self.born_ns == 0 {
            return (Vec::new(), 0);
        }
        self.roll(now);
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(2 * SLOTS);
        for &(pid, n) in self.previous.slots.iter().chain(&self.current.slots) {
            if n == 0 {
                continue;
            }
            match merged.iter_mut().find(|(p, _)| *p == pid) {
                Some(m) => m.1 += n,
                None => merged.push((pid, n)),
            }
        }
        merged.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        merged.truncate(SLOTS);
        let total = (self.previous.total + self.current.total).max(1);
        let start = (self.generation.saturating_sub(1) * GENERATION_NS).max(self.born_ns);
        let talkers = merged
            .into_iter()
            .map(|(pid, n)| Talker {
                pid: (pid != OUTSIDE).then_some(Pid(pid)),
                sampled: n,
                share: (n as f64 / total as f64) as f32,
            })
            .collect();
        (talkers, now.saturating_sub(start))
    }
}
