//! Control requests from an observer: kill, restart, render a state, fetch logs, set the
//! sampling interval, read messages by type, peek at a queue, start and stop message traces. Each acts through the runtime's shared state and answers with a
//! [`ControlReply`]; a request about a process that is gone is an error reply, never a panic.

use super::hub::{Hub, Publish};
use crate::ExitReason;
use crate::process::{ProcessCell, Shared, Sys};
use crate::trace::owned::Owned;
use beamline_wire::{ControlReply, ControlRequest, Pid};
use std::sync::Arc;
use std::time::Duration;

/// How long a process has to render its state for [`ControlRequest::RenderState`].
pub const RENDER_TIMEOUT: Duration = Duration::from_secs(2);

/// The pid control requests act as (`exit` signals from an observer come from `<0.0.0>`).
pub const OBSERVER_PID: Pid = Pid(0);

/// Makes control requests on behalf of one subscription (whose interval wish it sets).
#[derive(Clone)]
pub(crate) struct Controller {
    publish: Arc<Publish>,
    hub: Arc<Hub>,
    subscriber: u64,
    /// The subscription's message traces (stopped when it goes away).
    traces: Arc<Owned>,
}

impl Controller {
    pub(crate) fn new(
        publish: Arc<Publish>,
        hub: Arc<Hub>,
        subscriber: u64,
        traces: Arc<Owned>,
    ) -> Self {
        Controller {
            publish,
            hub,
            subscriber,
            traces,
        }
    }

    /// Carry out one control request.
    pub(crate) async fn control(&self, request: ControlRequest) -> ControlReply {
        let shared = &self.publish.shared;
        match request {
            ControlRequest::Kill { pid, reason } => kill(shared, pid, &reason),
            ControlRequest::Restart { pid } => {
                match crate::supervisor::restart_process(shared, pid).await {
                    Ok(()) => ControlReply::Ok,
                    Err(e) => ControlReply::Error(e),
                }
            }
            ControlRequest::SetInterval { ms } => {
                // Clamped to both ends; the sampler ticks at the shortest wish (`interval.rs`).
                self.hub.asks.ask(self.subscriber, ms);
                self.hub.wake.notify_one();
                ControlReply::Ok
            }
            ControlRequest::RenderState { pid } => render_state(shared, pid).await,
            ControlRequest::Logs { pid } => logs(shared, pid),
            ControlRequest::MessageTypes { pids } => message_types(shared, &pids),
            ControlRequest::PeekQueue { pid, n } => match target(shared, pid) {
                Ok(cell) => ControlReply::Queue(crate::peek::peek(&cell, n)),
                Err(e) => e,
            },
            ControlRequest::TraceStart { target, spec } => self.traces.start(shared, target, spec),
            ControlRequest::TraceStop { trace } => self.traces.stop(trace),
        }
    }
}

fn target(shared: &Shared, pid: Pid) -> Result<Arc<ProcessCell>, ControlReply> {
    match shared.table.get(pid) {
        Some(cell) if !cell.has_exited() => Ok(cell),
        _ => Err(ControlReply::Error(format!("no such process: {pid}"))),
    }
}

/// An exit reason typed by a user: `normal`, `shutdown`, `kill`, or anything else as an error.
fn parse_reason(reason: &str) -> ExitReason {
    match reason.trim() {
        "normal" => ExitReason::Normal,
        "shutdown" => ExitReason::Shutdown,
        "kill" | "killed" => ExitReason::Killed,
        other => ExitReason::Error(other.to_string()),
    }
}

/// `kill` is brutal (no `terminate`); any other reason is an exit signal from [`OBSERVER_PID`].
fn kill(shared: &Shared, pid: Pid, reason: &str) -> ControlReply {
    let cell = match target(shared, pid) {
        Ok(cell) => cell,
        Err(e) => return e,
    };
    let reason = parse_reason(reason);
    tracing::info!(%pid, %reason, "exit requested by an observer");
    if reason == ExitReason::Killed {
        cell.kill();
    } else {
        cell.exit_signal(OBSERVER_PID, reason);
    }
    ControlReply::Ok
}

/// Ask the process to render its state (only if it opted in), within [`RENDER_TIMEOUT`].
async fn render_state(shared: &Shared, pid: Pid) -> ControlReply {
    let cell = match target(shared, pid) {
        Ok(cell) => cell,
        Err(e) => return e,
    };
    if !cell.meta.inspectable() {
        return ControlReply::Error(format!(
            "{pid} does not allow its state to be shown (its GenServer sets INSPECTABLE = false)"
        ));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    if let crate::queue::Pushed::Closed(_) = cell.sys.push(Sys::Inspect(tx), None, false, None) {
        return ControlReply::Error(format!("no such process: {pid}"));
    }
    match tokio::time::timeout(RENDER_TIMEOUT, rx).await {
        Ok(Ok(Some(text))) => ControlReply::State(text),
        Ok(Ok(None)) => ControlReply::Error(format!("{pid} cannot render its state")),
        Ok(Err(_)) => ControlReply::Error(format!("{pid} exited before answering")),
        Err(_) => ControlReply::Error(format!(
            "{pid} did not render its state within {} ms (busy?)",
            RENDER_TIMEOUT.as_millis()
        )),
    }
}

/// The process's last log lines (see `logs.rs`), also after it exited while the table keeps it.
fn logs(shared: &Shared, pid: Pid) -> ControlReply {
    match shared.table.get(pid) {
        Some(cell) => {
            let lines = cell.logs.get().map(|l| {
                let l = l.lock().unwrap_or_else(|p| p.into_inner());
                l.iter().cloned().collect()
            });
            ControlReply::Logs(lines.unwrap_or_default())
        }
        None => ControlReply::Error(format!("no such process: {pid}")),
    }
}

/// Per-type counters of the listed processes (at most `MAX_TYPE_PIDS`; gone ones left out).
fn message_types(shared: &Shared, pids: &[Pid]) -> ControlReply {
    let read = pids.iter().take(beamline_wire::MAX_TYPE_PIDS);
    let found = read.filter_map(|pid| shared.table.get(*pid));
    ControlReply::MessageTypes(found.map(|c| crate::msg_types::read(&c)).collect())
}
