//! `restart_storm`: a child slot restarting `restart_storm` times within `restart_window_ms`, or
//! a supervisor at its own restart limit (one more crash escalates).

use super::alert::{AlertKind, Severity};
use super::hysteresis::Candidate;
use super::scene::Scene;
use beamline_wire::{Pid, ProcessSample};
use std::collections::{HashMap, HashSet, VecDeque};

/// A child slot: restarted processes get new pids but keep their supervisor and child id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Slot {
    Child(Pid, u64),
    Process(Pid),
}

fn hash(s: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(s)
}

/// Recent restart counts per child slot: (sample time, restarts so far), oldest first.
#[derive(Clone, Debug, Default)]
pub struct Storms {
    slots: HashMap<Slot, VecDeque<(u64, u32)>>,
}

impl Storms {
    /// Forget every slot.
    pub fn reset(&mut self) {
        self.slots.clear();
    }

    /// Candidates for supervisors at their limit and for slots restarting within the window;
    /// slots no longer reported are forgotten.
    pub fn detect(&mut self, scene: &Scene, found: &mut Vec<Candidate>) {
        for p in &scene.m.processes {
            at_limit(p, found);
        }
        let mut live = HashSet::new();
        // Supervised children are tracked from their first sample, so the first restart counts;
        // anything else only once it has restarted.
        for p in scene
            .m
            .processes
            .iter()
            .filter(|p| p.restarts > 0 || p.child_id.is_some())
        {
            let slot = match (&p.parent, &p.child_id) {
                (Some(parent), Some(c)) => Slot::Child(*parent, hash(c)),
                _ => Slot::Process(p.id),
            };
            live.insert(slot.clone());
            let recent = self.restarts_in_window(slot, p.restarts, scene);
            if recent > 0 {
                found.push(storm(scene, p, recent));
            }
        }
        self.slots.retain(|k, _| live.contains(k));
    }

    /// Note the slot's count at this sample; how many restarts fall within the window.
    fn restarts_in_window(&mut self, slot: Slot, restarts: u32, scene: &Scene) -> u32 {
        let (now, window) = (scene.m.at_ms, scene.th.restart_window_ms);
        let ring = self.slots.entry(slot).or_default();
        if ring.back().is_none_or(|(at, _)| *at != now) {
            ring.push_back((now, restarts));
        } else if let Some(last) = ring.back_mut() {
            last.1 = last.1.max(restarts);
        }
        while ring.front().is_some_and(|(at, _)| at + window < now) {
            ring.pop_front();
        }
        let first = ring.front().map_or(restarts, |(_, r)| *r);
        restarts.saturating_sub(first)
    }
}

/// A supervisor at its restart limit.
fn at_limit(p: &ProcessSample, found: &mut Vec<Candidate>) {
    let Some(s) = &p.supervisor else { return };
    if s.max_restarts == 0 || s.restarts_in_window < s.max_restarts {
        return;
    }
    found.push(Candidate {
        key: p.id,
        kind: AlertKind::RestartStorm,
        severity: Severity::Critical,
        processes: vec![p.id],
        message: format!(
            "{} is at its restart limit ({}/{} in {}s): one more crash escalates",
            p.label(),
            s.restarts_in_window,
            s.max_restarts,
            s.period_ms / 1000
        ),
        score: s.restarts_in_window as f64,
        raise: true,
    });
}

/// `p`'s slot restarted `recent` times within the window. Keyed by the supervisor: the crashing
/// child gets a new pid on every restart.
fn storm(scene: &Scene, p: &ProcessSample, recent: u32) -> Candidate {
    Candidate {
        key: p.parent.unwrap_or(p.id),
        kind: AlertKind::RestartStorm,
        severity: Severity::Critical,
        processes: std::iter::once(p.id).chain(p.parent).collect(),
        message: format!(
            "{} restarted {} times in the last {}s ({} in all)",
            p.child_id.clone().unwrap_or_else(|| p.label()),
            recent,
            scene.th.restart_window_ms / 1000,
            p.restarts
        ),
        score: recent as f64,
        raise: recent >= scene.th.restart_storm,
    }
}
