//! `state_growth`: state size rising on every step of `growth_samples` samples, by enough bytes
//! and enough of where it started; held while it still grows. The series is the child slot's
//! (see [`crate::model::history`]): a step across a restart neither counts nor breaks the rise,
//! so a worker that leaks and crashes every few seconds is still a leak.

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;
use crate::model::history::SeriesKey;
use beamline_wire::ProcessSample;

/// The candidate for `p`, if its state keeps growing.
pub fn detect(scene: &Scene, p: &ProcessSample, found: &mut Vec<Candidate>) {
    let th = scene.th;
    if p.state_bytes < th.growth_min_bytes {
        return;
    }
    let Some(h) = scene.history.process(p.id) else {
        return;
    };
    let w = th.growth_samples.max(2);
    // Steps newest first, restarts skipped, until w - 1 steps or one that does not rise.
    let (mut rises, mut net, mut restarts, mut start) = (0, 0u64, 0, p.state_bytes);
    let mut last_rose = None;
    let pts: Vec<_> = h.iter().rev().take(w * 2).collect();
    for pair in pts.windows(2) {
        let (new, old) = (pair[0], pair[1]);
        if new.restarts != old.restarts {
            restarts += 1;
            continue;
        }
        let rose = new.state_bytes > old.state_bytes;
        last_rose.get_or_insert(rose);
        if !rose {
            break;
        }
        rises += 1;
        net += new.state_bytes - old.state_bytes;
        start = old.state_bytes;
        if rises + 1 >= w {
            break;
        }
    }
    let every = rises + 1 >= w;
    let big = net >= th.growth_min_bytes && net as f64 >= start as f64 * th.growth_min_ratio;
    if !((every && big) || last_rose == Some(true)) {
        return;
    }
    let mut message = format!(
        "{}: state grew by {} to {} over {} samples",
        p.label(),
        crate::vocab::bytes(net),
        crate::vocab::bytes(p.state_bytes),
        rises + 1
    );
    if restarts > 0 {
        message.push_str(&format!(" across {restarts} restarts"));
    }
    found.push(Candidate {
        key: SeriesKey::of(p),
        kind: AlertKind::StateGrowth,
        severity: Severity::Warning,
        processes: vec![p.id],
        message,
        score: net as f64,
        raise: every && big,
        since_ms: rise_start(h),
        ..Candidate::default()
    });
}

/// The time of the last sample before the state's current rise (steps across restarts
/// skipped, as the detector does): the leak began after it, within one interval.
fn rise_start(h: &crate::model::history::Ring<crate::model::history::Point>) -> Option<u64> {
    let mut start = None;
    let pts: Vec<_> = h.iter().rev().collect();
    for pair in pts.windows(2) {
        let (new, old) = (pair[0], pair[1]);
        if new.restarts != old.restarts {
            continue;
        }
        if new.state_bytes <= old.state_bytes {
            break;
        }
        start = Some(old.at_ms);
    }
    start
}
