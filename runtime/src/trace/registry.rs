//! The runtime's table of active traces, keyed by the traced pid. The send and receive paths
//! read only [`Registry::active`] (one relaxed load) until some trace exists; the map is
//! consulted only for a process whose own `traced` flag is set.

use super::session::Session;
use beamline_wire::Pid;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Active traces.
#[derive(Default)]
pub(crate) struct Registry {
    /// How many traces are active: zero keeps the message paths to one relaxed load.
    count: AtomicUsize,
    next_id: AtomicU64,
    sessions: Mutex<HashMap<Pid, Arc<Session>>>,
}

impl Registry {
    /// Whether any trace is active (a hint: the per-process flag decides).
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.count.load(Relaxed) != 0
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Pid, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh trace id.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Relaxed) + 1
    }

    /// Register `session` for its pid; `Err` if that process is already traced.
    pub(crate) fn insert(&self, session: Arc<Session>) -> Result<(), Arc<Session>> {
        let mut map = self.map();
        match map.get(&session.pid) {
            Some(old) if !old.has_ended() => return Err(old.clone()),
            _ => {}
        }
        if map.insert(session.pid, session).is_none() {
            self.count.fetch_add(1, Relaxed);
        }
        Ok(())
    }

    /// The trace of `pid`, if any.
    pub(crate) fn get(&self, pid: Pid) -> Option<Arc<Session>> {
        self.map().get(&pid).cloned()
    }

    /// Forget the trace with this id; `true` if it was registered.
    pub(crate) fn remove(&self, pid: Pid, id: u64) -> bool {
        let mut map = self.map();
        if map.get(&pid).is_some_and(|s| s.id == id) {
            map.remove(&pid);
            self.count.fetch_sub(1, Relaxed);
            return true;
        }
        false
    }
}
