//! `deadlock`: a cycle of processes blocked on each other (calls, awaited tasks, stops), as soon
//! as it forms.

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;
use crate::model::history::SeriesKey;
use beamline_wire::Status;

/// One candidate per cycle in the wait-for graph, keyed by its lowest pid.
pub fn detect(scene: &Scene, found: &mut Vec<Candidate>) {
    for cyc in &scene.waits.cycles {
        let names: Vec<String> = cyc.iter().map(|p| scene.name(*p)).collect();
        found.push(Candidate {
            key: SeriesKey::Process(cyc[0]),
            kind: AlertKind::Deadlock,
            severity: Severity::Critical,
            processes: cyc.clone(),
            message: format!(
                "{} → {} are blocked waiting on each other",
                names.join(" → "),
                names[0]
            ),
            score: cyc.len() as f64,
            raise: true,
            // The cycle closed with the latest of its waits.
            since_ms: cyc
                .iter()
                .filter_map(|p| match scene.m.get(*p).map(|p| &p.status) {
                    Some(Status::Waiting { since_ms, .. }) => Some(*since_ms),
                    _ => None,
                })
                .max(),
            ..Candidate::default()
        });
    }
}
