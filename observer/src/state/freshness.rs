//! Whether the data on screen is live. A stopped runtime (SIGSTOP) keeps its connection open
//! and a dropped link keeps the last sample on screen: without this, both look live.

use std::time::Duration;
use tokio::time::Instant;

/// When the newest sample arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Freshness {
    last: Option<Instant>,
}

impl Freshness {
    /// A sample arrived now.
    pub fn on_sample(&mut self) {
        self.last = Some(Instant::now());
    }

    /// The data's age when it is stale: the link is not `live`, or no sample came for two
    /// intervals of `interval_ms`. `None` while fresh or before the first sample.
    pub fn stale(&self, live: bool, interval_ms: u64) -> Option<Duration> {
        let age = self.last?.elapsed();
        let overdue = age >= Duration::from_millis(interval_ms.saturating_mul(2));
        (!live || overdue).then_some(age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn stale_after_two_intervals_or_when_the_link_is_down() {
        let mut f = Freshness::default();
        assert_eq!(f.stale(false, 1000), None, "nothing shown yet");
        f.on_sample();
        assert_eq!(f.stale(true, 1000), None);
        assert_eq!(f.stale(false, 1000), Some(Duration::ZERO), "link down");
        tokio::time::advance(Duration::from_millis(1999)).await;
        assert_eq!(f.stale(true, 1000), None);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(f.stale(true, 1000), Some(Duration::from_secs(2)));
        f.on_sample();
        assert_eq!(f.stale(true, 1000), None, "a sample makes it fresh");
    }
}
