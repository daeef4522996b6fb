//! `observer --attach ADDR --trace NAME --json`: trace one process and print its messages, one
//! JSON object per line, until the trace ends (a limit, the process's exit) or the link drops.
//! How the trace ended, and events the runtime dropped, go to stderr, so every stdout line is
//! an event.

use crate::headless::HeadlessError;
use crate::source::{ConnState, Source, SourceEvent};
use beamline_wire::trace::{TraceEvent, TraceSpec, TraceTarget};
use beamline_wire::{ControlReply, ControlRequest, Pid, ServerMsg};
use serde::Serialize;
use std::io::Write;

/// One stdout line.
#[derive(Debug, Serialize)]
pub struct JsonTraceEvent<'a> {
    /// The traced process.
    pub pid: u64,
    /// Milliseconds since the runtime started.
    pub at_ms: u64,
    /// `in` or `out`.
    pub direction: &'static str,
    /// `call`, `cast`, `info` or `reply`.
    pub kind: &'static str,
    /// The message's type.
    #[serde(rename = "type")]
    pub type_name: &'a str,
    /// The other process: its name, else its pid, else `?`.
    pub peer: String,
    /// The other process's pid number, if known.
    pub peer_pid: Option<u64>,
    /// The message's inline size.
    pub bytes: u64,
    /// Handling time of a received message, microseconds.
    pub handle_us: Option<u64>,
    /// The message's text, if the process opted in.
    pub text: Option<&'a str>,
}

impl<'a> JsonTraceEvent<'a> {
    /// The line for `e`, an event of `pid`'s trace.
    pub fn new(pid: Pid, e: &'a TraceEvent) -> Self {
        JsonTraceEvent {
            pid: pid.0,
            at_ms: e.at_ms,
            direction: e.direction.as_str(),
            kind: e.kind.as_str(),
            type_name: &e.type_name,
            peer: e.peer_label(),
            peer_pid: e.peer.map(|p| p.0),
            bytes: e.bytes,
            handle_us: e.handle_us,
            text: e.text.as_deref(),
        }
    }
}

/// `NAME` as a trace target: `<0.12.0>` is a pid, anything else a registered name.
pub fn target(name: &str) -> TraceTarget {
    let pid =
        (name.strip_prefix("<0.").and_then(|s| s.strip_suffix(".0>"))).and_then(|n| n.parse().ok());
    match pid {
        Some(n) => TraceTarget::Pid(Pid(n)),
        None => TraceTarget::Name(name.to_string()),
    }
}

/// Trace `target` through `source` (at most `max_events`, else the runtime's default) and
/// print its events to `out`. Ends `Ok` when the trace
/// ends; with an error when the runtime refuses it or the link drops.
pub async fn run<S: Source>(
    mut source: S,
    target: TraceTarget,
    max_events: Option<u64>,
    out: impl Write,
) -> Result<(), HeadlessError> {
    let spec = TraceSpec {
        max_events: max_events.unwrap_or(0),
        ..TraceSpec::default()
    };
    let result = trace(&mut source, target, spec, out).await;
    source.close().await;
    result
}

async fn trace<S: Source>(
    source: &mut S,
    target: TraceTarget,
    spec: TraceSpec,
    mut out: impl Write,
) -> Result<(), HeadlessError> {
    let where_ = source.describe();
    let refused = |reason: String| HeadlessError::Refused {
        target: where_.clone(),
        reason,
    };
    let mut reply: Option<tokio::task::JoinHandle<ControlReply>> = None;
    let mut trace = None;
    // Batches that overtook the reply naming their trace.
    let mut early = Vec::new();
    loop {
        let ev = tokio::select! {
            ev = source.next() => ev,
            r = async { reply.as_mut().expect("guarded").await }, if reply.is_some() && trace.is_none() => {
                reply = None;
                match r {
                    Ok(ControlReply::TraceStarted { trace: id, pid, spec }) => {
                        eprintln!("observer: tracing {pid}: at most {} events, {} s, {} events/s", spec.max_events, spec.max_ms / 1000, spec.rate_per_s);
                        trace = Some(id);
                        for b in std::mem::take(&mut early) {
                            if print(&mut out, id, b)? { return Ok(()) }
                        }
                        continue;
                    }
                    Ok(ControlReply::Error(e)) => return Err(refused(e)),
                    Ok(other) => return Err(refused(format!("unexpected reply {other:?}"))),
                    Err(e) => return Err(refused(format!("the request failed: {e}"))),
                }
            }
        };
        let Some(ev) = ev else {
            return Err(lost(&where_, "the source ended"));
        };
        match ev {
            SourceEvent::Conn(ConnState::Connected) if reply.is_none() && trace.is_none() => {
                let request = ControlRequest::TraceStart {
                    target: target.clone(),
                    spec,
                };
                reply = Some(tokio::spawn(source.control(request)));
            }
            SourceEvent::Conn(ConnState::Retrying {
                reason,
                ever_connected,
                ..
            }) => {
                return Err(if ever_connected {
                    lost(&where_, &reason)
                } else {
                    HeadlessError::Unreachable {
                        target: where_,
                        reason,
                    }
                });
            }
            SourceEvent::Conn(ConnState::Failed(reason)) => return Err(refused(reason)),
            SourceEvent::Conn(ConnState::Ended) => return Err(lost(&where_, "the source ended")),
            SourceEvent::Msg(ServerMsg::Trace(b)) => match trace {
                Some(id) => {
                    if print(&mut out, id, b)? {
                        return Ok(());
                    }
                }
                None => early.push(b),
            },
            _ => {}
        }
    }
}

fn lost(target: &str, reason: &str) -> HeadlessError {
    HeadlessError::Lost {
        target: target.to_string(),
        reason: reason.to_string(),
    }
}

/// Print a batch of trace `id`; `true` once the trace has ended.
fn print(
    out: &mut impl Write,
    id: u64,
    batch: beamline_wire::trace::TraceBatch,
) -> Result<bool, HeadlessError> {
    if batch.trace != id {
        return Ok(false);
    }
    for e in &batch.events {
        serde_json::to_writer(&mut *out, &JsonTraceEvent::new(batch.pid, e))
            .map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    if batch.dropped > 0 {
        eprintln!(
            "observer: the runtime dropped {} events (its buffer was full)",
            batch.dropped
        );
    }
    if let Some(why) = &batch.ended {
        eprintln!("observer: trace ended: {why}");
        return Ok(true);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_pids() {
        assert_eq!(target("<0.12.0>"), TraceTarget::Pid(Pid(12)));
        assert_eq!(target("cache"), TraceTarget::Name("cache".into()));
        assert_eq!(target("<0.x.0>"), TraceTarget::Name("<0.x.0>".into()));
    }
}
