//! Load that comes and goes: a wave over time, and a small random source.
//!
//! The demo must look alive without anyone touching it, and calm phases must alternate with
//! busy ones so that a reader learns what normal looks like before a fault shows. A slow sine
//! with a faster ripple on top gives that, and it is deterministic, so tests see the same load.

use std::time::Duration;
use tokio::time::Instant;

/// How busy the system should be at a given moment, between about 0.1 and 1.0.
#[derive(Clone, Copy, Debug)]
pub struct Wave {
    start: Instant,
    period: Duration,
}

impl Wave {
    /// A wave starting now, one full swell every `period`.
    pub fn new(period: Duration) -> Self {
        Wave {
            start: Instant::now(),
            period,
        }
    }

    /// The level now.
    pub fn level(&self) -> f64 {
        self.level_at(self.start.elapsed())
    }

    /// The level `t` after the start: a slow swell plus a faster ripple, never quite idle.
    pub fn level_at(&self, t: Duration) -> f64 {
        let x = t.as_secs_f64() / self.period.as_secs_f64().max(1.0);
        let swell = 0.5 - 0.5 * (std::f64::consts::TAU * x).cos();
        let ripple = 0.5 + 0.5 * (std::f64::consts::TAU * x * 5.0).sin();
        (0.1 + 0.75 * swell + 0.15 * ripple).clamp(0.05, 1.0)
    }

    /// How many operations to do in a tick, for a peak of `peak` per tick: the fractional
    /// part is drawn at random so that low levels still produce some traffic.
    pub fn ops(&self, peak: f64, rng: &mut Rng) -> u32 {
        let want = peak * self.level();
        let whole = want.floor();
        let extra = if rng.chance(want - whole) { 1 } else { 0 };
        whole as u32 + extra
    }
}

impl Default for Wave {
    /// A 90-second swell: long enough to read the screen, short enough to see it change.
    fn default() -> Self {
        Wave::new(Duration::from_secs(90))
    }
}

/// A xorshift random source. Not for anything but picking accounts and latencies; seeded so
/// that runs (and tests) are repeatable.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A source from a seed (0 is replaced, as xorshift cannot leave it).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wave_stays_in_range_and_swells() {
        let w = Wave::new(Duration::from_secs(60));
        let levels: Vec<f64> = (0..120)
            .map(|s| w.level_at(Duration::from_secs(s)))
            .collect();
        assert!(levels.iter().all(|l| (0.05..=1.0).contains(l)));
        let min = levels.iter().cloned().fold(1.0, f64::min);
        let max = levels.iter().cloned().fold(0.0, f64::max);
        assert!(min < 0.3 && max > 0.8, "min {min} max {max}");
    }

    #[test]
    fn rng_is_repeatable_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            let x = a.between(3, 9);
            assert_eq!(x, b.between(3, 9));
            assert!((3..=9).contains(&x));
        }
    }
}
