//! What was asked of the runtime and is awaited or shown: the detail screen's logs and state, a
//! message trace, and a new sampling interval. Requests go out as [`Effect`]s; replies come back in
//! [`Fetches::on_reply`].

use super::effect::Effect;
use beamline_wire::{ControlReply, ControlRequest, Pid, QueuePeek, TypeCounts};

/// Sampling intervals `+`/`-` step through, milliseconds.
pub const INTERVALS: [u64; 7] = [100, 250, 500, 1000, 2000, 5000, 10_000];

/// A value fetched from the runtime on demand.
#[derive(Clone, Debug, PartialEq)]
pub enum Fetch<T> {
    /// Not asked for (e.g. the process did not opt in to state rendering).
    NotAsked,
    /// Asked, no answer yet.
    Pending,
    /// The answer.
    Ready(T),
    /// The runtime could not answer; why.
    Failed(String),
}

impl<T> Fetch<T> {
    /// [`Fetch::Pending`] if asked for, else [`Fetch::NotAsked`].
    fn asked(asked: bool) -> Self {
        if asked {
            Fetch::Pending
        } else {
            Fetch::NotAsked
        }
    }
}

/// The detail screen's subject and what was fetched about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Detail {
    /// The process shown.
    pub pid: Pid,
    /// Its recent log lines.
    pub logs: Fetch<Vec<String>>,
    /// Its state rendering.
    pub state: Fetch<String>,
    /// Its messages by type: the last two readings (rates are their differences), asked for
    /// once per sample while the detail is shown.
    pub types: Fetch<TypeReadings>,
    /// The head of its mailbox, asked for with `Q`.
    pub queue: Fetch<QueuePeek>,
}

/// The two latest readings of a process's per-type counters.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeReadings {
    /// The one before `now`, if any.
    pub before: Option<TypeCounts>,
    /// The latest.
    pub now: TypeCounts,
}

impl Detail {
    /// The request that reads its per-type counters.
    pub fn types_request(&self) -> ControlRequest {
        ControlRequest::MessageTypes {
            pids: vec![self.pid],
        }
    }

    /// The request that peeks at its mailbox.
    pub fn queue_request(&self) -> ControlRequest {
        ControlRequest::PeekQueue {
            pid: self.pid,
            n: PEEK,
        }
    }
}

/// How many queued messages `Q` asks for.
pub const PEEK: u32 = 16;

/// Requests in flight and their answers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fetches {
    /// Detail subject.
    pub detail: Option<Detail>,
    /// Interval asked for and not yet in effect.
    pub interval: Option<u64>,
    /// The message trace asked for from the Detail view (one at a time).
    pub trace: Option<super::trace::TraceState>,
}

impl Fetches {
    /// Make `pid` the detail subject: its logs are fetched from a live runtime, its state too if
    /// it opted in to rendering it.
    pub fn open(&mut self, pid: Pid, live: bool, inspectable: bool) -> Vec<Effect> {
        let mut fx = Vec::new();
        let mut ask = |yes: bool, request: ControlRequest| {
            if yes {
                fx.push(Effect::Control(request));
            }
            yes
        };
        let logs = ask(live, ControlRequest::Logs { pid });
        let state = ask(live && inspectable, ControlRequest::RenderState { pid });
        let types = ask(live, ControlRequest::MessageTypes { pids: vec![pid] });
        self.detail = Some(Detail {
            pid,
            logs: Fetch::asked(logs),
            state: Fetch::asked(state),
            types: Fetch::asked(types),
            queue: Fetch::NotAsked,
        });
        fx
    }

    /// `Q` on the detail screen: peek at the subject's mailbox (a live runtime only).
    pub fn peek_queue(&mut self, live: bool) -> Vec<Effect> {
        match self.detail.as_mut() {
            Some(d) if live => {
                d.queue = Fetch::Pending;
                vec![Effect::Control(d.queue_request())]
            }
            Some(d) => {
                d.queue = Fetch::Failed("a replay has no mailbox to peek at".into());
                vec![]
            }
            None => vec![],
        }
    }

    /// A sample arrived while the detail screen is shown: read its subject's per-type counters
    /// again (on demand, so samples stay as small as before).
    pub fn on_detail_sample(&self, live: bool) -> Option<Effect> {
        let d = self.detail.as_ref().filter(|_| live)?;
        Some(Effect::Control(d.types_request()))
    }

    /// Ask the runtime to sample every `ms`.
    pub fn set_interval(&mut self, ms: u64) -> Effect {
        self.interval = Some(ms);
        Effect::Control(ControlRequest::SetInterval { ms })
    }

    /// The next rung of [`INTERVALS`] from `now` (`slower`: longer), pending requests counted.
    pub fn next_interval(&self, now: u64, slower: bool) -> u64 {
        let now = self.interval.unwrap_or(now);
        let i = INTERVALS.partition_point(|v| *v < now);
        let j = if slower {
            (i + usize::from(INTERVALS.get(i) == Some(&now))).min(INTERVALS.len() - 1)
        } else {
            i.saturating_sub(1)
        };
        INTERVALS[j]
    }

    /// A sample taken every `interval_ms` arrived: a requested interval is now in effect.
    pub fn on_sample(&mut self, interval_ms: u64) {
        if self.interval == Some(interval_ms) {
            self.interval = None;
        }
    }

    /// Fold in the runtime's answer to `request`; returns what to tell the user, if anything.
    pub fn on_reply(&mut self, request: ControlRequest, reply: ControlReply) -> Option<String> {
        let fail = |r: &ControlReply| match r {
            ControlReply::Error(e) => e.clone(),
            other => format!("unexpected reply {other:?}"),
        };
        let detail = self.detail.as_mut();
        match request {
            ControlRequest::Logs { pid } => {
                if let Some(d) = detail.filter(|d| d.pid == pid) {
                    d.logs = match reply {
                        ControlReply::Logs(l) => Fetch::Ready(l),
                        r => Fetch::Failed(fail(&r)),
                    };
                }
                None
            }
            ControlRequest::RenderState { pid } => {
                if let Some(d) = detail.filter(|d| d.pid == pid) {
                    d.state = match reply {
                        ControlReply::State(s) => Fetch::Ready(s),
                        r => Fetch::Failed(fail(&r)),
                    };
                }
                None
            }
            ControlRequest::MessageTypes { pids } => {
                if let Some(d) = detail.filter(|d| pids == [d.pid]) {
                    d.types = match (reply, std::mem::replace(&mut d.types, Fetch::Pending)) {
                        (ControlReply::MessageTypes(mut r), old) if r.len() == 1 => {
                            let before = match old {
                                Fetch::Ready(t) => Some(t.now),
                                _ => None,
                            };
                            Fetch::Ready(TypeReadings {
                                before,
                                now: r.remove(0),
                            })
                        }
                        (ControlReply::MessageTypes(_), _) => {
                            Fetch::Failed(format!("no such process: {}", d.pid))
                        }
                        (r, _) => Fetch::Failed(fail(&r)),
                    };
                }
                None
            }
            ControlRequest::PeekQueue { pid, .. } => {
                if let Some(d) = detail.filter(|d| d.pid == pid) {
                    d.queue = match reply {
                        ControlReply::Queue(q) => Fetch::Ready(q),
                        r => Fetch::Failed(fail(&r)),
                    };
                }
                None
            }
            ControlRequest::Kill { pid, .. } => Some(match reply {
                ControlReply::Ok => format!("killed {pid}"),
                r => format!("kill {pid} failed: {}", fail(&r)),
            }),
            ControlRequest::Restart { pid } => Some(match reply {
                ControlReply::Ok => format!("restarted {pid}"),
                r => format!("restart {pid} failed: {}", fail(&r)),
            }),
            ControlRequest::TraceStart { target, .. } => {
                let t = self.trace.as_mut()?;
                if target != beamline_wire::trace::TraceTarget::Pid(t.pid) {
                    return None;
                }
                t.on_started(reply);
                match &t.status {
                    super::trace::TraceStatus::Failed(e) => Some(format!("trace failed: {e}")),
                    _ => None,
                }
            }
            ControlRequest::TraceStop { .. } => match reply {
                ControlReply::Ok => None,
                r => Some(format!("stopping the trace failed: {}", fail(&r))),
            },
            ControlRequest::SetInterval { ms } => Some(match reply {
                ControlReply::Ok => format!("interval set to {ms} ms"),
                r => {
                    self.interval = None;
                    format!("interval change failed: {}", fail(&r))
                }
            }),
        }
    }
}
