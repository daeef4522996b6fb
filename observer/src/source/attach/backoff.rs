//! Reconnect delays: quick at first so a restarting runtime is picked up fast, capped so a dead
//! target does not get hammered.

use std::time::Duration;

/// Capped exponential backoff between connection attempts.
#[derive(Clone, Debug)]
pub struct Backoff {
    next_ms: u64,
}

impl Backoff {
    const FIRST_MS: u64 = 250;
    const MAX_MS: u64 = 5_000;

    /// A fresh backoff starting at the shortest delay.
    pub fn new() -> Self {
        Backoff {
            next_ms: Self::FIRST_MS,
        }
    }

    /// The delay before the next attempt; each call doubles the following one up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next_ms;
        self.next_ms = (self.next_ms * 2).min(Self::MAX_MS);
        Duration::from_millis(d)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let mut b = Backoff::new();
        let ms: Vec<u128> = (0..7).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 4000, 5000, 5000]);
    }
}
