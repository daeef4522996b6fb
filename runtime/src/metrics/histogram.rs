//! A histogram fed with weighted observations: "n messages took about this long".
//!
//! The samples carry, per process and interval, the mean handle time and the mean (sampled)
//! mailbox wait, not each message's. So a process that handled `n` messages in an interval at a
//! mean of `m` adds `n` observations of `m`: the count and the sum are exact, the spread between
//! buckets is that of the per-process means (see `docs/METRICS.md`). prometheus-client's own
//! histogram takes one observation at a time, hence this type.

/// Upper bounds of the histograms' buckets, in seconds: 10 µs to 5 s, 1 and 5 per decade.
pub const BUCKETS: [f64; 12] = [
    1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0, 5.0,
];

/// Counts per bucket (not cumulative), the sum and the count.
#[derive(Clone, Debug, Default)]
pub(crate) struct Weighted {
    /// One per [`BUCKETS`] entry, then `+Inf`.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Weighted {
    /// Add `n` observations of `seconds`.
    pub(crate) fn observe_n(&mut self, seconds: f64, n: u64) {
        if n == 0 || !seconds.is_finite() || seconds < 0.0 {
            return;
        }
        let i = BUCKETS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(BUCKETS.len());
        self.counts[i] += n;
        self.sum += seconds * n as f64;
        self.count += n;
    }

    /// Observations so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the observations, seconds.
    pub(crate) fn sum(&self) -> f64 {
        self.sum
    }

    /// The buckets as prometheus-client's encoder wants them: `(upper bound, count in this
    /// bucket alone)`, ending with `+Inf`; the encoder makes them cumulative.
    pub(crate) fn buckets(&self) -> Vec<(f64, u64)> {
        BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(self.counts)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_observations_land_in_their_bucket_and_add_up() {
        let mut h = Weighted::default();
        h.observe_n(0.002, 10); // <= 5e-3
        h.observe_n(7.0, 1); // +Inf
        h.observe_n(1e-5, 2); // exactly on the first bound
        h.observe_n(f64::NAN, 5);
        h.observe_n(0.1, 0);
        assert_eq!(h.count(), 13);
        assert!((h.sum() - (0.02 + 7.0 + 2e-5)).abs() < 1e-12);
        let c = h.buckets();
        assert_eq!(c.len(), BUCKETS.len() + 1);
        assert_eq!(c[0], (1e-5, 2));
        assert_eq!(c[4], (1e-3, 0));
        assert_eq!(c[5], (5e-3, 10));
        assert_eq!(c[11], (5.0, 0));
        assert_eq!(c[12].1, 1);
        assert!(c[12].0.is_infinite());
    }
}
