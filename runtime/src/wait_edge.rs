//! Wait-for edges: while a process blocks on another one (a call, awaiting a task, waiting for
//! a process to stop), its status says whom it waits on, so the observer can follow chains to
//! their slow end and see cycles (deadlocks) whatever kind of wait closes them.

use crate::current;
use crate::process::ProcessCell;
use crate::stats::{StatusCode, bump};
use beamline_wire::Pid;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

/// The calling process marked as blocked on another one for as long as this lives; dropping
/// it (the wait ended, or its future was dropped) restores the status it had before. Edges
/// nest: an inner wait restores the outer one.
pub(crate) struct WaitEdge {
    me: Arc<ProcessCell>,
    prev: u8,
    prev_since: u64,
    since: u64,
}

impl WaitEdge {
    /// Mark the current process as waiting on `on`. `None` outside a process, when the
    /// runtime is not instrumented, or when `on` is the process itself.
    pub(crate) fn on(on: &ProcessCell) -> Option<WaitEdge> {
        if !on.shared.instrument {
            return None;
        }
        let me = current::with(|c| c.clone()).filter(|me| me.pid != on.pid)?;
        Some(WaitEdge::from(me, on))
    }

    /// [`Self::on`] for a caller that already looked itself up (a call does, for its
    /// calling-self check: one task-local lookup instead of two). `me` is not `on`.
    pub(crate) fn from(me: Arc<ProcessCell>, on: &ProcessCell) -> WaitEdge {
        let prev = me.stats.status.load(Relaxed);
        let since = me.now_ns();
        // The status restored after the wait counts from the start of the message being
        // handled: a call is its first await if nothing before it was (`since_is_stale`).
        let stats = &me.stats;
        let prev_since = if stats.first_wait_of_message() {
            since
        } else {
            stats.status_since_ns.load(Relaxed)
        };
        me.stats.waiting_on.store(on.pid.0, Relaxed);
        me.stats.set_status(StatusCode::Waiting, since);
        WaitEdge {
            me,
            prev,
            prev_since,
            since,
        }
    }

    /// Point the edge at another process (waiting on several, now on this one), keeping its
    /// start.
    pub(crate) fn retarget(&self, on: Pid) {
        self.me.stats.waiting_on.store(on.0, Relaxed);
    }
}

impl Drop for WaitEdge {
    fn drop(&mut self) {
        let stats = &self.me.stats;
        // Time blocked here is not busy time, if it was counted as busy at all (inside a batch
        // of callbacks).
        if stats.in_batch() {
            bump(
                &stats.call_wait_ns,
                self.me.now_ns().saturating_sub(self.since),
            );
        }
        stats.status.store(self.prev, Relaxed);
        stats.status_since_ns.store(self.prev_since, Relaxed);
    }
}
