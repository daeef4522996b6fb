//! Which process is running on this task, for the things a plain handle cannot know: that a
//! call targets the caller itself, who to count an outgoing message against, and whose status
//! becomes "waiting in a call".

use crate::process::ProcessCell;
use std::sync::Arc;

tokio::task_local! {
    pub(crate) static CURRENT: Arc<ProcessCell>;
}

/// Run `f` with the current process's cell, if this task is a process.
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&Arc<ProcessCell>) -> R) -> Option<R> {
    CURRENT.try_with(|c| f(c)).ok()
}

/// The current process's pid, if this task is a process.
pub fn self_pid() -> Option<beamline_wire::Pid> {
    with(|c| c.pid)
}
