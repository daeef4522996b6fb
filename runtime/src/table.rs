//! The process table: every live process, and exited ones for as long as observers need them,
//! by pid. Touched only at spawn, at exit and by the sampler.
//!
//! How long an exited process is kept is decided here: with instrumentation on, until the
//! sampler has reported its exit once ([`Table::release_exited`]), so that even a process that
//! lived for a microsecond shows up in an observer; at most [`MAX_RETAINED_EXITED`] at a time,
//! beyond which (and without instrumentation) it goes at exit.

use beamline_wire::Pid;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Exited processes kept for the sampler (so short-lived ones are seen at least once), at most.
pub(crate) const MAX_RETAINED_EXITED: usize = 10_000;

/// Shards of the table. Many, so that a shard stays small: the sampler copies one shard's
/// pointers under its lock in one go, an `Arc` count (a cache miss) each. At 1,000,000
/// processes 256 shards meant 3,900 a shard, 1.7 ms of one poll and up to 9 ms on a loaded
/// machine (issue 15); 4,096 mean about 250. An empty shard costs its lock and an empty map
/// (about 230 KB per runtime in all).
const TABLE_SHARDS: usize = 4096;

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

/// What the table (and the dirty list) hold: anything that knows its pid.
pub(crate) trait Keyed {
    /// The pid it is filed under.
    fn key(&self) -> Pid;
}

type PidMap<T> = HashMap<u64, Arc<T>, std::hash::BuildHasherDefault<PidHasher>>;

/// The table, sharded by pid so spawns on many cores do not contend. Generic over what it holds
/// so that it need not know the process cell (which points back to the runtime's state).
pub(crate) struct Table<T> {
    shards: Vec<Mutex<PidMap<T>>>,
    retained_exited: AtomicUsize,
    /// Processes alive now.
    pub live: AtomicUsize,
}

impl<T: Keyed> Table<T> {
    pub(crate) fn new() -> Self {
        Table {
            shards: (0..TABLE_SHARDS)
                .map(|_| Mutex::new(PidMap::default()))
                .collect(),
            retained_exited: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
        }
    }

    fn shard(&self, pid: Pid) -> std::sync::MutexGuard<'_, PidMap<T>> {
        self.shards[(pid.0 as usize) % TABLE_SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// A process was spawned.
    pub(crate) fn insert(&self, cell: Arc<T>) {
        self.live.fetch_add(1, Relaxed);
        let pid = cell.key();
        self.shard(pid).insert(pid.0, cell);
    }

    pub(crate) fn get(&self, pid: Pid) -> Option<Arc<T>> {
        self.shard(pid).get(&pid.0).cloned()
    }

    /// Process `pid` exited: kept until the sampler reports it when `for_observers` (the runtime
    /// is instrumented) and there is room, removed now otherwise.
    pub(crate) fn on_exit(&self, pid: Pid, for_observers: bool) {
        self.live.fetch_sub(1, Relaxed);
        if !for_observers || self.retained_exited.load(Relaxed) >= MAX_RETAINED_EXITED {
            self.shard(pid).remove(&pid.0);
        } else {
            self.retained_exited.fetch_add(1, Relaxed);
        }
    }

    /// Observers have seen the exit of `pid`: it need not be kept any longer.
    pub(crate) fn release_exited(&self, pid: Pid) {
        if self.shard(pid).remove(&pid.0).is_some() {
            self.retained_exited.fetch_sub(1, Relaxed);
        }
    }

    /// The most entries the table holds now: live processes plus exited ones kept.
    pub(crate) fn max_len(&self) -> usize {
        self.live.load(Relaxed) + MAX_RETAINED_EXITED
    }

    /// Visit every process, one shard at a time (a shard is locked only while it is visited).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Arc<T>)) {
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            for cell in shard.values() {
                f(cell);
            }
        }
    }

    /// How many shards [`Table::copy_shard`] takes.
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Append the cells of shard `i` to `out`, holding its lock only while copying pointers
    /// (the sampler then reads them unlocked, yielding as it goes; a spawn or exit on the shard
    /// waits at most for the copy).
    pub(crate) fn copy_shard(&self, i: usize, out: &mut Vec<Arc<T>>) {
        let shard = self.shards[i].lock().unwrap_or_else(|p| p.into_inner());
        out.extend(shard.values().cloned());
    }

    /// A copy of the cells (for shutdown and listings).
    pub(crate) fn cells(&self) -> Vec<Arc<T>> {
        let mut out = Vec::new();
        self.for_each(|c| out.push(c.clone()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hasher;

    /// Pids in one table shard are [`TABLE_SHARDS`] apart; their hashes must still spread over
    /// the low bits the map indexes buckets by, or every spawn would probe a long chain.
    #[test]
    fn pids_one_shard_apart_spread_over_buckets() {
        let buckets: std::collections::HashSet<u64> = (0..1024u64)
            .map(|j| {
                let mut h = PidHasher::default();
                h.write_u64(7 + TABLE_SHARDS as u64 * j);
                h.finish() & 1023
            })
            .collect();
        assert!(
            buckets.len() > 600,
            "only {} of 1024 buckets used",
            buckets.len()
        );
    }

    #[test]
    fn an_exited_process_is_kept_until_released_and_only_with_room() {
        struct P(u64);
        impl Keyed for P {
            fn key(&self) -> Pid {
                Pid(self.0)
            }
        }
        let t: Table<P> = Table::new();
        t.insert(Arc::new(P(1)));
        t.insert(Arc::new(P(2)));
        t.on_exit(Pid(1), true);
        assert!(t.get(Pid(1)).is_some(), "kept for the sampler");
        t.release_exited(Pid(1));
        assert!(t.get(Pid(1)).is_none());
        t.on_exit(Pid(2), false);
        assert!(
            t.get(Pid(2)).is_none(),
            "nobody could observe it: gone at exit"
        );
        for i in 0..=MAX_RETAINED_EXITED as u64 {
            t.insert(Arc::new(P(10 + i)));
            t.on_exit(Pid(10 + i), true);
        }
        assert!(t.get(Pid(10)).is_some());
        assert!(
            t.get(Pid(10 + MAX_RETAINED_EXITED as u64)).is_none(),
            "beyond the cap it goes at exit"
        );
        assert_eq!(t.live.load(Relaxed), 0);
    }
}
