//! `long_wait`: blocked in one call longer than `long_wait_ms`; names whom it waits on. Waits
//! inside a deadlock are reported as the deadlock.

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;
use beamline_wire::{ProcessSample, Status};

/// The candidate for `p`, if it has waited too long.
pub fn detect(scene: &Scene, p: &ProcessSample, found: &mut Vec<Candidate>) {
    let Status::Waiting { on, since_ms } = p.status else {
        return;
    };
    let waited = scene.m.at_ms.saturating_sub(since_ms);
    if waited < scene.th.long_wait_ms || scene.waits.in_cycle.contains(&p.id) {
        return;
    }
    found.push(Candidate {
        key: p.id,
        kind: AlertKind::LongWait,
        severity: Severity::Warning,
        processes: vec![p.id, on],
        message: format!(
            "{} has waited {:.1}s in a call to {}",
            p.label(),
            waited as f64 / 1000.0,
            scene.name(on)
        ),
        score: waited as f64,
        raise: true,
    });
}
