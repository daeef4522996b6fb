//! `deadlock`: a cycle of processes blocked in calls to each other, as soon as it forms.

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;

/// One candidate per cycle in the wait-for graph, keyed by its lowest pid.
pub fn detect(scene: &Scene, found: &mut Vec<Candidate>) {
    for cyc in &scene.waits.cycles {
        let names: Vec<String> = cyc.iter().map(|p| scene.name(*p)).collect();
        found.push(Candidate {
            key: cyc[0],
            kind: AlertKind::Deadlock,
            severity: Severity::Critical,
            processes: cyc.clone(),
            message: format!(
                "{} → {} are blocked calling each other",
                names.join(" → "),
                names[0]
            ),
            score: cyc.len() as f64,
            raise: true,
        });
    }
}
