//! The event log: what happened between two samples, read off the moments themselves (exits
//! with their reasons, restarts with the old and the new pid, escalations, dropped messages,
//! refused self-calls), plus what the observer itself did (kills and restarts asked for by the
//! user).
//!
//! Child slots (a supervisor and a child id) are followed across restarts, which also gives
//! the tree its start order (a restarted child keeps its place) and Detail the successor of a
//! process that was restarted.

pub mod self_calls;

pub use self_calls::SelfCalls;

use super::history::Ring;
use beamline_wire::{Pid, ProcessKind, ProcessSample, ProcessTable, Status};
use self_calls::Refusals;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Events kept, oldest dropped first.
pub const MAX_EVENTS: usize = 1000;
/// Restarts of one slot within [`LOOP_WINDOW_MS`] that make a crash loop. Two: one restart
/// is a supervisor doing its job, a second within the minute is a pattern worth a banner (the
/// demo's crash scenario shows it about 8 s in), well before a restart storm alert.
pub const LOOP_RESTARTS: usize = 2;
/// The window in which restarts are counted for a crash loop.
pub const LOOP_WINDOW_MS: u64 = 60_000;
/// Old-to-new pid links kept for Detail to follow (the oldest are forgotten first).
const MAX_SUCCESSORS: usize = 4096;

/// What sort of event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A process exited.
    Exit,
    /// A supervisor replaced a child.
    Restart,
    /// A supervisor gave up (it exited abnormally: its restart intensity ran out).
    Escalation,
    /// Messages were dropped.
    Drop,
    /// A process called itself and the call was refused (`CallError::CallingSelf`).
    SelfCall,
    /// The user killed or restarted a process from the observer.
    Observer,
}

impl EventKind {
    /// The word shown in the log's KIND column.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Exit => "exit",
            EventKind::Restart => "restart",
            EventKind::Escalation => "escalate",
            EventKind::Drop => "drop",
            EventKind::SelfCall => "selfcall",
            EventKind::Observer => "observer",
        }
    }
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Sample time, milliseconds since runtime start.
    pub at_ms: u64,
    /// What sort.
    pub kind: EventKind,
    /// The process it is about.
    pub pid: Pid,
    /// Its name (or pid) when it happened.
    pub who: String,
    /// What happened, in words.
    pub text: String,
}

/// A child slot: where a supervisor keeps one child spec's process.
#[derive(Clone, Debug)]
struct Slot {
    /// The first pid seen in it: the slot's place among its siblings.
    first: Pid,
    /// The pid in it now.
    current: Pid,
    /// Restarts counted so far (the samples' `restarts`).
    restarts: u32,
    /// When recent restarts happened, for crash loops.
    recent: VecDeque<u64>,
    /// Its name, for the banner.
    who: String,
}

/// A slot restarting over and over.
#[derive(Clone, Debug, PartialEq)]
pub struct CrashLoop {
    /// The process in the slot now.
    pub pid: Pid,
    /// Its name.
    pub who: String,
    /// Restarts within [`LOOP_WINDOW_MS`].
    pub restarts: usize,
}

/// The log and the slots it follows.
#[derive(Clone, Debug)]
pub struct Events {
    log: Ring<Event>,
    slots: HashMap<(Pid, String), Slot>,
    successor: HashMap<Pid, Pid>,
    successor_order: VecDeque<Pid>,
    refusals: Refusals,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            log: Ring::new(MAX_EVENTS),
            slots: HashMap::new(),
            successor: HashMap::new(),
            successor_order: VecDeque::new(),
            refusals: Refusals::default(),
        }
    }
}

fn slot_key(p: &ProcessSample) -> Option<(Pid, String)> {
    Some((p.parent?, p.child_id.clone()?))
}

impl Events {
    /// Read what happened between `prev` (if any) and `next`.
    pub fn observe(&mut self, prev: Option<&ProcessTable>, next: &ProcessTable) {
        for p in &next.processes {
            let before = prev.and_then(|m| m.index_of(p.id).map(|i| &m.processes[i]));
            if before.is_some_and(|b| Arc::ptr_eq(b, p)) {
                continue;
            }
            self.exits_and_drops(next.at_ms, before.map(|b| &**b), p);
            self.refused_self_calls(next.at_ms, before.map(|b| &**b), p);
            self.follow_slot(next, p);
        }
        self.refusals.forget_before(next.at_ms);
    }

    /// Self-calls refused since the sample before (all of them for a process seen the first
    /// time: a bug is worth showing even if it started before the observer looked).
    fn refused_self_calls(
        &mut self,
        at_ms: u64,
        before: Option<&ProcessSample>,
        p: &ProcessSample,
    ) {
        let n = (p.self_calls_refused).saturating_sub(before.map_or(0, |b| b.self_calls_refused));
        if n == 0 {
            return;
        }
        self.refusals.note(at_ms, p.id, p.label(), n);
        self.log.push(Event {
            at_ms,
            kind: EventKind::SelfCall,
            pid: p.id,
            who: p.label(),
            text: format!(
                "called itself: refused ×{n} ({} since spawn)",
                p.self_calls_refused
            ),
        });
    }

    fn exits_and_drops(&mut self, at_ms: u64, before: Option<&ProcessSample>, p: &ProcessSample) {
        let push = |log: &mut Ring<Event>, kind, text| {
            log.push(Event {
                at_ms,
                kind,
                pid: p.id,
                who: p.label(),
                text,
            })
        };
        if let Status::Exited { reason } = &p.status
            && !before.is_some_and(|b| matches!(b.status, Status::Exited { .. }))
        {
            let abnormal = !(reason == "normal" || reason.starts_with("shutdown"));
            // A supervisor that gives up exits `shutdown` as in OTP: its full restart window
            // tells it apart from being stopped.
            let gave_up = (p.supervisor.as_ref())
                .is_some_and(|s| s.max_restarts > 0 && s.restarts_in_window >= s.max_restarts);
            let kind = if p.kind == ProcessKind::Supervisor && (abnormal || gave_up) {
                EventKind::Escalation
            } else {
                EventKind::Exit
            };
            push(&mut self.log, kind, format!("exited: {reason}"));
        }
        let dropped = p
            .dropped
            .saturating_sub(before.map_or(p.dropped, |b| b.dropped));
        if dropped > 0 {
            push(
                &mut self.log,
                EventKind::Drop,
                format!("dropped {dropped} messages ({} in all)", p.dropped),
            );
        }
    }

    /// Keep the slot of `p` pointing at its live process; a new pid with more restarts is a
    /// restart.
    fn follow_slot(&mut self, next: &ProcessTable, p: &ProcessSample) {
        let Some(key) = slot_key(p) else { return };
        if matches!(p.status, Status::Exited { .. }) {
            self.slots.entry(key).or_insert_with(|| Slot {
                first: p.id,
                current: p.id,
                restarts: p.restarts,
                recent: VecDeque::new(),
                who: p.label(),
            });
            return;
        }
        let slot = self.slots.entry(key).or_insert_with(|| Slot {
            first: p.id,
            current: p.id,
            restarts: p.restarts,
            recent: VecDeque::new(),
            who: p.label(),
        });
        let old = slot.current;
        let old_alive = next
            .get(old)
            .is_some_and(|o| !matches!(o.status, Status::Exited { .. }));
        if old == p.id || p.id < old || old_alive || p.restarts <= slot.restarts {
            return;
        }
        slot.current = p.id;
        slot.restarts = p.restarts;
        slot.who = p.label();
        slot.recent.push_back(next.at_ms);
        while slot
            .recent
            .front()
            .is_some_and(|t| next.at_ms.saturating_sub(*t) > LOOP_WINDOW_MS)
        {
            slot.recent.pop_front();
        }
        self.log.push(Event {
            at_ms: next.at_ms,
            kind: EventKind::Restart,
            pid: p.id,
            who: p.label(),
            text: format!("restarted: {old} → {} (restart {})", p.id, p.restarts),
        });
        self.successor.insert(old, p.id);
        self.successor_order.push_back(old);
        while self.successor_order.len() > MAX_SUCCESSORS {
            if let Some(o) = self.successor_order.pop_front() {
                self.successor.remove(&o);
            }
        }
    }

    /// Add an event the observer caused (a kill, a restart).
    pub fn record(&mut self, event: Event) {
        self.log.push(event);
    }

    /// Events oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Event> + ExactSizeIterator {
        self.log.iter()
    }

    /// Events up to `at_ms` (what a display paused there shows), newest first.
    pub fn until(&self, at_ms: u64) -> impl Iterator<Item = &Event> {
        self.log.iter().rev().filter(move |e| e.at_ms <= at_ms)
    }

    /// Where `p` sorts among its siblings: its slot's first pid, so a restarted child keeps its
    /// place in start order; its own pid when it is not in a slot.
    pub fn start_order(&self, p: &ProcessSample) -> Pid {
        slot_key(p)
            .and_then(|k| self.slots.get(&k))
            .map_or(p.id, |s| s.first.min(p.id))
    }

    /// The process that replaced `pid` in its slot, following several restarts.
    pub fn successor(&self, pid: Pid) -> Option<Pid> {
        let mut at = *self.successor.get(&pid)?;
        for _ in 0..64 {
            match self.successor.get(&at) {
                Some(n) => at = *n,
                None => break,
            }
        }
        Some(at)
    }

    /// Slots that restarted [`LOOP_RESTARTS`] times or more within [`LOOP_WINDOW_MS`] of
    /// `now_ms`, most restarts first.
    pub fn crash_loops(&self, now_ms: u64) -> Vec<CrashLoop> {
        let mut loops: Vec<CrashLoop> = self
            .slots
            .values()
            .filter_map(|s| {
                let n = s
                    .recent
                    .iter()
                    .filter(|t| **t <= now_ms && now_ms - **t <= LOOP_WINDOW_MS)
                    .count();
                (n >= LOOP_RESTARTS).then(|| CrashLoop {
                    pid: s.current,
                    who: s.who.clone(),
                    restarts: n,
                })
            })
            .collect();
        loops.sort_by(|a, b| b.restarts.cmp(&a.restarts).then(a.pid.cmp(&b.pid)));
        loops
    }

    /// Processes whose calls to themselves were refused within [`self_calls::WINDOW_MS`] of
    /// `now_ms`, most refusals first.
    pub fn self_calls(&self, now_ms: u64) -> Vec<SelfCalls> {
        self.refusals.within(now_ms)
    }

    /// Forget everything (a new incarnation).
    pub fn clear(&mut self) {
        *self = Events::default();
    }
}

#[cfg(test)]
mod tests;
