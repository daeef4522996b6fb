//! One process at one past tick, as the flight recorder keeps it: the few fields diagnosis
//! reads (mailbox depth, drops, busy, state size, status, restarts), with what does not change
//! between ticks (name, parent, child id, behaviour) shared by every point of the process.

use beamline_wire::{Pid, ProcessKind, ProcessSample, Status, SupervisorInfo};
use std::collections::HashMap;
use std::sync::Arc;

/// What a process's points share: fixed at spawn, or changing only when it restarts.
#[derive(Debug, PartialEq)]
pub(crate) struct Meta {
    pub(crate) id: Pid,
    name: Option<String>,
    parent: Option<Pid>,
    child_id: Option<String>,
    kind: ProcessKind,
    behaviour: String,
    spawned_ms: u64,
    capacity: Option<u64>,
    /// The slot's exit reasons when the process was first recorded (a restart makes a new pid,
    /// hence a new `Meta`).
    exit_history: Vec<String>,
}

impl Meta {
    fn of(p: &ProcessSample) -> Meta {
        Meta {
            id: p.id,
            name: p.name.clone(),
            parent: p.parent,
            child_id: p.child_id.clone(),
            kind: p.kind,
            behaviour: p.behaviour.clone(),
            spawned_ms: p.spawned_ms,
            capacity: p.mailbox_capacity,
            exit_history: p.exit_history.clone(),
        }
    }

    /// Whether `p` still says what this meta says (a name can be registered later).
    fn matches(&self, p: &ProcessSample) -> bool {
        self.name == p.name && self.exit_history.len() == p.exit_history.len()
    }
}

/// The metas of the processes the recorder holds points of, so that a process recorded at
/// every tick stores its strings once.
#[derive(Debug, Default)]
pub(crate) struct Metas {
    by_pid: HashMap<u64, Arc<Meta>>,
}

impl Metas {
    /// The shared meta for `p`, made on first sight or when it changed.
    pub(crate) fn of(&mut self, p: &ProcessSample) -> Arc<Meta> {
        let e = self
            .by_pid
            .entry(p.id.0)
            .or_insert_with(|| Arc::new(Meta::of(p)));
        if !e.matches(p) {
            *e = Arc::new(Meta::of(p));
        }
        e.clone()
    }

    /// Forget metas no point uses any more.
    pub(crate) fn prune(&mut self) {
        self.by_pid.retain(|_, m| Arc::strong_count(m) > 1);
    }

    /// Metas held.
    pub(crate) fn len(&self) -> usize {
        self.by_pid.len()
    }
}

/// How much a sample matters when a tick holds more changes than it may keep: exiting, losing
/// messages, restarting and deep mailboxes first.
pub(crate) fn weight(p: &ProcessSample) -> u64 {
    let exited = matches!(p.status, Status::Exited { .. }) as u64;
    (exited << 62)
        .saturating_add((p.dropped.min(1 << 20)) << 40)
        .saturating_add(u64::from(p.restarts.min(1 << 10)) << 30)
        .saturating_add(p.mailbox_len.min(1 << 29))
        .saturating_add(p.state_bytes >> 20)
}

/// One process at one tick, reduced to what diagnosis and the charts read.
#[derive(Clone, Debug)]
pub(crate) struct Point {
    pub(crate) meta: Arc<Meta>,
    status: Status,
    mailbox_len: u64,
    mailbox_peak: u64,
    dropped: u64,
    state_bytes: u64,
    received: u64,
    handled: u64,
    in_per_s: f32,
    out_per_s: f32,
    busy: f32,
    restarts: u32,
    state_deep: bool,
    /// Supervisors only: their restart window (boxed: rare).
    supervisor: Option<Box<SupervisorInfo>>,
}

impl Point {
    /// The point of sample `p`.
    pub(crate) fn of(p: &ProcessSample, metas: &mut Metas) -> Point {
        Point {
            meta: metas.of(p),
            status: p.status.clone(),
            mailbox_len: p.mailbox_len,
            mailbox_peak: p.mailbox_peak,
            dropped: p.dropped,
            state_bytes: p.state_bytes,
            received: p.received,
            handled: p.handled,
            in_per_s: p.in_per_s as f32,
            out_per_s: p.out_per_s as f32,
            busy: p.busy as f32,
            restarts: p.restarts,
            state_deep: p.state_deep,
            supervisor: p.supervisor.clone().map(Box::new),
        }
    }

    /// The wire sample this point stands for (rates it does not keep are zero, lists empty).
    pub(crate) fn sample(&self) -> ProcessSample {
        let m = &self.meta;
        let mut s = ProcessSample::new(m.id, m.kind, m.behaviour.clone());
        s.name = m.name.clone();
        s.parent = m.parent;
        s.child_id = m.child_id.clone();
        s.spawned_ms = m.spawned_ms;
        s.mailbox_capacity = m.capacity;
        s.exit_history = m.exit_history.clone();
        s.status = self.status.clone();
        s.mailbox_len = self.mailbox_len;
        s.mailbox_peak = self.mailbox_peak;
        s.dropped = self.dropped;
        s.state_bytes = self.state_bytes;
        s.state_deep = self.state_deep;
        s.received = self.received;
        s.handled = self.handled;
        s.in_per_s = f64::from(self.in_per_s);
        s.out_per_s = f64::from(self.out_per_s);
        s.busy = f64::from(self.busy);
        s.restarts = self.restarts;
        s.supervisor = self.supervisor.as_deref().cloned();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_gives_back_what_diagnosis_reads() {
        let mut p = ProcessSample::new(Pid(7), ProcessKind::Server, "w::Worker");
        p.name = Some("w".into());
        p.parent = Some(Pid(1));
        p.child_id = Some("w".into());
        p.mailbox_len = 900;
        p.mailbox_peak = 1000;
        p.mailbox_capacity = Some(1000);
        p.dropped = 40;
        p.busy = 0.5;
        p.state_bytes = 1 << 20;
        p.restarts = 3;
        p.exit_history = vec!["boom".into()];
        p.status = Status::Waiting {
            on: Pid(9),
            since_ms: 12,
        };
        let mut metas = Metas::default();
        let back = Point::of(&p, &mut metas).sample();
        assert_eq!(back, p);
    }

    #[test]
    fn metas_are_shared_and_pruned() {
        let p = ProcessSample::new(Pid(7), ProcessKind::Server, "w::Worker");
        let mut metas = Metas::default();
        let a = Point::of(&p, &mut metas);
        let b = Point::of(&p, &mut metas);
        assert!(Arc::ptr_eq(&a.meta, &b.meta));
        drop((a, b));
        metas.prune();
        assert_eq!(metas.len(), 0);
    }
}
