//! Refused self-calls, followed per process over the last minute. A process that calls itself
//! waits for its own reply: in OTP the call blocks until its timeout; Beamline refuses it at once
//! (`CallError::CallingSelf`), so nothing hangs and nothing else on screen shows the bug. The
//! samples count the refusals; this keeps the recent ones for the header banner.

use beamline_wire::Pid;
use std::collections::{HashMap, VecDeque};

/// Refusals count for the banner while they are at most this old.
pub const WINDOW_MS: u64 = 60_000;
/// Moments kept per process (one per sample that saw refusals), oldest forgotten first.
const MAX_MOMENTS: usize = 1024;

/// A process whose calls to itself were refused recently.
#[derive(Clone, Debug, PartialEq)]
pub struct SelfCalls {
    /// The process.
    pub pid: Pid,
    /// Its name (or pid).
    pub who: String,
    /// Refusals within [`WINDOW_MS`].
    pub refused: u64,
}

/// One process's recent refusals: (sample time, refusals new in that sample).
#[derive(Clone, Debug)]
struct Recent {
    who: String,
    moments: VecDeque<(u64, u64)>,
}

/// The recent refusals of every process that had some.
#[derive(Clone, Debug, Default)]
pub(super) struct Refusals {
    by_pid: HashMap<Pid, Recent>,
}

impl Refusals {
    /// Note `n` new refusals by `pid` in the sample taken at `at_ms`.
    pub(super) fn note(&mut self, at_ms: u64, pid: Pid, who: String, n: u64) {
        let recent = self.by_pid.entry(pid).or_insert_with(|| Recent {
            who: String::new(),
            moments: VecDeque::new(),
        });
        recent.who = who;
        recent.moments.push_back((at_ms, n));
        if recent.moments.len() > MAX_MOMENTS {
            recent.moments.pop_front();
        }
    }

    /// Forget refusals older than [`WINDOW_MS`] before `now_ms`, and processes left with none.
    pub(super) fn forget_before(&mut self, now_ms: u64) {
        self.by_pid.retain(|_, r| {
            while r
                .moments
                .front()
                .is_some_and(|(t, _)| now_ms.saturating_sub(*t) > WINDOW_MS)
            {
                r.moments.pop_front();
            }
            !r.moments.is_empty()
        });
    }

    /// Processes with refusals within [`WINDOW_MS`] up to `now_ms`, most refusals first.
    pub(super) fn within(&self, now_ms: u64) -> Vec<SelfCalls> {
        let mut out: Vec<SelfCalls> = (self.by_pid.iter())
            .filter_map(|(pid, r)| {
                let refused: u64 = (r.moments.iter())
                    .filter(|(t, _)| *t <= now_ms && now_ms - *t <= WINDOW_MS)
                    .map(|(_, n)| n)
                    .sum();
                (refused > 0).then(|| SelfCalls {
                    pid: *pid,
                    who: r.who.clone(),
                    refused,
                })
            })
            .collect();
        out.sort_by(|a, b| b.refused.cmp(&a.refused).then(a.pid.cmp(&b.pid)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_count_within_the_window_and_old_ones_are_forgotten() {
        let mut r = Refusals::default();
        r.note(1_000, Pid(4), "a".into(), 2);
        r.note(2_000, Pid(4), "a".into(), 1);
        r.note(2_000, Pid(5), "b".into(), 5);
        let at = |r: &Refusals, now| -> Vec<(Pid, u64)> {
            r.within(now).iter().map(|s| (s.pid, s.refused)).collect()
        };
        assert_eq!(at(&r, 2_000), [(Pid(5), 5), (Pid(4), 3)]);
        assert_eq!(
            at(&r, 1_500),
            [(Pid(4), 2)],
            "a paused view sees its moment"
        );
        assert_eq!(at(&r, 1_000 + WINDOW_MS + 1), [(Pid(5), 5), (Pid(4), 1)]);
        r.forget_before(2_000 + WINDOW_MS + 1);
        assert!(r.by_pid.is_empty());
    }
}
