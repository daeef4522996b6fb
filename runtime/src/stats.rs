//! Per-process counters: written by the process (and by its senders) with relaxed atomics,
//! read from outside by the sampler without stopping or messaging the process.
//!
//! Nothing here locks, allocates or makes a system call. Timestamps are nanoseconds since the
//! runtime's start, read from `clock.rs` (the CPU's counter; tokio's clock when the runtime was built
//! on a paused one, so that such tests see exact figures).

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering::Relaxed};

/// What a process is doing, packed into one byte for [`Stats::status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum StatusCode {
    Starting = 0,
    Idle = 1,
    HandlingCall = 2,
    HandlingCast = 3,
    HandlingInfo = 4,
    Waiting = 5,
    Hibernating = 6,
    Terminating = 7,
    Exited = 8,
}

impl StatusCode {
    pub(crate) fn from_u8(v: u8) -> StatusCode {
        match v {
            0 => StatusCode::Starting,
            1 => StatusCode::Idle,
            2 => StatusCode::HandlingCall,
            3 => StatusCode::HandlingCast,
            4 => StatusCode::HandlingInfo,
            5 => StatusCode::Waiting,
            6 => StatusCode::Hibernating,
            7 => StatusCode::Terminating,
            _ => StatusCode::Exited,
        }
    }
}

/// The live counters of one process.
///
/// Sender-side fields (`enqueued`, `evicted`) are touched by whoever sends; all the others only by
/// the process's own task, which is why plain load+store suffices for them (see [`bump`]).
#[derive(Default)]
pub(crate) struct Stats {
    /// Messages put in the mailbox, counted by the mailbox as they are queued (under its lock,
    /// or ahead of the send for `Wait` mailboxes). The peak is not kept on that path (it would
    /// cost every send): see [`Stats::note_peak`].
    pub enqueued: AtomicU64,
    /// Messages taken out of the mailbox, handled or dropped (by the process).
    pub dequeued: AtomicU64,
    /// Set when something changed since the sampler last read this process; the first change
    /// of an interval also puts the process on the sampler's dirty list (see
    /// `ProcessCell::mark_dirty`), so a tick visits only what changed.
    pub dirty: AtomicBool,
    /// Messages evicted from the front of a `DropOldest` mailbox (by senders).
    pub evicted: AtomicU64,
    /// Deepest mailbox since the sampler last reset it.
    pub peak: AtomicU64,
    pub handled_call: AtomicU64,
    pub handled_cast: AtomicU64,
    pub handled_info: AtomicU64,
    /// Messages this process sent to others.
    pub sent: AtomicU64,
    /// Messages dropped: overflow policy, or still queued when the process died.
    pub dropped: AtomicU64,
    /// Total nanoseconds inside callbacks, excluding the batch in progress.
    pub busy_ns: AtomicU64,
    /// Start of the batch in progress (0 when idle): lets the sampler count time in a long
    /// callback before it returns.
    pub batch_start_ns: AtomicU64,
    /// Time callbacks spent blocked in calls to other processes (written by the process).
    pub call_wait_ns: AtomicU64,
    /// Longest per-message time since the sampler last reset it.
    pub max_handle_ns: AtomicU64,
    /// Sum and count of sampled mailbox waits (one message in [`WAIT_SAMPLE_EVERY`] is stamped).
    pub wait_ns: AtomicU64,
    pub wait_samples: AtomicU64,
    pub status: AtomicU8,
    /// When the status began. While handling, the start of the message being handled, not of
    /// its batch (see [`Stats::since_is_stale`]).
    pub status_since_ns: AtomicU64,
    /// The message whose start `status_since_ns` holds while handling: the low 32 bits of
    /// `dequeued` once that message was taken. (A `u32` fills the padding after the one-byte
    /// fields: no process grows.)
    pub since_msg: AtomicU32,
    /// The pid this process is blocked on in a call (meaningful when status is `Waiting`).
    pub waiting_on: AtomicU64,
    pub state_bytes: AtomicU64,
    pub state_deep: AtomicBool,
    /// Set by the sampler; the process measures its state on its own task and clears it.
    pub measure_requested: AtomicBool,
    pub hibernations: AtomicU64,
    /// Calls this process made to itself, refused at once with `CallError::CallingSelf` (a
    /// deadlock in OTP); bumped only on that path, by the process itself.
    pub self_calls_refused: AtomicU64,
}

/// One message in this many is stamped with its enqueue time to estimate mailbox wait.
pub(crate) const WAIT_SAMPLE_EVERY: u64 = 32;

/// Whether the message a process's mailbox counts as its `queued`-th (from 0) is the sampled one
/// of its block of [`WAIT_SAMPLE_EVERY`]: exactly one per block, at a place that changes from
/// block to block. Always the 32nd aliased with periodic traffic: 16 callers taking turns put
/// the same caller's message at every 32nd place, and the sampled senders named only it.
#[inline(always)]
pub(crate) fn sampled(queued: u64) -> bool {
    let block = queued / WAIT_SAMPLE_EVERY;
    let place =
        block.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - WAIT_SAMPLE_EVERY.trailing_zeros());
    // Block 0 samples its last message, as counting to 32 did: a process that got fewer than 32
    // messages has nothing sampled.
    queued % WAIT_SAMPLE_EVERY == WAIT_SAMPLE_EVERY - 1 - place
}

/// Increment a counter that only one task writes: cheaper than `fetch_add` (no locked
/// instruction), and exact because there is a single writer.
#[inline(always)]
pub(crate) fn bump(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(by), Relaxed);
}

impl Stats {
    /// Messages in the mailbox now; correct while the process sits in a slow callback, since
    /// senders count on their side.
    pub(crate) fn mailbox_len(&self) -> u64 {
        let out = self.dequeued.load(Relaxed) + self.evicted.load(Relaxed);
        self.enqueued.load(Relaxed).saturating_sub(out)
    }

    /// Record the mailbox length as a peak candidate. The process calls it at the start of each
    /// batch and the sampler takes the maximum with the length it reads, so the peak is exact
    /// for a mailbox that grows while its process is busy, and for a burst handled in one batch.
    #[inline]
    pub(crate) fn note_peak(&self) {
        let len = self.mailbox_len();
        if len > self.peak.load(Relaxed) {
            self.peak.fetch_max(len, Relaxed);
        }
    }

    /// The deepest the mailbox has been since the peak was last taken, given its length now:
    /// never below that length (the process records peaks only at batch starts).
    pub(crate) fn peak(&self, len_now: u64) -> u64 {
        self.peak.load(Relaxed).max(len_now)
    }

    /// As [`Stats::peak`], and start a new peak interval (the sampler, once per tick).
    pub(crate) fn take_peak(&self, len_now: u64) -> u64 {
        let mut peak = self.peak.load(Relaxed);
        if peak != 0 {
            peak = self.peak.swap(0, Relaxed);
        }
        peak.max(len_now)
    }

    /// The longest per-message time since the last call, and start a new interval (the sampler,
    /// once per tick). While a batch is in progress the figure is kept, not reset: a busy
    /// process's batch of up to 128 slow messages can span several intervals, and its handle
    /// time is known only when the batch ends, so an interval inside it shows the last batch's
    /// figure rather than zero.
    pub(crate) fn take_max_handle_ns(&self) -> u64 {
        let max = self.max_handle_ns.load(Relaxed);
        if max == 0 || self.in_batch() {
            return max;
        }
        self.max_handle_ns.swap(0, Relaxed)
    }

    /// Messages this process lost: dropped by its overflow policy or left queued at its exit
    /// (counted by the process), plus those evicted from a `DropOldest` mailbox (by senders).
    pub(crate) fn dropped_all(&self) -> u64 {
        self.dropped.load(Relaxed) + self.evicted.load(Relaxed)
    }

    pub(crate) fn set_status(&self, code: StatusCode, since_ns: u64) {
        self.status.store(code as u8, Relaxed);
        self.status_since_ns.store(since_ns, Relaxed);
    }

    /// Whether `status_since_ns` holds the start of an earlier message than the one being
    /// handled (its batch's, or an earlier message's in it); if so, it is taken as this
    /// message's from now on, and the caller stores the time.
    ///
    /// Why not a clock read per message: the loop reads the clock once per batch (the hot
    /// path), so within a batch of 128 slow calls the status would say "handling for 4.7 s"
    /// of a process that started its current call 20 ms ago. Instead the process stamps a
    /// message when its callback first awaits (`panic::Guarded`, on `Pending`) or blocks in a
    /// call (`WaitEdge`): paths that already cost far more than a clock read, taken only by
    /// callbacks slow enough for the figure to matter. A callback that never awaits is not
    /// stamped: its status counts from the last stamped start (the batch's, or an earlier
    /// message's that awaited), a few microseconds early for quick messages, more behind a
    /// callback that computes for long without awaiting.
    #[inline]
    pub(crate) fn since_is_stale(&self) -> bool {
        let msg = self.dequeued.load(Relaxed) as u32;
        if self.since_msg.load(Relaxed) == msg {
            return false;
        }
        self.since_msg.store(msg, Relaxed);
        true
    }

    /// Whether the process, inside a batch, has just begun waiting for the first time in the
    /// message it handles (a callback's first `Pending`, or a call it makes): that message's
    /// start is then the caller's to stamp ([`Stats::since_is_stale`] records which message).
    #[inline]
    pub(crate) fn first_wait_of_message(&self) -> bool {
        self.is_handling() && self.in_batch() && self.since_is_stale()
    }

    /// Whether the process is inside a batch of messages (between the batch's first clock read
    /// and its end): its busy time is running.
    #[inline]
    pub(crate) fn in_batch(&self) -> bool {
        self.batch_start_ns.load(Relaxed) != 0
    }

    /// Whether the process is in a callback for a message (or a timeout, exit or down).
    pub(crate) fn is_handling(&self) -> bool {
        matches!(
            self.status(),
            StatusCode::HandlingCall | StatusCode::HandlingCast | StatusCode::HandlingInfo
        )
    }

    pub(crate) fn status(&self) -> StatusCode {
        StatusCode::from_u8(self.status.load(Relaxed))
    }

    pub(crate) fn handled(&self) -> u64 {
        self.handled_call.load(Relaxed)
            + self.handled_cast.load(Relaxed)
            + self.handled_info.load(Relaxed)
    }

    /// Busy nanoseconds including the batch in progress at `now_ns`, not counting time blocked
    /// in calls to other processes (a caller waiting on a bottleneck is not itself busy).
    pub(crate) fn busy_at(&self, now_ns: u64) -> u64 {
        let start = self.batch_start_ns.load(Relaxed);
        let (running, blocked_now) = if start == 0 {
            (0, 0)
        } else {
            let blocked = if self.status() == StatusCode::Waiting {
                now_ns.saturating_sub(self.status_since_ns.load(Relaxed).max(start))
            } else {
                0
            };
            (now_ns.saturating_sub(start), blocked)
        };
        (self.busy_ns.load(Relaxed) + running)
            .saturating_sub(self.call_wait_ns.load(Relaxed) + blocked_now)
    }
}

#[cfg(test)]
mod tests {
    /// Exactly one message per block of 32 is sampled, and traffic that takes turns with a
    /// period dividing 32 (16 callers) is sampled in every one of its places, not in one.
    #[test]
    fn one_message_per_block_is_sampled_at_a_place_that_moves() {
        let picked: Vec<u64> = (0..32 * 64).filter(|&q| super::sampled(q)).collect();
        assert_eq!(picked.len(), 64, "one per block");
        for (b, q) in picked.iter().enumerate() {
            assert_eq!(q / 32, b as u64, "in block {b}");
        }
        let callers: std::collections::HashSet<u64> = picked.iter().map(|q| q % 16).collect();
        assert!(
            callers.len() >= 12,
            "16 callers taking turns: sampled {callers:?}"
        );
    }

    use super::*;

    #[test]
    fn mailbox_len_and_peak_follow_senders_and_receiver() {
        let s = Stats::default();
        s.enqueued.store(3, Relaxed);
        assert_eq!(s.mailbox_len(), 3);
        s.note_peak();
        bump(&s.dequeued, 2);
        assert_eq!(s.mailbox_len(), 1);
        assert_eq!(s.peak.load(Relaxed), 3);
        assert_eq!(s.peak(1), 3);
        assert_eq!(s.take_peak(1), 3);
        assert_eq!(
            s.peak.load(Relaxed),
            0,
            "taking the peak starts a new interval"
        );
        assert_eq!(s.peak(1), 1, "never below the length now");
    }

    #[test]
    fn dropped_counts_evictions_by_senders() {
        let s = Stats::default();
        s.dropped.store(2, Relaxed);
        s.evicted.store(3, Relaxed);
        assert_eq!(s.dropped_all(), 5);
    }

    #[test]
    fn busy_counts_the_batch_in_progress() {
        let s = Stats::default();
        s.busy_ns.store(100, Relaxed);
        assert_eq!(s.busy_at(1_000), 100);
        s.batch_start_ns.store(400, Relaxed);
        assert_eq!(s.busy_at(1_000), 700);
    }
}
