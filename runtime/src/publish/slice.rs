//! Bounded slices of work: long publishing jobs (a full scan of the table, building and encoding
//! a snapshot) run on the runtime's own workers, so they give the worker back often enough that
//! no other task waits more than about [`BUDGET`] for it (issue 15: attaching an observer must
//! not stall the application).

use std::future::Future;
use std::task::Poll;
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

/// Run `fut`, adding to `waited` the time between its polls: from each `Pending` until it is
/// polled again, i.e. the time it had given its worker back (yielded, or waited for something)
/// during which other tasks ran. A tick's cost is its wall time minus this, so the sampler's
/// cost figure counts the sampler's own work, not the application's tasks that ran in its
/// yields (at 1,000,000 processes the processes measuring their state after the first scan
/// doubled the figure for seconds).
pub(crate) async fn counting_waits<F: Future>(fut: F, waited: &mut Duration) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut gave_back: Option<Instant> = None;
    std::future::poll_fn(|cx| {
        if let Some(t) = gave_back.take() {
            *waited += t.elapsed();
        }
        match fut.as_mut().poll(cx) {
            Poll::Pending => {
                gave_back = Some(Instant::now());
                Poll::Pending
            }
            ready => ready,
        }
    })
    .await
}

#[cfg(test)]
mod waits_tests {
    use super::*;

    /// Spin on the real clock (the work another task does while the measured one has yielded).
    fn spin(d: Duration) {
        let t = Instant::now();
        while t.elapsed() < d {
            std::hint::spin_loop();
        }
    }

    #[tokio::test]
    async fn the_time_another_task_runs_in_a_yield_counts_as_waited_not_as_work() {
        let other = tokio::spawn(async { spin(Duration::from_millis(30)) });
        let mut waited = Duration::ZERO;
        let wall = Instant::now();
        counting_waits(
            async {
                spin(Duration::from_millis(5));
                // Current-thread runtime: the spawned task runs here, whole.
                tokio::task::yield_now().await;
                spin(Duration::from_millis(5));
            },
            &mut waited,
        )
        .await;
        let wall = wall.elapsed();
        other.await.unwrap();
        assert!(waited >= Duration::from_millis(30), "waited {waited:?}");
        let work = wall - waited;
        assert!(
            work >= Duration::from_millis(10) && work < Duration::from_millis(30),
            "own work {work:?} of {wall:?}"
        );
    }
}
