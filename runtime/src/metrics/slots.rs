//! Restarts by supervisor/child slot and escalations by supervisor.
//!
//! A slot's restart count lives in the slot, not the process (it survives the process being
//! replaced), and a restart shows up as a *new* process whose slot count is higher. So the last
//! count seen is kept per slot instance (supervisor pid, child label) and the counter grows by
//! the difference. An escalation is a supervisor seen with more restarts in its window than its
//! intensity allows: only a supervisor that gives up gets there (OTP's
//! `reached_max_restart_intensity`).

use super::labels::{Interned, Labels, OTHER};
use beamline_wire::{Pid, ProcessKind, ProcessSample};
use std::collections::HashMap;

/// A supervisor's label value when it has no name and no child id: its behaviour. Unknown
/// parents (not seen yet) are this.
const UNKNOWN: &str = "_unknown";

/// The slots' counters.
#[derive(Debug)]
pub(crate) struct Slots {
    /// `(supervisor, child)` label pairs.
    pub labels: Labels<(String, String)>,
    /// Restarts per label pair.
    pub restarts: Vec<u64>,
    /// The last restart count seen per slot instance: (supervisor pid, label pair).
    last: HashMap<(Pid, u32), u32>,
    /// The label of each live supervisor, by pid.
    supervisors: HashMap<Pid, String>,
    /// Supervisor label values (every supervisor seen), capped like the slots.
    pub escalation_labels: Labels<String>,
    /// Escalations per supervisor label.
    pub escalations: Vec<u64>,
}

impl Slots {
    pub(crate) fn new(cap: usize) -> Self {
        Slots {
            labels: Labels::new(cap),
            restarts: Vec::new(),
            last: HashMap::new(),
            supervisors: HashMap::new(),
            escalation_labels: Labels::new(cap),
            escalations: Vec::new(),
        }
    }

    /// A process seen for the first time: remember it if it is a supervisor, and intern its
    /// slot if it has one. Returns the slot's label index, and whether a label (slot or
    /// supervisor) was past its cap.
    pub(crate) fn first_seen(&mut self, s: &ProcessSample) -> (Option<Interned>, bool) {
        let mut capped = false;
        if s.kind == ProcessKind::Supervisor {
            let label = s
                .name
                .clone()
                .or_else(|| s.child_id.clone())
                .unwrap_or_else(|| s.behaviour.clone());
            // Its escalation counter exists from the start, at 0, like a slot's restarts.
            capped = self.intern_escalation(&label).capped;
            self.supervisors.insert(s.id, label);
        }
        let Some(child) = s.child_id.as_ref() else {
            return (None, capped);
        };
        let sup = s
            .parent
            .and_then(|p| self.supervisors.get(&p))
            .map_or(UNKNOWN, String::as_str);
        let key = (sup.to_string(), child.clone());
        let got = self
            .labels
            .intern(&key, || (OTHER.to_string(), OTHER.to_string()));
        if self.restarts.len() < self.labels.len() {
            self.restarts.resize(self.labels.len(), 0);
        }
        (Some(got), capped || got.capped)
    }

    /// The slot `slot` of `s` reports `s.restarts`: count what is new.
    pub(crate) fn restarts_seen(&mut self, s: &ProcessSample, slot: u32) {
        let key = (s.parent.unwrap_or(Pid(0)), slot);
        let last = self.last.entry(key).or_insert(0);
        if s.restarts > *last {
            self.restarts[slot as usize] += u64::from(s.restarts - *last);
            *last = s.restarts;
        }
    }

    /// Whether `s` is a supervisor that has given up (its window holds more restarts than it
    /// allows).
    pub(crate) fn gave_up(s: &ProcessSample) -> bool {
        s.supervisor
            .as_ref()
            .is_some_and(|i| i.restarts_in_window > i.max_restarts)
    }

    /// The index of a supervisor label's escalation counter.
    fn intern_escalation(&mut self, label: &String) -> Interned {
        let got = self.escalation_labels.intern(label, || OTHER.to_string());
        if self.escalations.len() < self.escalation_labels.len() {
            self.escalations.resize(self.escalation_labels.len(), 0);
        }
        got
    }

    /// Count an escalation of supervisor `pid`.
    pub(crate) fn escalated(&mut self, pid: Pid) {
        let label = self
            .supervisors
            .get(&pid)
            .cloned()
            .unwrap_or_else(|| UNKNOWN.to_string());
        let got = self.intern_escalation(&label);
        self.escalations[got.idx as usize] += 1;
    }

    /// Process `pid` is gone: forget it as a supervisor, with the slot counts of its children.
    pub(crate) fn gone(&mut self, pid: Pid) {
        if self.supervisors.remove(&pid).is_some() {
            self.last.retain(|(sup, _), _| *sup != pid);
        }
    }
}
