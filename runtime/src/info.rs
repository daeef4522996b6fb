//! [`ProcessInfo`]: a point-in-time reading of one process's counters, for users and tests.
//! The sampler (`publish/to_wire.rs`) turns successive readings into rates for the observer; both
//! read the counters by the rules of `stats.rs`.

use crate::ExitReason;
use crate::process::ProcessCell;
use crate::publish::to_wire::status_of;
use crate::registry::Name;
use beamline_wire::{Pid, ProcessKind, Status};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Everything the runtime knows about a process at one instant, read without messaging it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessInfo {
    /// Its pid.
    pub pid: Pid,
    /// Its registered name.
    pub name: Option<Name>,
    /// Server, supervisor, agent or task.
    pub kind: ProcessKind,
    /// The Rust type of its behaviour.
    pub behaviour: &'static str,
    /// Its supervisor, or the process that started it.
    pub parent: Option<Pid>,
    /// Its child id, if supervised.
    pub child_id: Option<String>,
    /// What it is doing (times in milliseconds since the runtime started).
    pub status: Status,
    /// Messages queued now (correct even while it sits in a slow callback).
    pub mailbox_len: u64,
    /// Deepest the mailbox has been since the sampler last looked (since spawn if no sampler).
    pub mailbox_peak: u64,
    /// Capacity of a bounded mailbox.
    pub mailbox_capacity: Option<u64>,
    /// Messages that arrived in its mailbox.
    pub received: u64,
    /// Calls handled. This and the two counts below are added up by the process at the end of
    /// each batch of up to 128 messages and every 8 messages within one (counting them one by one
    /// cost every message), so while it works through a batch they lag by at most 7 messages.
    pub handled_calls: u64,
    /// Casts handled.
    pub handled_casts: u64,
    /// Infos handled (plain messages, timers, timeouts, down and exit messages).
    pub handled_infos: u64,
    /// Messages it sent.
    pub sent: u64,
    /// Messages dropped by its overflow policy or left queued when it exited.
    pub dropped: u64,
    /// Total time inside callbacks.
    pub busy: Duration,
    /// Mean time a message waited in the mailbox (sampled: one message in 32 is timed).
    pub mean_wait: Duration,
    /// State size in bytes, measured at most once per sampling interval.
    pub state_bytes: u64,
    /// Whether `state_bytes` includes heap memory.
    pub state_deep: bool,
    /// Restarts of its child slot.
    pub restarts: u32,
    /// Times it hibernated.
    pub hibernations: u64,
    /// Its exit reason, once exited.
    pub exit_reason: Option<ExitReason>,
}

impl ProcessInfo {
    pub(crate) fn read(cell: &ProcessCell) -> ProcessInfo {
        let s = &cell.stats;
        let now = cell.now_ns();
        let samples = s.wait_samples.load(Relaxed);
        let len = s.mailbox_len();
        ProcessInfo {
            pid: cell.pid,
            name: cell.meta.name().cloned(),
            kind: cell.kind,
            behaviour: cell.meta.behaviour(),
            parent: cell.meta.parent(),
            child_id: cell.meta.child_id().cloned(),
            status: status_of(cell),
            mailbox_len: len,
            mailbox_peak: s.peak(len),
            mailbox_capacity: cell.meta.capacity(),
            received: s.enqueued.load(Relaxed),
            handled_calls: s.handled_call.load(Relaxed),
            handled_casts: s.handled_cast.load(Relaxed),
            handled_infos: s.handled_info.load(Relaxed),
            sent: s.sent.load(Relaxed),
            dropped: s.dropped_all(),
            busy: Duration::from_nanos(s.busy_at(now)),
            mean_wait: Duration::from_nanos(
                s.wait_ns.load(Relaxed).checked_div(samples).unwrap_or(0),
            ),
            state_bytes: s.state_bytes.load(Relaxed),
            state_deep: s.state_deep.load(Relaxed),
            restarts: cell
                .meta
                .slot()
                .map_or(0, |slot| slot.restarts.load(Relaxed)),
            hibernations: s.hibernations.load(Relaxed),
            exit_reason: cell.exit.get().cloned(),
        }
    }
}
