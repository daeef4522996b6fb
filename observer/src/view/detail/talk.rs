//! Who talks to a process without a trace (issue 19): its top senders and top receivers as the
//! runtime sampled them (about one message in 32), read with its messages by type.

use crate::state::State;
use crate::state::fetches::TypeReadings;
use crate::view::fmt;
use beamline_wire::{Pid, ProcessTable, Talker, TypeCounts};

/// Talkers shown per row, at most.
const SHOWN: usize = 3;

/// The Detail rows "senders" and "receivers" for `pid`, once its counters were read, each
/// fitted to `width` characters (see [`line()`]).
pub fn rows(
    state: &State,
    m: &ProcessTable,
    pid: Pid,
    width: usize,
) -> Vec<(&'static str, String)> {
    let Some(c) = readings(state).map(|r| &r.now).filter(|c| c.pid == pid) else {
        return vec![];
    };
    vec![
        ("senders", line(m, c, &c.senders, width)),
        ("receivers", line(m, c, &c.receivers, width)),
    ]
}

fn readings(state: &State) -> Option<&TypeReadings> {
    match &state.fetches().detail.as_ref()?.types {
        crate::state::Fetch::Ready(r) => Some(r),
        _ => None,
    }
}

/// `ledger 1.2k/s 67% · outside 20/s 1% (sampled, 8.2s)`: name (or pid), estimated rate over
/// the window, share of what was noted; in at most `width` characters, never cut mid-word.
/// Where it does not fit (80 columns leave 33), it sheds, in this order: the window
/// (`(sampled)`), talkers (`· +N` says how many more), the rates (`ledger 67%`), the note, and
/// last the start of a single name (`…ger 67%`).
pub fn line(m: &ProcessTable, c: &TypeCounts, talkers: &[Talker], width: usize) -> String {
    if talkers.is_empty() {
        return "none sampled".into();
    }
    let window = format!(" (sampled, {})", fmt::duration_ms(c.talk_window_ms));
    let entry = |t: &Talker, rate: bool| {
        let share = fmt::percent(f64::from(t.share));
        if rate {
            let per_s = fmt::si(c.per_s(t));
            format!("{} {per_s}/s {share}", who(m, t.pid))
        } else {
            format!("{} {share}", who(m, t.pid))
        }
    };
    let build = |k: usize, rate: bool, note: &str| {
        let parts: Vec<String> = talkers.iter().take(k).map(|t| entry(t, rate)).collect();
        let mut s = parts.join(" · ");
        if talkers.len() > k {
            s.push_str(&format!(" · +{}", talkers.len() - k));
        }
        s.push_str(note);
        s
    };
    let fits = |s: &String| s.chars().count() <= width;
    let most = talkers.len().min(SHOWN);
    let tries = [
        (true, window.as_str()),
        (true, " (sampled)"),
        (false, " (sampled)"),
        (false, ""),
    ];
    // Rates and the note (they say what the figures are) before talkers: `a 5/s 50% · +2
    // (sampled)` rather than `a 50% · b 30% · c 20%`; then talkers before the note.
    for (i, &(rate, note)) in tries.iter().enumerate() {
        for k in (1..=most).rev() {
            // The window only with every talker shown: else `(sampled)` and one more talker.
            if i == 0 && k < most {
                break;
            }
            let s = build(k, rate, note);
            if fits(&s) {
                return s;
            }
        }
    }
    // One talker, its name cut at the start: the end tells `clerk-3` from `clerk-13`.
    let tail = build(1, false, "");
    let name = who(m, talkers[0].pid);
    let rest = tail.chars().count() - name.chars().count();
    let room = width.saturating_sub(rest).max(2);
    format!("{}{}", fmt::clip_start(&name, room), &tail[name.len()..])
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
            line(&m, &c, &c.senders, 80),
            "<0.8.0> 1.0k/s 50% · outside 1.0k/s 50% (sampled, 8.0s)",
            "250 noted, one in 32, over 8 s"
        );
    }

    #[test]
    fn a_long_list_is_cut_and_an_empty_one_says_so() {
        let m = ProcessTable::default();
        let c = counts((1..=5).map(|p| talker(Some(p), 1, 0.2)).collect());
        assert!(line(&m, &c, &c.senders, 80).contains(" · +2 (sampled"));
        assert_eq!(line(&m, &c, &[], 80), "none sampled");
    }

    /// A row narrower than its talkers sheds the window, then talkers, the rates and the note,
    /// and cuts a name at its start only when one alone does not fit: never mid-word
    /// at the end (80 columns cut `(sampled, 8.0s)` to `(sam`).
    #[test]
    fn a_narrow_row_sheds_detail_but_never_cuts_a_word() {
        let mut m = ProcessTable::default();
        let mut named = |pid: u64, name: &str| {
            let mut p = beamline_wire::ProcessSample::new(
                Pid(pid),
                beamline_wire::ProcessKind::Server,
                "S",
            );
            p.name = Some(name.into());
            m.processes.push(std::sync::Arc::new(p));
        };
        named(8, "stage_2");
        named(21, "bottleneck/clerk-13");
        let c = counts(vec![talker(Some(8), 250, 0.8), talker(None, 50, 0.2)]);
        let at = |w| line(&m, &c, &c.senders, w);
        assert_eq!(
            at(60),
            "stage_2 1.0k/s 80% · outside 200/s 20% (sampled, 8.0s)"
        );
        assert_eq!(at(50), "stage_2 1.0k/s 80% · outside 200/s 20% (sampled)");
        assert_eq!(at(40), "stage_2 1.0k/s 80% · +1 (sampled)");
        assert_eq!(at(30), "stage_2 80% · +1 (sampled)");
        assert_eq!(at(24), "stage_2 80% · +1");
        let c = counts(vec![talker(Some(21), 250, 1.0)]);
        assert_eq!(line(&m, &c, &c.senders, 12), "…erk-13 100%");
        for w in 12..70 {
            assert!(at(w).chars().count() <= w, "{w}: {}", at(w));
        }
    }
}
