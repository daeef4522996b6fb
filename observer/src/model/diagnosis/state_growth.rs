//! `state_growth`: state size rising on every step of `growth_samples` samples, by enough bytes
//! and enough of where it started; held while it still grows.

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;
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
    if h.len() < w {
        return;
    }
    let win: Vec<u64> = h.iter().skip(h.len() - w).map(|x| x.state_bytes).collect();
    let every = win.windows(2).all(|x| x[1] > x[0]);
    let net = win[w - 1].saturating_sub(win[0]);
    let big = net >= th.growth_min_bytes && net as f64 >= win[0] as f64 * th.growth_min_ratio;
    let hold = win[w - 1] > win[w - 2] || win[w - 1] > win[0];
    if !((every && big) || hold) {
        return;
    }
    found.push(Candidate {
        key: p.id,
        kind: AlertKind::StateGrowth,
        severity: Severity::Warning,
        processes: vec![p.id],
        message: format!(
            "{}: state grew from {} to {} over {} samples",
            p.label(),
            crate::vocab::bytes(win[0]),
            crate::vocab::bytes(win[w - 1]),
            w
        ),
        score: net as f64,
        raise: every && big,
    });
}
