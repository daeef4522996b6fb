//! How hard a mailbox is pressed: how full, how alarming and which way it is heading. The one
//! definition the views (bar, colour, `↑`) and the diagnosis (overflow, bottleneck) share, read
//! from the [`Thresholds`], so `--threshold` moves the bars and the alerts together.

use super::diagnosis::thresholds::Thresholds;
use super::history::History;
use beamline_wire::ProcessSample;

/// How alarming a figure is, which picks its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Nothing to see.
    Calm,
    /// An overflow alert already raised would still be held here.
    Warn,
    /// An overflow alert is raised here.
    Bad,
}

/// The mailbox length at which `overflow` is raised: `fill_ratio` of a bounded mailbox's
/// capacity, `mailbox_limit` for an unbounded one.
pub fn limit(p: &ProcessSample, th: &Thresholds) -> f64 {
    match p.mailbox_capacity {
        Some(c) => (c as f64 * th.fill_ratio).max(1.0),
        None => th.mailbox_limit as f64,
    }
}

/// How full a mailbox is, 0..=1 and beyond: against its capacity when bounded, else against
/// `mailbox_limit`.
pub fn fill(p: &ProcessSample, th: &Thresholds) -> f64 {
    let scale = p.mailbox_capacity.unwrap_or(th.mailbox_limit).max(1);
    p.mailbox_len as f64 / scale as f64
}

/// The mailbox's level: [`Level::Bad`] from the [`limit`], [`Level::Warn`] from `clear_ratio` of
/// it, where an alert is raised and held.
pub fn level(p: &ProcessSample, th: &Thresholds) -> Level {
    let (len, limit) = (p.mailbox_len as f64, limit(p, th));
    if len >= limit {
        Level::Bad
    } else if len >= limit * th.clear_ratio {
        Level::Warn
    } else {
        Level::Calm
    }
}

/// Which way a mailbox is heading, from its recent lengths.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Growth {
    /// Messages per sample while it rises steadily (see [`rising`], over `trend_samples` by at
    /// least `trend_min_growth`).
    pub rising: Option<f64>,
    /// Whether the latest length is at least the one before: a queue that is not draining.
    /// False with fewer than two samples.
    pub standing: bool,
}

impl Growth {
    /// The growth of `p`'s mailbox over its recorded history.
    pub fn of(p: &ProcessSample, history: &History, th: &Thresholds) -> Growth {
        Self::until(p, history, th, u64::MAX)
    }

    /// The growth of `p`'s mailbox over the history recorded up to `until_ms` (a paused
    /// display judges by its own sample, not by what came after).
    pub fn until(p: &ProcessSample, history: &History, th: &Thresholds, until_ms: u64) -> Growth {
        let Some(ring) = history.process(p.id) else {
            return Growth::default();
        };
        let window = th.trend_samples.max(2);
        let mut recent: Vec<u64> = (ring.iter().rev())
            .skip_while(|x| x.at_ms > until_ms)
            .take(window)
            .map(|x| x.mailbox_len)
            .collect();
        recent.reverse();
        let n = recent.len();
        Growth {
            rising: rising(&recent, window, th.trend_min_growth),
            standing: n >= 2 && recent[n - 1] >= recent[n - 2],
        }
    }
}

/// Whether `series` (oldest first) rises over its last `window` points: every step but at most
/// one goes up, and the net rise is at least `min_rise`. Returns the rise per step.
pub fn rising(series: &[u64], window: usize, min_rise: u64) -> Option<f64> {
    let window = window.max(2);
    if series.len() < window {
        return None;
    }
    let w = &series[series.len() - window..];
    let ups = w.windows(2).filter(|s| s[1] > s[0]).count();
    let net = w[window - 1].saturating_sub(w[0]);
    (ups + 1 >= window - 1 && w[window - 1] > w[0] && net >= min_rise)
        .then(|| net as f64 / (window - 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::{Pid, ProcessKind, ProcessTable, Snapshot, SystemSample};

    fn mailbox(len: u64, capacity: Option<u64>) -> ProcessSample {
        let mut p = ProcessSample::new(Pid(1), ProcessKind::Server, "T");
        p.mailbox_len = len;
        p.mailbox_capacity = capacity;
        p
    }

    #[test]
    fn rising_needs_a_sustained_trend_not_a_spike() {
        assert_eq!(rising(&[0, 40, 80, 120, 160], 5, 100), Some(40.0));
        assert!(
            rising(&[0, 40, 30, 120, 160], 5, 100).is_some(),
            "one dip is tolerated"
        );
        assert_eq!(
            rising(&[0, 0, 0, 0, 500], 5, 100),
            None,
            "a spike is not a trend"
        );
        assert_eq!(rising(&[100, 90, 80, 70, 60], 5, 10), None);
        assert_eq!(
            rising(&[1, 2, 3, 4, 5], 5, 100),
            None,
            "too small to matter"
        );
        assert_eq!(rising(&[0, 500], 5, 100), None, "not enough history");
    }

    #[test]
    fn fill_and_level_follow_the_thresholds() {
        let th = Thresholds::default();
        assert_eq!(fill(&mailbox(500, None), &th), 0.5);
        assert_eq!(fill(&mailbox(250, Some(500)), &th), 0.5);
        assert_eq!(level(&mailbox(499, None), &th), Level::Calm);
        assert_eq!(level(&mailbox(500, None), &th), Level::Warn);
        assert_eq!(level(&mailbox(1000, None), &th), Level::Bad);
        assert_eq!(level(&mailbox(400, Some(1000)), &th), Level::Warn);
        assert_eq!(level(&mailbox(800, Some(1000)), &th), Level::Bad);
        let mut tight = th.clone();
        tight.set("mailbox_limit=100").unwrap();
        assert_eq!(fill(&mailbox(50, None), &tight), 0.5);
        assert_eq!(level(&mailbox(100, None), &tight), Level::Bad);
    }

    #[test]
    fn growth_reads_the_trend_window_and_the_last_step() {
        let th = Thresholds::default();
        let mut h = History::default();
        let mut g = Growth::default();
        for (seq, len) in [0u64, 40, 80, 120, 160, 150].into_iter().enumerate() {
            let mut p = mailbox(len, None);
            p.id = Pid(1);
            h.record(&ProcessTable::from_snapshot(Snapshot {
                seq: seq as u64,
                at_ms: 0,
                interval_ms: 1000,
                system: SystemSample::default(),
                processes: vec![p.clone()],
            }));
            g = Growth::of(&p, &h, &th);
            if seq == 4 {
                assert_eq!(g.rising, Some(40.0));
                assert!(g.standing);
            }
        }
        assert_eq!(g.rising, Some(27.5), "one dip is tolerated");
        assert!(!g.standing, "the last step fell");
    }
}
