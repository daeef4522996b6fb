//! How often the sampler ticks: the bounds every request is clamped to, and the rule that lets
//! several subscribers ask for different intervals without one starving the others.
//!
//! The rule: every subscription wants an interval, either the one it asked for
//! ([`beamline_wire::ControlRequest::SetInterval`], through its own
//! [`crate::Observation::control`] or its endpoint connection) or, until it asks, the runtime's
//! own interval (`Builder::interval`, `Runtime::set_interval`). The sampler ticks at the
//! *shortest* interval any subscription wants. So an observer that asks for a slow interval gets
//! it only while nobody wants faster; it can never delay another observer's samples, and a
//! subscriber that goes away takes its wish with it. An observer may receive samples more often
//! than it asked; each delta says the interval it was sampled at (`interval_ms`).
//!
//! Every interval, wherever it comes from, is clamped to [`MIN_INTERVAL`]..=[`MAX_INTERVAL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The shortest sampling interval; shorter requests are clamped to it.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The longest sampling interval; longer requests are clamped to it (the observer's
/// `--interval` goes up to the same hour), so a sample arrives at least once an hour even for an
/// observer that asked for `u64::MAX` ms.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// `every` within [`MIN_INTERVAL`]..=[`MAX_INTERVAL`].
pub fn clamp(every: Duration) -> Duration {
    every.clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// [`clamp`] in milliseconds, the unit of the wire and of the runtime's setting.
pub(crate) fn clamp_ms(ms: u64) -> u64 {
    clamp(Duration::from_millis(ms)).as_millis() as u64
}

/// The intervals the current subscriptions want, by subscription id (`None`: has not asked, so
/// wants the runtime's own interval).
#[derive(Default)]
pub(crate) struct Asks {
    inner: Mutex<AsksInner>,
}

#[derive(Default)]
struct AsksInner {
    next_id: u64,
    by_subscriber: HashMap<u64, Option<u64>>,
}

impl Asks {
    fn lock(&self) -> std::sync::MutexGuard<'_, AsksInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new subscription, wanting the runtime's interval until it asks; returns its id.
    pub(crate) fn join(&self) -> u64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.by_subscriber.insert(id, None);
        id
    }

    /// The subscription is gone: its wish no longer counts.
    pub(crate) fn leave(&self, id: u64) {
        self.lock().by_subscriber.remove(&id);
    }

    /// Subscription `id` asks for `ms` (clamped). Ignored once it has left, so a request racing
    /// with the end of its subscription leaves nothing behind.
    pub(crate) fn ask(&self, id: u64, ms: u64) {
        if let Some(wish) = self.lock().by_subscriber.get_mut(&id) {
            *wish = Some(clamp_ms(ms));
        }
    }

    /// The interval to sample at, in ms: the shortest any subscription wants, where one that
    /// has not asked wants `runtime_ms`; `runtime_ms` when nobody subscribes.
    pub(crate) fn effective_ms(&self, runtime_ms: u64) -> u64 {
        let runtime_ms = clamp_ms(runtime_ms);
        self.lock()
            .by_subscriber
            .values()
            .map(|wish| wish.unwrap_or(runtime_ms))
            .min()
            .unwrap_or(runtime_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_are_clamped() {
        assert_eq!(clamp_ms(0), 100);
        assert_eq!(clamp_ms(u64::MAX), 3_600_000);
        assert_eq!(clamp_ms(250), 250);
    }

    #[test]
    fn the_shortest_wish_wins_and_leaves_with_its_subscriber() {
        let asks = Asks::default();
        assert_eq!(asks.effective_ms(1000), 1000);
        let slow = asks.join();
        asks.ask(slow, u64::MAX);
        assert_eq!(asks.effective_ms(1000), 3_600_000);
        let quiet = asks.join();
        assert_eq!(
            asks.effective_ms(1000),
            1000,
            "one that has not asked wants the runtime's"
        );
        let fast = asks.join();
        asks.ask(fast, 250);
        assert_eq!(asks.effective_ms(1000), 250);
        asks.leave(fast);
        asks.leave(quiet);
        assert_eq!(asks.effective_ms(1000), 3_600_000);
        asks.leave(slow);
        asks.ask(slow, 100);
        assert_eq!(
            asks.effective_ms(1000),
            1000,
            "a late ask from a gone subscriber is ignored"
        );
    }
}
