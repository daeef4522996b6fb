//! The dirty list: the processes that changed since the sampler's last tick, so that a tick
//! reads only those. A process puts itself here on its first change after the sampler read it
//! (`ProcessCell::mark_dirty`: one short lock per process per interval, nothing while no sampler
//! runs); the sampler drains it each tick.

use crate::table::Keyed;
use std::sync::{Arc, Mutex};

const DIRTY_SHARDS: usize = 16;

/// The list, sharded by pid so that processes on many cores do not contend. Generic over what it
/// holds so that it need not know the process cell (which points back to the runtime's state).
pub(crate) struct DirtyList<T> {
    shards: Vec<Mutex<Vec<Arc<T>>>>,
}

impl<T: Keyed> DirtyList<T> {
    pub(crate) fn new() -> Self {
        DirtyList {
            shards: (0..DIRTY_SHARDS).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    /// Record that a process changed.
    pub(crate) fn push(&self, item: Arc<T>) {
        self.shards[item.key().0 as usize % DIRTY_SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(item);
    }

    /// How many shards [`DirtyList::take_shard`] takes.
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Take what shard `i` recorded so far: the sampler takes the list a shard at a time,
    /// yielding between, since a list of a million pointers (every process measured when
    /// publishing starts marks itself) took 6 ms to gather in one go.
    pub(crate) fn take_shard(&self, i: usize) -> Vec<Arc<T>> {
        std::mem::take(&mut *self.shards[i].lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Take everything recorded so far.
    pub(crate) fn drain(&self) -> Vec<Arc<T>> {
        let mut out = Vec::new();
        for shard in &self.shards {
            out.append(&mut shard.lock().unwrap_or_else(|p| p.into_inner()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::Pid;

    struct P(u64);
    impl Keyed for P {
        fn key(&self) -> Pid {
            Pid(self.0)
        }
    }

    /// Taken a shard at a time, the list gives each process once and is then empty.
    #[test]
    fn taking_every_shard_takes_everything_once() {
        let list = DirtyList::new();
        for pid in 0..1000u64 {
            list.push(Arc::new(P(pid)));
        }
        let mut seen: Vec<u64> = Vec::new();
        for i in 0..list.shard_count() {
            let part = list.take_shard(i);
            assert!(part.len() < 1000, "shard {i} holds only its share");
            seen.extend(part.iter().map(|p| p.0));
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        assert!(list.drain().is_empty());
    }
}
