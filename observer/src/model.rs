//! The observer's picture of the runtime: the current and recent moments (each sample's
//! [`ProcessTable`], sharing unchanged processes with the one before), per-process history, the
//! link state and the alerts. Fed by [`crate::source::SourceEvent`]s, read by the state and the
//! views.
//!
//! Memory is bounded twice over: the number of whole moments kept for pause-and-scrub shrinks as
//! the process count grows, and per-process history shares a fixed budget of points.
//!
//! - [`history`]: bounded series per process and for the runtime.
//! - [`pressure`]: how full, how alarming and how fast-growing a mailbox is.
//! - [`diagnosis`]: alerts computed from each sample and its history.
//! - [`events`]: the event log read off consecutive samples, and the child slots it follows.
//! - [`prepare`]: building each sample's table ([`Model::prepare`] then [`Model::commit`] is
//!   [`Model::apply`] split in two).
//! - [`worker`]: applying samples on a thread of its own and handing the UI loop a copy of the
//!   model to show ([`Model::view_copy`]), so the loop only swaps it in.

pub mod diagnosis;
pub mod events;
pub mod history;
pub mod prepare;
pub mod pressure;
pub mod worker;

use crate::source::fleet::status::FleetView;
use crate::source::{ConnState, SourceEvent, Trouble};
use beamline_wire::{ProcessTable, ServerMsg, Welcome};
use diagnosis::{Alert, Diagnoser, Thresholds};
use events::Events;
use prepare::{Prepared, Preparer};
use std::collections::VecDeque;
use std::sync::Arc;

pub use history::{History, Point, Ring, SystemPoint};

/// Cost units kept across all retained moments: one per process pointer, plus more per sample a
/// moment owns outright (those cost real memory, pointers are cheap).
const MOMENT_BUDGET: usize = 3_000_000;
/// A changed sample weighs this many pointer units.
const OWNED_SAMPLE_COST: usize = 20;
/// Never keep more moments than this, however small the runtime.
pub(crate) const MAX_MOMENTS: usize = 300;

/// What applying an event changed, so the caller knows what to recompute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing visible.
    Nothing,
    /// The link state or handshake changed.
    Link,
    /// A new moment arrived.
    Sample,
    /// A past tick from the runtime's flight recorder was folded in (history, alerts and the
    /// event log as they stood then); the live snapshot follows.
    History,
    /// History was cleared (new incarnation, or a replay seeked back).
    Reset,
}

/// Everything known about the observed runtime.
#[derive(Debug)]
pub struct Model {
    /// State of the link.
    pub conn: ConnState,
    /// The handshake of the current incarnation.
    pub welcome: Option<Welcome>,
    /// The last trouble the source told (a recording that stopped, a damaged replay).
    pub trouble: Option<Trouble>,
    /// The nodes, when watching several ([`crate::source::fleet`]); `None` for one runtime.
    pub fleet: Option<Arc<FleetView>>,
    /// Recent moments, oldest first, with their cost units and the alerts raised at each.
    moments: VecDeque<(Arc<ProcessTable>, usize, Arc<Vec<Alert>>)>,
    cost: usize,
    /// Per-process and runtime-wide series.
    pub history: History,
    /// Deltas that could not be applied (a gap); the runtime resends a snapshot after one.
    pub gaps: u64,
    /// Current alerts, most important first.
    pub alerts: Vec<Alert>,
    /// Alerts that cleared recently, most recently resolved first (listed dimmed).
    pub resolved: Vec<Alert>,
    /// What happened between samples; shared with the copies the UI shows (written copy on
    /// write: the worker's next sample, or a kill the user asked for).
    pub events: Arc<Events>,
    diagnoser: Diagnoser,
    /// Builds tables for [`Model::apply`].
    preparer: Preparer,
}

impl Model {
    /// An empty model; `thresholds` tune the diagnosis.
    pub fn new(thresholds: Thresholds) -> Self {
        Model {
            conn: ConnState::Connecting,
            welcome: None,
            trouble: None,
            fleet: None,
            moments: VecDeque::new(),
            cost: 0,
            history: History::default(),
            gaps: 0,
            alerts: Vec::new(),
            resolved: Vec::new(),
            events: Arc::default(),
            diagnoser: Diagnoser::new(thresholds),
            preparer: Preparer::default(),
        }
    }

    /// Fold one source event into the model: [`Self::prepare`] then [`Self::commit`], in
    /// place (headless mode, tests, and the TUI's [`worker::Worker`] on its own thread).
    pub fn apply(&mut self, ev: SourceEvent) -> Change {
        let prepared = self.prepare(ev);
        self.commit(prepared)
    }

    /// The expensive part of folding `ev` in (building its table), without changing what the
    /// views read.
    pub fn prepare(&mut self, ev: SourceEvent) -> Prepared {
        self.preparer.prepare(ev)
    }

    /// Fold in an event prepared here or by a [`Preparer`] fed every event in order.
    pub fn commit(&mut self, prepared: Prepared) -> Change {
        let ev = match prepared {
            Prepared::Table { table, owned, past } => {
                self.push(table, owned);
                return if past {
                    Change::History
                } else {
                    Change::Sample
                };
            }
            Prepared::Gap => {
                // No snapshot yet, or a delta went missing: wait for the next snapshot.
                self.gaps += 1;
                return Change::Nothing;
            }
            Prepared::Event(ev) => ev,
        };
        match ev {
            SourceEvent::Conn(c) => {
                self.conn = c;
                Change::Link
            }
            SourceEvent::Reset => {
                self.clear();
                Change::Reset
            }
            SourceEvent::Trouble(t) => {
                self.trouble = Some(t);
                Change::Link
            }
            SourceEvent::Nodes(f) => {
                self.fleet = Some(f);
                Change::Link
            }
            SourceEvent::Msg(ServerMsg::Welcome(w)) => {
                let fresh = self
                    .welcome
                    .as_ref()
                    .is_some_and(|old| old.incarnation != w.incarnation);
                self.welcome = Some(w);
                if fresh {
                    // A restarted runtime: its pids and counters mean nothing next to the old.
                    self.clear();
                    Change::Reset
                } else {
                    Change::Link
                }
            }
            SourceEvent::Msg(ServerMsg::Refused(why)) => {
                self.conn = ConnState::Failed(why);
                Change::Link
            }
            // A sample handed in unprepared: prepare it here.
            ev @ SourceEvent::Msg(ServerMsg::Snapshot(_) | ServerMsg::Delta(_)) => self.apply(ev),
            // Replies go to whoever asked; trace batches to the state's trace (`state/trace.rs`).
            SourceEvent::Msg(ServerMsg::Reply { .. } | ServerMsg::Trace(_)) => Change::Nothing,
            // Learnt by the preparer (`prepare.rs`), which numbers hot types the observer's way.
            SourceEvent::Msg(ServerMsg::TypeNames(_)) => Change::Nothing,
            ev @ SourceEvent::Msg(ServerMsg::History(_)) => self.apply(ev),
        }
    }

    fn clear(&mut self) {
        self.moments.clear();
        self.cost = 0;
        self.history.clear();
        self.alerts.clear();
        self.resolved.clear();
        self.events = Arc::default();
        self.gaps = 0;
        self.diagnoser.reset();
    }

    /// Keep `m`, of which `owned` samples are new (the rest shared with the previous moment).
    fn push(&mut self, m: Arc<ProcessTable>, owned: usize) {
        self.history.record(&m);
        let prev = self.latest().cloned();
        Arc::make_mut(&mut self.events).observe(prev.as_deref(), &m);
        self.alerts = self.diagnoser.update(&m, &self.history);
        self.resolved = self.diagnoser.resolved();
        let cost = m.processes.len() + owned * OWNED_SAMPLE_COST;
        self.moments
            .push_back((m, cost, Arc::new(self.alerts.clone())));
        self.cost += cost;
        while self.moments.len() > 2
            && (self.cost > MOMENT_BUDGET || self.moments.len() > MAX_MOMENTS)
        {
            if let Some((_, c, _)) = self.moments.pop_front() {
                self.cost -= c;
            }
        }
    }

    /// A copy for the UI to show, carrying `history` (which must equal this model's: the
    /// worker keeps two and hands one over, see [`worker`]). Moments, alerts and events are
    /// shared or small; the copy cannot diagnose further samples (it is never fed any).
    pub fn view_copy(&self, history: History) -> Model {
        Model {
            conn: self.conn.clone(),
            welcome: self.welcome.clone(),
            trouble: self.trouble.clone(),
            moments: self.moments.clone(),
            cost: self.cost,
            history,
            gaps: self.gaps,
            alerts: self.alerts.clone(),
            resolved: self.resolved.clone(),
            events: self.events.clone(),
            diagnoser: Diagnoser::new(self.thresholds().clone()),
            preparer: Preparer::default(),
            fleet: self.fleet.clone(),
        }
    }

    /// What diagnosis and the mailbox bars judge by.
    pub fn thresholds(&self) -> &Thresholds {
        self.diagnoser.thresholds()
    }

    /// The newest moment.
    pub fn latest(&self) -> Option<&Arc<ProcessTable>> {
        self.moments.back().map(|(m, _, _)| m)
    }

    /// The alerts as they stood at moment `seq` (the oldest kept if it was evicted), so a
    /// paused display shows the alerts of its sample.
    pub fn alerts_at(&self, seq: u64) -> &[Alert] {
        let i = self.moments.partition_point(|(m, _, _)| m.seq < Some(seq));
        self.moments
            .get(i.min(self.moments.len().saturating_sub(1)))
            .map_or(&[], |(_, _, a)| a.as_slice())
    }

    /// The moment with sequence number `seq`, or the oldest kept one if it was evicted.
    pub fn at(&self, seq: u64) -> Option<&Arc<ProcessTable>> {
        let i = self.moments.partition_point(|(m, _, _)| m.seq < Some(seq));
        self.moments
            .get(i.min(self.moments.len().saturating_sub(1)))
            .map(|(m, _, _)| m)
    }

    /// The sequence number `steps` moments away from `seq` (negative: older), clamped to what is
    /// kept; used to scrub through a paused display.
    pub fn step_from(&self, seq: u64, steps: isize) -> Option<u64> {
        if self.moments.is_empty() {
            return None;
        }
        let i = self.moments.partition_point(|(m, _, _)| m.seq < Some(seq)) as isize;
        let j = (i + steps).clamp(0, self.moments.len() as isize - 1) as usize;
        self.moments[j].0.seq
    }

    /// How many moments are kept for scrubbing.
    pub fn kept(&self) -> usize {
        self.moments.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::{
        Delta, Pid, ProcessKind, ProcessSample, Snapshot, SystemSample, table::diff,
    };

    fn welcome(incarnation: u64) -> SourceEvent {
        SourceEvent::Msg(ServerMsg::Welcome(Welcome {
            version: 1,
            node: "n".into(),
            os_pid: 1,
            incarnation,
            started_unix_ms: 0,
            interval_ms: 1000,
            role: beamline_wire::Role::Operate,
        }))
    }

    fn snap(seq: u64, lens: &[u64]) -> Snapshot {
        Snapshot {
            seq,
            at_ms: seq * 1000,
            interval_ms: 1000,
            system: SystemSample::default(),
            processes: lens
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let mut p = ProcessSample::new(Pid(i as u64), ProcessKind::Server, "T");
                    p.mailbox_len = *l;
                    p
                })
                .collect(),
        }
    }

    fn delta(a: &Snapshot, b: &Snapshot) -> SourceEvent {
        SourceEvent::Msg(ServerMsg::Delta(diff(a, b)))
    }

    #[test]
    fn applies_snapshot_then_deltas_and_counts_gaps() {
        let mut m = Model::new(Thresholds::default());
        m.apply(welcome(1));
        let s0 = snap(0, &[1, 2]);
        let s1 = snap(1, &[3, 2]);
        let s3 = snap(3, &[9, 9]);
        m.apply(SourceEvent::Msg(ServerMsg::Snapshot(s0.clone())));
        assert_eq!(m.apply(delta(&s0, &s1)), Change::Sample);
        assert_eq!(m.latest().unwrap().get(Pid(0)).unwrap().mailbox_len, 3);
        assert_eq!(m.apply(delta(&s1, &s3)), Change::Nothing);
        assert_eq!(m.gaps, 1);
        let h: Vec<u64> = m
            .history
            .process(Pid(0))
            .unwrap()
            .iter()
            .map(|p| p.mailbox_len)
            .collect();
        assert_eq!(h, [1, 3]);
    }

    #[test]
    fn a_new_incarnation_clears_history_but_a_reconnect_does_not() {
        let mut m = Model::new(Thresholds::default());
        m.apply(welcome(1));
        m.apply(SourceEvent::Msg(ServerMsg::Snapshot(snap(5, &[1]))));
        assert_eq!(m.apply(welcome(1)), Change::Link);
        assert_eq!(m.kept(), 1);
        assert_eq!(m.apply(welcome(2)), Change::Reset);
        assert_eq!(m.kept(), 0);
        assert!(m.history.process(Pid(0)).is_none());
        assert!(m.latest().is_none());
    }

    /// The runtime's history streams in before the snapshot: thinned ticks (gaps in `seq`)
    /// build moments, the mailbox's rise is in the chart, and the overflow alert that the
    /// snapshot confirms carries the rise's true start rather than the attach time.
    #[test]
    fn history_before_the_snapshot_gives_trends_and_true_onsets() {
        let mut m = Model::new(Thresholds::default());
        m.apply(welcome(1));
        let mut changes = Vec::new();
        for (i, seq) in [3u64, 4, 6, 7, 9, 10, 12, 13, 15, 16]
            .into_iter()
            .enumerate()
        {
            let mut d = diff(&snap(0, &[]), &snap(seq, &[0, 200 * i as u64]));
            d.changed.retain(|p| p.id == Pid(1) || seq == 3);
            changes.push(m.apply(SourceEvent::Msg(ServerMsg::History(d))));
        }
        assert!(changes.iter().all(|c| *c == Change::History), "{changes:?}");
        let live = snap(20, &[0, 2000]);
        assert_eq!(
            m.apply(SourceEvent::Msg(ServerMsg::Snapshot(live))),
            Change::Sample
        );
        let h = m.history.process(Pid(1)).unwrap();
        assert_eq!(h.len(), 11, "ten past ticks and the live one");
        let a = m
            .alerts
            .iter()
            .find(|a| a.processes[0] == Pid(1))
            .expect("an overflow alert at the first live sample");
        assert_eq!(a.kind, diagnosis::AlertKind::Overflow);
        assert_eq!(a.since_ms, 3000, "the rise began after the first past tick");
        assert_eq!(m.latest().unwrap().processes.len(), 2);
    }

    #[test]
    fn scrubbing_steps_through_kept_moments() {
        let mut m = Model::new(Thresholds::default());
        for seq in 10..15 {
            m.apply(SourceEvent::Msg(ServerMsg::Snapshot(snap(seq, &[seq]))));
        }
        assert_eq!(m.step_from(14, -1), Some(13));
        assert_eq!(m.step_from(14, -99), Some(10));
        assert_eq!(m.step_from(12, 99), Some(14));
        assert_eq!(m.at(12).unwrap().seq, Some(12));
    }

    #[test]
    fn kept_moments_are_bounded_by_cost() {
        let mut m = Model::new(Thresholds::default());
        let lens = vec![1u64; 20_000];
        let s = snap(0, &lens);
        m.apply(SourceEvent::Msg(ServerMsg::Snapshot(s)));
        for seq in 1..40u64 {
            let d = Delta {
                seq,
                at_ms: seq * 1000,
                interval_ms: 1000,
                system: SystemSample::default(),
                changed: vec![],
                removed: vec![],
            };
            m.apply(SourceEvent::Msg(ServerMsg::Delta(d)));
        }
        // Unchanged deltas are cheap: 40 moments of 20k pointers fit.
        assert_eq!(m.kept(), 40);
        let big = snap(40, &vec![2u64; 20_000]);
        for i in 0..10 {
            let mut s = big.clone();
            s.seq = 40 + i;
            m.apply(SourceEvent::Msg(ServerMsg::Snapshot(s)));
        }
        assert!(m.cost <= MOMENT_BUDGET, "cost {} over budget", m.cost);
        assert!(m.kept() < 50);
    }
}
