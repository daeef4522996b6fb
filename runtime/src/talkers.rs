//! Who talks to whom (issue 19), without a trace: each process keeps a small table of its top
//! senders and one of its top receivers, fed by the send path's existing sample (about one
//! message in [`WAIT_SAMPLE_EVERY`] is stamped for its mailbox wait; that same message notes
//! its sender and receiver here). Read on demand with the per-type counters
//! ([`beamline_wire::ControlRequest::MessageTypes`]).
//!
//! **Bounded.** [`table::SLOTS`] entries per table, counted the space-saving way: a new talker arriving
//! at a full table takes the smallest entry's place and count plus one, so a heavy talker is
//! never lost and a count is at most a little high; the total noted is kept apart, so shares
//! stay honest.
//!
//! **Windowed.** Counts live in two generations of [`table::GENERATION_NS`]: the current one and the
//! one before; a reading adds the two, so it covers the last 5 to 10 s and a talker that went
//! quiet fades out within two generations.
//!
//! **Cost.** Nothing on the 31 messages in 32 that are not sampled. On a sampled one: the
//! receiver's table (allocated on its first sampled message, about 450 B; an idle process
//! pays the empty slot's one pointer) and the sender's, each behind a `try_lock`: a contended
//! update is skipped, the figures being sampled anyway.

pub(crate) mod table;

pub(crate) use table::TalkersSlot;

use crate::process::ProcessCell;
use crate::stats::WAIT_SAMPLE_EVERY;
use beamline_wire::Talker;
use table::{Both, OUTSIDE, Table};

/// A sampled message is going from the current process (or from outside any) to `to`, at
/// `now` (ns): count it in both tables. Called from the send path's sampled branch only.
#[cold]
#[inline(never)]
pub(crate) fn note(to: &ProcessCell, now: u64) {
    let from = crate::current::with(|me| {
        note_in(&me.talkers, now, |b| &mut b.receivers, to.pid.0);
        me.pid.0
    });
    note_in(
        &to.talkers,
        now,
        |b| &mut b.senders,
        from.unwrap_or(OUTSIDE),
    );
}

fn note_in(slot: &TalkersSlot, now: u64, table: impl FnOnce(&mut Both) -> &mut Table, pid: u64) {
    let talkers = slot.get_or_init(Box::default);
    // Skipped when contended: this message stands for about 32, and so does the next one.
    if let Some(mut both) = talkers.inner.try_lock() {
        table(&mut both).note(pid, now);
    }
}

/// What [`beamline_wire::TypeCounts`] carries of a process's talkers: its senders, its
/// receivers, the window they cover (ms) and the sampling rate.
pub(crate) fn read(cell: &ProcessCell) -> (Vec<Talker>, Vec<Talker>, u64, u32) {
    let Some(talkers) = cell.talkers.get() else {
        return (Vec::new(), Vec::new(), 0, WAIT_SAMPLE_EVERY as u32);
    };
    let now = cell.now_ns();
    let mut both = talkers.inner.lock();
    let (senders, a) = both.senders.read(now);
    let (receivers, b) = both.receivers.read(now);
    (
        senders,
        receivers,
        a.max(b) / 1_000_000,
        WAIT_SAMPLE_EVERY as u32,
    )
}

#[cfg(test)]
mod tests;
