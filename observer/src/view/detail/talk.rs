//! Who talks to a process without a trace (issue 19): its top senders and top receivers as the
//! runtime sampled them (about one message in 32), read with its messages by type.

use crate::state::State;
use crate::state::fetches::TypeReadings;
use crate::view::fmt;
use beamline_wire::{Pid, ProcessTable, Talker, TypeCounts};

/// Talkers shown per row, at most.
const SHOWN: usize = 3;

/// The Detail rows "senders" and "receivers" for `pid`, once its counters were read.
pub fn rows(state: &State, m: &ProcessTable, pid: Pid) -> Vec<(&'static str, String)> {
    let Some(c) = readings(state).map(|r| &r.now).filter(|c| c.pid == pid) else {
        return vec![];
    };
    vec![
        ("senders", line(m, c, &c.senders)),
        ("receivers", line(m, c, &c.receivers)),
    ]
}

fn readings(state: &State) -> Option<&TypeReadings> {
    match &state.fetches().detail.as_ref()?.types {
        crate::state::Fetch::Ready(r) => Some(r),
        _ => None,
    }
}

/// `ledger 1.2k/s 67% · outside 20/s 1% (sampled, 8.2s)`: name (or pid), estimated rate over
/// the window, share of what was noted.
pub fn line(m: &ProcessTable, c: &TypeCounts, talkers: &[Talker]) -> String {
    if talkers.is_empty() {
        return "none sampled".into();
    }
    let secs = (c.talk_window_ms as f64 / 1000.0).max(0.001);
    let every = f64::from(c.talk_every.max(1));
    let mut parts: Vec<String> = (talkers.iter().take(SHOWN))
        .map(|t| {
            format!(
                "{} {}/s {}",
                who(m, t.pid),
                fmt::si(t.sampled as f64 * every / secs),
                fmt::percent(f64::from(t.share))
            )
        })
        .collect();
    if talkers.len() > SHOWN {
        parts.push(format!("+{}", talkers.len() - SHOWN));
    }
    format!(
        "{} (sampled, {})",
        parts.join(" · "),
        fmt::duration_ms(c.talk_window_ms)
    )
}

/// A talker's name if it has one, else its pid; `outside` for senders that are no process.
fn who(m: &ProcessTable, pid: Option<Pid>) -> String {
    match pid {
        None => "outside".into(),
        Some(p) => m
            .get(p)
            .and_then(|s| s.name.clone())
            .unwrap_or_else(|| p.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(senders: Vec<Talker>) -> TypeCounts {
        TypeCounts {
            pid: Pid(9),
            at_ms: 0,
            types: vec![],
            senders,
            receivers: vec![],
            talk_window_ms: 8_000,
            talk_every: 32,
        }
    }

    fn talker(pid: Option<u64>, sampled: u64, share: f32) -> Talker {
        Talker {
            pid: pid.map(Pid),
            sampled,
            share,
        }
    }

    #[test]
    fn a_row_estimates_each_talkers_rate_from_the_sample() {
        let m = ProcessTable::default();
        let c = counts(vec![talker(Some(8), 250, 0.5), talker(None, 250, 0.5)]);
        assert_eq!(
            line(&m, &c, &c.senders),
            "<0.8.0> 1.0k/s 50% · outside 1.0k/s 50% (sampled, 8.0s)",
            "250 noted, one in 32, over 8 s"
        );
    }

    #[test]
    fn a_long_list_is_cut_and_an_empty_one_says_so() {
        let m = ProcessTable::default();
        let c = counts((1..=5).map(|p| talker(Some(p), 1, 0.2)).collect());
        assert!(line(&m, &c, &c.senders).contains(" · +2 (sampled"));
        assert_eq!(line(&m, &c, &[]), "none sampled");
    }
}
