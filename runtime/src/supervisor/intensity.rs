//! Restart intensity: at most `max` restarts within a sliding `period`.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// The restarts counted in the current window.
#[derive(Debug)]
pub(crate) struct Intensity {
    max: u32,
    period: Duration,
    restarts: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(max: u32, period: Duration) -> Self {
        Intensity {
            max,
            period,
            restarts: VecDeque::new(),
        }
    }

    /// Count one restart now. `false` means the limit is exceeded: the supervisor must give up.
    pub(crate) fn add(&mut self, now: Instant) -> bool {
        self.restarts.push_back(now);
        self.trim(now);
        self.restarts.len() as u32 <= self.max
    }

    /// Restarts within the window ending now.
    pub(crate) fn in_window(&mut self, now: Instant) -> u32 {
        self.trim(now);
        self.restarts.len() as u32
    }

    fn trim(&mut self, now: Instant) {
        while let Some(first) = self.restarts.front() {
            if now.duration_since(*first) >= self.period {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn allows_max_restarts_per_period_then_refuses() {
        let mut i = Intensity::new(3, Duration::from_secs(5));
        let t0 = Instant::now();
        assert!(i.add(t0));
        assert!(i.add(t0 + Duration::from_secs(1)));
        assert!(i.add(t0 + Duration::from_secs(2)));
        assert!(
            !i.add(t0 + Duration::from_secs(3)),
            "the 4th within 5 s is one too many"
        );
        let mut j = Intensity::new(3, Duration::from_secs(5));
        for s in [0, 2, 4, 6, 8, 10] {
            assert!(
                j.add(t0 + Duration::from_secs(s)),
                "spread out restarts are fine"
            );
        }
        assert_eq!(j.in_window(t0 + Duration::from_secs(10)), 3);
        assert_eq!(j.in_window(t0 + Duration::from_secs(30)), 0);
    }
}
