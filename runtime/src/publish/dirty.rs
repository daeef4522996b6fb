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

    /// Take everything recorded so far.
    pub(crate) fn drain(&self) -> Vec<Arc<T>> {
        let mut out = Vec::new();
        for shard in &self.shards {
            out.append(&mut shard.lock().unwrap_or_else(|p| p.into_inner()));
        }
        out
    }
}
