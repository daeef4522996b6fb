//! The message trace the observer asked for (issue 19): which process, whether it runs, the
//! events received so far (bounded), who talks to it, and how the Trace view shows them
//! (scrolled, paused, filtered by type). Batches come in through [`TraceState::on_batch`].

use super::effect::Effect;
use beamline_wire::trace::{Talkers, TraceBatch, TraceEvent, TraceSpec, TraceTarget};
use beamline_wire::{ControlReply, ControlRequest, Pid};
use std::collections::VecDeque;

/// The observer keeps at most this many events per trace; older ones leave (the runtime's
/// limits end a trace long before this matters with the defaults).
pub const MAX_EVENTS: usize = 5000;

/// Where a trace is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceStatus {
    /// Asked for; no answer yet.
    Starting,
    /// Running, with this id.
    Running(u64),
    /// Ended: why (a limit, a stop, the process's exit).
    Ended(String),
    /// The runtime refused or could not start it.
    Failed(String),
}

/// One trace and its view.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceState {
    /// The traced process.
    pub pid: Pid,
    /// Where it is.
    pub status: TraceStatus,
    /// Events received, oldest first.
    pub events: VecDeque<TraceEvent>,
    /// Events the runtime dropped (its buffer was full) plus those this observer let go.
    pub dropped: u64,
    /// Who sent it messages and whom it sent them to.
    pub talkers: Talkers,
    /// Whether the Trace view is on screen (it replaces the Detail body).
    pub open: bool,
    /// Paused at this many events: the view shows only those, new ones wait.
    pub paused_at: Option<usize>,
    /// Rows scrolled up from the newest.
    pub scroll: usize,
}

impl TraceState {
    /// A trace of `pid` being asked for, and the request that asks.
    pub fn start(pid: Pid) -> (TraceState, Effect) {
        let state = TraceState {
            pid,
            status: TraceStatus::Starting,
            events: VecDeque::new(),
            dropped: 0,
            talkers: Talkers::default(),
            open: true,
            paused_at: None,
            scroll: 0,
        };
        let request = ControlRequest::TraceStart {
            target: TraceTarget::Pid(pid),
            spec: TraceSpec::default(),
        };
        (state, Effect::Control(request))
    }

    /// Whether it may still deliver events.
    pub fn is_live(&self) -> bool {
        matches!(self.status, TraceStatus::Starting | TraceStatus::Running(_))
    }

    /// The request that stops it, if it runs.
    pub fn stop(&self) -> Option<Effect> {
        match self.status {
            TraceStatus::Running(trace) => {
                Some(Effect::Control(ControlRequest::TraceStop { trace }))
            }
            _ => None,
        }
    }

    /// The runtime's answer to the start request.
    pub fn on_started(&mut self, reply: ControlReply) {
        if self.status != TraceStatus::Starting {
            return;
        }
        self.status = match reply {
            ControlReply::TraceStarted { trace, .. } => TraceStatus::Running(trace),
            ControlReply::Error(e) => TraceStatus::Failed(e),
            other => TraceStatus::Failed(format!("unexpected reply {other:?}")),
        };
    }

    /// Fold in a batch; `false` if it belongs to another trace.
    pub fn on_batch(&mut self, batch: TraceBatch) -> bool {
        let mine = match self.status {
            TraceStatus::Running(id) => id == batch.trace,
            // A batch can overtake the reply that names its trace.
            TraceStatus::Starting => batch.pid == self.pid,
            _ => false,
        };
        if !mine {
            return false;
        }
        if self.status == TraceStatus::Starting {
            self.status = TraceStatus::Running(batch.trace);
        }
        self.dropped += batch.dropped;
        for e in batch.events {
            self.talkers.add(&e);
            if self.events.len() == MAX_EVENTS {
                self.events.pop_front();
                self.dropped += 1;
                self.paused_at = self.paused_at.map(|n| n.saturating_sub(1));
            }
            self.events.push_back(e);
        }
        if let Some(why) = batch.ended {
            self.status = TraceStatus::Ended(why);
        }
        true
    }

    /// Pause or resume the view (the trace goes on collecting).
    pub fn toggle_pause(&mut self) {
        self.paused_at = match self.paused_at {
            Some(_) => None,
            None => Some(self.events.len()),
        };
    }

    /// The events the view shows, newest first: up to the pause, of types containing
    /// `needle` (lowercase; empty: all).
    pub fn shown(&self, needle: &str) -> Vec<&TraceEvent> {
        let upto = self.paused_at.unwrap_or(self.events.len());
        (self.events.iter().take(upto).rev())
            .filter(|e| needle.is_empty() || e.type_name.to_lowercase().contains(needle))
            .collect()
    }

    /// Scroll by `d` rows (positive: towards older events) within `len` rows.
    pub fn scroll_by(&mut self, d: isize, len: usize) {
        let max = len.saturating_sub(1) as isize;
        self.scroll = (self.scroll as isize).saturating_add(d).clamp(0, max) as usize;
    }

    /// A line for the Trace view's title and the Detail view: state, counts, drops.
    pub fn summary(&self) -> String {
        let state = match &self.status {
            TraceStatus::Starting => "starting".to_string(),
            TraceStatus::Running(_) => "running".to_string(),
            TraceStatus::Ended(why) => format!("ended: {why}"),
            TraceStatus::Failed(why) => format!("refused: {why}"),
        };
        let mut s = format!("{state} · {} events", self.events.len());
        if self.dropped > 0 {
            s.push_str(&format!(" · {} dropped", self.dropped));
        }
        if self.paused_at.is_some() {
            s.push_str(" · paused");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::trace::{Direction, TraceKind};

    pub(crate) fn event(at_ms: u64, type_name: &str, peer: u64) -> TraceEvent {
        TraceEvent {
            at_ms,
            direction: Direction::In,
            kind: TraceKind::Cast,
            type_name: type_name.into(),
            bytes: 16,
            peer: Some(Pid(peer)),
            peer_name: None,
            handle_us: Some(3),
            text: None,
        }
    }

    fn batch(trace: u64, events: Vec<TraceEvent>, ended: Option<&str>) -> TraceBatch {
        TraceBatch {
            trace,
            pid: Pid(5),
            events,
            dropped: 0,
            ended: ended.map(String::from),
        }
    }

    #[test]
    fn batches_fold_in_pause_freezes_and_the_filter_picks_types() {
        let (mut t, fx) = TraceState::start(Pid(5));
        assert!(matches!(
            fx,
            Effect::Control(ControlRequest::TraceStart { .. })
        ));
        assert!(
            t.on_batch(batch(3, vec![event(1, "Cmd", 7)], None)),
            "before the reply"
        );
        t.on_started(ControlReply::TraceStarted {
            trace: 3,
            pid: Pid(5),
            spec: TraceSpec::default(),
        });
        assert_eq!(t.status, TraceStatus::Running(3));
        assert!(!t.on_batch(batch(4, vec![event(2, "Cmd", 7)], None)));
        t.toggle_pause();
        assert!(t.on_batch(batch(3, vec![event(2, "Tick", 8)], None)));
        assert_eq!(t.shown("").len(), 1, "paused: the new event waits");
        t.toggle_pause();
        assert_eq!(t.shown("").len(), 2);
        assert_eq!(t.shown("tick")[0].type_name, "Tick");
        assert!(t.on_batch(batch(
            3,
            vec![],
            Some("rate limit tripped: more than 500 events/s")
        )));
        assert_eq!(
            t.summary(),
            "ended: rate limit tripped: more than 500 events/s · 2 events"
        );
        assert_eq!(t.talkers.top_senders(1), vec![("<0.7.0>".to_string(), 1)]);
    }
}
