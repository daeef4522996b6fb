//! `long_wait`: blocked on another process (a call, a task, a stop) longer than `long_wait_ms`;
//! names whom it waits on. Waits inside a deadlock are reported as the deadlock, and waits whose
//! chain ends at a bottleneck are folded into its alert (see [`super::bottleneck::fold`]).

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;
use crate::model::history::SeriesKey;
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
    let mut msg = format!(
        "{} has waited {:.1}s on {}",
        p.label(),
        waited as f64 / 1000.0,
        scene.name(on)
    );
    if let Some(end) = scene.waits.end.get(&p.id).filter(|e| **e != on) {
        msg.push_str(&format!(", which waits on {}", scene.name(*end)));
    }
    found.push(Candidate {
        key: SeriesKey::of(p),
        kind: AlertKind::LongWait,
        severity: Severity::Warning,
        processes: vec![p.id, on],
        message: msg,
        score: waited as f64,
        raise: true,
        since_ms: Some(since_ms),
        ..Candidate::default()
    });
}
