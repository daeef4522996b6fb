//! The sampler's memory of each process between ticks, as a map that grows without a pause.
//!
//! One `HashMap` of a million entries doubles by rehashing every entry in one call: tens of
//! milliseconds inside one poll of the sampler, and reserving it whole up front touches
//! megabytes of control bytes in one go (issue 15: attaching must never hold a worker for more
//! than 1 ms). Split into [`SHARDS`] maps by pid, a growth rehashes at most a shard's share
//! (about 4,000 entries at a million processes, some tens of microseconds), between the
//! sampler's slices.

use std::collections::HashMap;

/// Shards of the map: a power of two.
pub(crate) const SHARDS: usize = 256;

/// A map from pid to `V`, in [`SHARDS`] independent hash maps.
pub(crate) struct ShardedMap<V> {
    shards: Vec<HashMap<u64, V>>,
    len: usize,
}

impl<V> Default for ShardedMap<V> {
    fn default() -> Self {
        ShardedMap {
            shards: Vec::new(),
            len: 0,
        }
    }
}

/// The shard of a pid: its high bits after a multiplicative mix (pids are consecutive).
fn shard(pid: u64) -> usize {
    (pid.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % SHARDS
}

impl<V> ShardedMap<V> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, pid: u64) -> Option<&V> {
        self.shards.get(shard(pid))?.get(&pid)
    }

    pub(crate) fn get_mut(&mut self, pid: u64) -> Option<&mut V> {
        self.shards.get_mut(shard(pid))?.get_mut(&pid)
    }

    pub(crate) fn insert(&mut self, pid: u64, v: V) {
        if self.shards.is_empty() {
            self.shards = (0..SHARDS).map(|_| HashMap::new()).collect();
        }
        if self.shards[shard(pid)].insert(pid, v).is_none() {
            self.len += 1;
        }
    }

    pub(crate) fn remove(&mut self, pid: u64) -> Option<V> {
        let v = self.shards.get_mut(shard(pid))?.remove(&pid);
        if v.is_some() {
            self.len -= 1;
        }
        v
    }

    /// Keep the entries `keep` says to keep, one shard at a time.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(u64, &mut V) -> bool) {
        for m in &mut self.shards {
            m.retain(|pid, v| keep(*pid, v));
        }
        self.len = self.shards.iter().map(HashMap::len).sum();
    }

    /// The largest number of entries in one shard (for tests).
    #[cfg(test)]
    pub(crate) fn largest_shard(&self) -> usize {
        self.shards.iter().map(HashMap::len).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Consecutive pids spread evenly, so no shard (and no growth) is much more than its share.
    #[test]
    fn consecutive_pids_spread_over_the_shards() {
        let mut m = ShardedMap::default();
        for pid in 1..=100_000u64 {
            m.insert(pid, pid);
        }
        assert_eq!(m.len(), 100_000);
        assert!(
            m.largest_shard() < 2 * 100_000 / SHARDS,
            "{}",
            m.largest_shard()
        );
        assert_eq!(m.get(77), Some(&77));
        assert_eq!(m.remove(77), Some(77));
        assert_eq!(m.remove(77), None);
        m.retain(|pid, _| pid % 2 == 0);
        assert_eq!(m.len(), 50_000);
        assert_eq!(m.get(4), Some(&4));
        assert_eq!(m.get(5), None);
    }
}
