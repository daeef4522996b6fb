//! Bounded slices of work: long publishing jobs (a full scan of the table, building and encoding
//! a snapshot) run on the runtime's own workers, so they give the worker back often enough that
//! no other task waits more than about [`BUDGET`] for it (issue 15: attaching an observer must
//! not stall the application).

use std::time::{Duration, Instant};

/// Longest stretch of work between two yields (measured on the real clock, not tokio's). Well
/// under the 1 ms a worker may be held: a task that becomes ready may wait behind a slice of
/// the sampler, one of each connection building a snapshot frame, and the application's own
/// tasks. A yield costs about a microsecond, so this is under 1% of the work.
pub(crate) const BUDGET: Duration = Duration::from_micros(100);
/// Items between two yields at most, whatever the clock says.
pub(crate) const MAX_ITEMS: u32 = 1024;
/// The clock is read once per this many items.
const CHECK_EVERY: u32 = 32;

/// Counts items of work and yields to the scheduler once a slice is used up.
pub(crate) struct Slicer {
    since: Instant,
    items: u32,
    /// How many times it yielded (for tests and the tick's cost figures).
    pub(crate) yields: u64,
}

impl Slicer {
    pub(crate) fn new() -> Self {
        Slicer {
            since: Instant::now(),
            items: 0,
            yields: 0,
        }
    }

    /// One item done; yields if the slice is used up. Call it where stopping is safe: the work
    /// may be cancelled at this point.
    pub(crate) async fn step(&mut self) {
        self.items += 1;
        if !self.items.is_multiple_of(CHECK_EVERY) {
            return;
        }
        if self.items >= MAX_ITEMS || self.since.elapsed() >= BUDGET {
            tokio::task::yield_now().await;
            self.yields += 1;
            self.items = 0;
            self.since = Instant::now();
        }
    }
}
