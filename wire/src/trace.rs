//! A message trace on the wire: what an observer asks for ([`TraceTarget`], [`TraceSpec`]) and
//! what it gets back ([`TraceBatch`] of [`TraceEvent`]s), plus [`Talkers`], the "who talks to
//! whom" fold both the runtime's API and the observer apply to the events.
//!
//! The safety rules (opt-in per process, limits on events, time and rate, a bounded buffer) are
//! the runtime's; see `beamline::trace`.

use crate::Pid;
use serde::{Deserialize, Serialize};

/// Which process to trace. One process at a time, by pid or by registered name: there is no
/// pattern, and [`TraceTarget::All`] exists only to be refused with a reason (as recon_trace
/// refuses to trace every module), so that the refusal is explicit rather than a parse error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TraceTarget {
    /// This process.
    Pid(Pid),
    /// The process registered under this name now.
    Name(String),
    /// Every process: always refused.
    All,
}

/// The limits a trace asks for; `0` means the runtime's default. The runtime clamps each to its
/// hard cap, so an observer can never ask for an unbounded trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceSpec {
    /// Stop after this many events.
    pub max_events: u64,
    /// Stop after this many milliseconds.
    pub max_ms: u64,
    /// Stop when events come faster than this many per second (a token bucket whose burst is
    /// one second's worth).
    pub rate_per_s: u32,
}

/// Which way a traced message went, seen from the traced process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// Received: taken from its mailbox and handled.
    In,
    /// Sent by it: a call, cast or send to another process, or a reply to a call.
    Out,
}

/// What kind of message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TraceKind {
    /// A request awaiting a reply.
    Call,
    /// Fire and forget.
    Cast,
    /// A plain message (`send`, timers).
    Info,
    /// The answer to a call.
    Reply,
}

impl Direction {
    /// `in` or `out`, as the JSON lines spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

impl TraceKind {
    /// `call`, `cast`, `info` or `reply`, as the JSON lines spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceKind::Call => "call",
            TraceKind::Cast => "cast",
            TraceKind::Info => "info",
            TraceKind::Reply => "reply",
        }
    }
}

/// One traced message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// When: milliseconds since the runtime started (received messages: when handling began).
    pub at_ms: u64,
    /// In or out.
    pub direction: Direction,
    /// Call, cast, info or reply.
    pub kind: TraceKind,
    /// The message's type, last path segment (`Cmd`, not `my_app::ledger::Cmd`).
    pub type_name: String,
    /// Its size in bytes: the type's inline size (heap data it points to is not counted).
    pub bytes: u64,
    /// The other process; `None` when it is not a process (a plain task) or was not known
    /// (a message queued before the trace started).
    pub peer: Option<Pid>,
    /// The other process's registered name, if any.
    pub peer_name: Option<String>,
    /// How long handling it took, microseconds (received messages only).
    pub handle_us: Option<u64>,
    /// The message's text, only if the process's `GenServer::format_message` hook gives one
    /// (off by default; the hook redacts).
    pub text: Option<String>,
}

impl TraceEvent {
    /// The peer as shown: its name, else its pid, else `?`.
    pub fn peer_label(&self) -> String {
        match (&self.peer_name, self.peer) {
            (Some(name), _) => name.clone(),
            (None, Some(pid)) => pid.to_string(),
            (None, None) => "?".into(),
        }
    }
}

/// Events of one trace since the previous batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceBatch {
    /// The trace's id (from [`crate::ControlReply::TraceStarted`]).
    pub trace: u64,
    /// The traced process.
    pub pid: Pid,
    /// New events, oldest first.
    pub events: Vec<TraceEvent>,
    /// Events lost since the previous batch because the runtime's bounded buffer was full.
    pub dropped: u64,
    /// Set on the last batch: why the trace ended (`event limit reached`, `time limit reached`,
    /// `rate limit tripped ...`, `stopped`, `process exited`).
    pub ended: Option<String>,
}

/// At most this many distinct peers are counted per direction; later ones add to `others`.
pub const MAX_TALKERS: usize = 64;

/// Who talks to whom, folded from trace events: messages per sender (received) and per
/// receiver (sent), bounded to [`MAX_TALKERS`] peers each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Talkers {
    senders: Vec<(String, u64)>,
    receivers: Vec<(String, u64)>,
    /// Messages from or to peers beyond the bound.
    pub others: u64,
}

impl Talkers {
    /// Count one event.
    pub fn add(&mut self, event: &TraceEvent) {
        let side = match event.direction {
            Direction::In => &mut self.senders,
            Direction::Out => &mut self.receivers,
        };
        let label = event.peer_label();
        if let Some(entry) = side.iter_mut().find(|(p, _)| *p == label) {
            entry.1 += 1;
        } else if side.len() < MAX_TALKERS {
            side.push((label, 1));
        } else {
            self.others += 1;
        }
    }

    /// The `n` peers that sent it the most messages, most first (ties by name).
    pub fn top_senders(&self, n: usize) -> Vec<(String, u64)> {
        top(&self.senders, n)
    }

    /// The `n` peers it sent the most messages to, most first (ties by name).
    pub fn top_receivers(&self, n: usize) -> Vec<(String, u64)> {
        top(&self.receivers, n)
    }
}

fn top(side: &[(String, u64)], n: usize) -> Vec<(String, u64)> {
    let mut v = side.to_vec();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(direction: Direction, peer: u64) -> TraceEvent {
        TraceEvent {
            at_ms: 0,
            direction,
            kind: TraceKind::Cast,
            type_name: "Cmd".into(),
            bytes: 8,
            peer: Some(Pid(peer)),
            peer_name: None,
            handle_us: None,
            text: None,
        }
    }

    #[test]
    fn talkers_rank_senders_and_receivers_apart_and_stay_bounded() {
        let mut t = Talkers::default();
        for _ in 0..3 {
            t.add(&ev(Direction::In, 7));
        }
        t.add(&ev(Direction::In, 8));
        t.add(&ev(Direction::Out, 9));
        assert_eq!(
            t.top_senders(5),
            vec![("<0.7.0>".into(), 3), ("<0.8.0>".into(), 1)]
        );
        assert_eq!(t.top_receivers(5), vec![("<0.9.0>".into(), 1)]);
        for p in 100..(100 + MAX_TALKERS as u64 + 5) {
            t.add(&ev(Direction::Out, p));
        }
        assert_eq!(t.others, 6);
    }
}
