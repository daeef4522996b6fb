//! What both supervisors answer about their children: the listing (`which_children`), the
//! counts (`count_children`) and the errors of their API, as in OTP.

use super::spec::{ChildKind, ChildSpec, Restart};
use crate::{CallError, ProcessRef};
use beamline_wire::Pid;

/// Errors of the supervisor API, as in OTP.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SupervisorError {
    /// No child with that id (or pid).
    #[error("child not found")]
    NotFound,
    /// The child is running; terminate it first.
    #[error("child is running")]
    Running,
    /// The child's restart failed and the supervisor is retrying it (OTP's `restarting`);
    /// terminate it first to restart or delete it by hand.
    #[error("child is restarting")]
    Restarting,
    /// A child with that id is already running.
    #[error("child already started as {0}")]
    AlreadyStarted(Pid),
    /// A child spec with that id exists (not running); restart or delete it.
    #[error("a child with that id already exists")]
    AlreadyPresent,
    /// A dynamic supervisor is at its `max_children`.
    #[error("max_children reached")]
    MaxChildren,
    /// The spec is invalid.
    #[error("invalid child spec: {0}")]
    InvalidSpec(String),
    /// The child's start function failed (returned an error or panicked).
    #[error("child failed to start: {0}")]
    Start(String),
    /// The supervisor itself could not be reached.
    #[error("supervisor unreachable: {0}")]
    Call(CallError),
}

/// One child as listed by `which_children`.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildInfo {
    /// The child id.
    pub id: String,
    /// The running process, if any (`None` after it was terminated, ignored at start, or while
    /// it is restarting).
    pub process: Option<ProcessRef>,
    /// `true` while a failed restart is being retried (OTP lists `restarting` in place of the
    /// pid). The child counts as a spec but not as active.
    pub restarting: bool,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// Its restart type.
    pub restart: Restart,
}

/// Counts as given by `count_children`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Child specs held (restarting children included).
    pub specs: usize,
    /// Children running.
    pub active: usize,
    /// Specs that are supervisors.
    pub supervisors: usize,
    /// Specs that are workers.
    pub workers: usize,
}

/// Count children given as (spec, running).
pub(crate) fn count<'a>(children: impl Iterator<Item = (&'a ChildSpec, bool)>) -> Counts {
    let mut c = Counts::default();
    for (spec, running) in children {
        c.specs += 1;
        c.active += running as usize;
        match spec.kind {
            ChildKind::Supervisor => c.supervisors += 1,
            ChildKind::Worker => c.workers += 1,
        }
    }
    c
}
