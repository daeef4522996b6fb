//! The runtime's clock: nanoseconds since the runtime started, read on every batch a process
//! handles (busy time, status since, handle time) and on every sampled message.
//!
//! Two sources, chosen once when the runtime is built:
//!
//! - **The CPU's time-stamp counter** (through `quanta`), for every runtime not started on a
//!   paused tokio clock. A read is a `rdtsc` and a multiply: about 20 instructions where
//!   `tokio::time::Instant::elapsed` costs about 107 (`clock_gettime` plus `Instant::duration_since`),
//!   and a call reads the clock twice. `quanta` falls back to the OS's monotonic clock on a CPU
//!   without an invariant counter, and calibrates the counter against it once per process
//!   (at least 0.5 ms, at most 200 ms, on the first runtime built).
//! - **tokio's clock**, for a runtime built while tokio's clock is paused (`#[tokio::test(start_paused
//!   = true)]`, `tokio::time::pause()` before building). Tests then see exact busy times, handle
//!   times and status ages as the paused clock advances, the way every timer in the runtime does.
//!   A clock paused only after the runtime was built is not followed (README, "Differences").

use std::sync::OnceLock;
use std::time::Duration;

/// Where a runtime's nanoseconds come from (see the module doc).
pub(crate) enum Clock {
    /// The time-stamp counter, and its reading when the runtime started.
    Counter {
        clock: &'static quanta::Clock,
        start: u64,
    },
    /// tokio's clock (paused at build time), and its reading when the runtime started.
    Tokio(tokio::time::Instant),
}

impl Clock {
    /// The clock for a runtime being built now: tokio's if it is paused, the counter otherwise.
    pub(crate) fn start() -> Clock {
        if tokio_clock_is_paused() {
            return Clock::Tokio(tokio::time::Instant::now());
        }
        let clock = counter();
        Clock::Counter {
            clock,
            start: clock.raw(),
        }
    }

    /// Nanoseconds since [`Clock::start`], never 0 (0 means "not set" in the counters).
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        match self {
            Clock::Counter { clock, start } => clock.delta_as_nanos(*start, clock.raw()) + 1,
            Clock::Tokio(epoch) => epoch.elapsed().as_nanos() as u64 + 1,
        }
    }
}

/// The process's one calibrated counter, made on first use.
fn counter() -> &'static quanta::Clock {
    static COUNTER: OnceLock<quanta::Clock> = OnceLock::new();
    COUNTER.get_or_init(quanta::Clock::new)
}

/// Whether tokio's clock stands still: it did not move while the real clock moved 2 µs. A paused
/// clock only auto-advances when its runtime is idle, never during this spin; outside a runtime, or
/// without tokio's `test-util`, tokio's clock is the real one and moves.
fn tokio_clock_is_paused() -> bool {
    let before = tokio::time::Instant::now();
    let real = std::time::Instant::now();
    while real.elapsed() < Duration::from_micros(2) {
        std::hint::spin_loop();
    }
    tokio::time::Instant::now() == before
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_runtime_built_on_a_paused_clock_follows_it_exactly() {
        let clock = Clock::start();
        assert!(matches!(clock, Clock::Tokio(_)));
        let t0 = clock.now_ns();
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(clock.now_ns() - t0, 1_500_000_000);
    }

    #[tokio::test]
    async fn a_runtime_on_a_running_clock_reads_the_counter_and_moves_with_real_time() {
        let clock = Clock::start();
        assert!(matches!(clock, Clock::Counter { .. }));
        // The real clock is read around (outer) and inside (inner) our two readings, so a
        // preemption between any two reads widens the bracket instead of failing the test.
        let outer = std::time::Instant::now();
        let t0 = clock.now_ns();
        let inner = std::time::Instant::now();
        // Spinning, not sleeping: this compares the clock with the real one; nothing waits for
        // anything else to happen.
        while inner.elapsed() < Duration::from_millis(20) {
            std::hint::spin_loop();
        }
        let inner_ns = inner.elapsed().as_nanos() as u64;
        let ours = clock.now_ns() - t0;
        let outer_ns = outer.elapsed().as_nanos() as u64;
        // Calibrated against the monotonic clock: within 2% of it.
        assert!(
            ours >= inner_ns * 98 / 100 && ours <= outer_ns * 102 / 100,
            "counter {ours} ns against real {inner_ns}..{outer_ns} ns"
        );
    }

    #[test]
    fn outside_any_runtime_the_clock_is_the_counter() {
        assert!(matches!(Clock::start(), Clock::Counter { .. }));
    }

    /// 0 means "not set" in the counters, so even the first reading, at the very instant the
    /// runtime starts (a paused clock stands there), is not 0.
    #[tokio::test(start_paused = true)]
    async fn the_clock_never_reads_zero() {
        let clock = Clock::start();
        assert!(clock.now_ns() >= 1);
        assert_eq!(clock.now_ns(), 1, "the paused clock has not moved");
    }
}
