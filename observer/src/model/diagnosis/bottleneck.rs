//! `bottleneck`: busy most of the interval with a standing queue or callers blocked on it,
//! ranked by the waiting it causes. The stages starving behind it are idle, so they are not
//! named; a process in a deadlock is reported as that instead.

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;
use crate::model::pressure::Growth;
use beamline_wire::ProcessSample;

/// Held down to this fraction of the raise levels.
const HOLD: f64 = 0.8;

/// The candidate for `p`, if it is busy with work waiting.
pub fn detect(scene: &Scene, p: &ProcessSample, found: &mut Vec<Candidate>) {
    let (th, m) = (scene.th, scene.m);
    let callers = scene.waits.callers_of(p.id);
    let busy_hold = p.busy >= th.busy_ratio * HOLD;
    if !busy_hold
        || (p.mailbox_len < th.bottleneck_min_queue / 2 && callers.is_empty())
        || scene.waits.in_cycle.contains(&p.id)
    {
        return;
    }
    let standing = Growth::of(p, scene.history, th).standing;
    let queue = p.mailbox_len >= th.bottleneck_min_queue && standing;
    let raise = p.busy >= th.busy_ratio && (queue || callers.len() >= 2);
    let wait_s = if p.mean_wait_us > 0.0 {
        p.mean_wait_us / 1e6
    } else {
        m.interval_ms as f64 / 1000.0
    };
    let blocked: f64 = callers.iter().map(|(_, w)| *w as f64 / 1000.0).sum();
    let mut procs = vec![p.id];
    procs.extend(callers.iter().map(|(c, _)| *c).take(8));
    found.push(Candidate {
        key: p.id,
        kind: AlertKind::Bottleneck,
        severity: Severity::Critical,
        processes: procs,
        message: format!(
            "{} is busy {:.0}% with {} queued and {} callers blocked on it",
            p.label(),
            p.busy * 100.0,
            p.mailbox_len,
            callers.len()
        ),
        score: p.mailbox_len as f64 * wait_s + blocked,
        raise,
    });
}
