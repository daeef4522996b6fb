//! The local channel: [`Observation`], an in-process subscription to the sampler, and the
//! control requests an observer may make.
//!
//! A subscription never slows the runtime down: the sampler publishes each tick once, into a
//! ring of [`crate::sampler::TICK_BACKLOG`] ticks, and never waits for anyone. A subscriber that
//! falls further behind than the ring loses the oldest ticks; it then waits for a fresh snapshot
//! (which the sampler builds on its next tick) and [`Observation::missed`] counts what it lost.

use crate::process::{ProcessCell, Sys};
use crate::sampler::{Hub, MIN_INTERVAL, Tick};
use crate::{ExitReason, Runtime};
use beamline_wire::{ControlReply, ControlRequest, Pid, ServerMsg, Welcome};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::broadcast;

/// How long a process has to render its state for [`ControlRequest::RenderState`].
pub const RENDER_TIMEOUT: Duration = Duration::from_secs(2);

/// The pid control requests act as (`exit` signals from an observer come from `<0.0.0>`).
pub const OBSERVER_PID: Pid = Pid(0);

/// A live subscription to a runtime's samples: a [`ServerMsg::Welcome`] first, then a
/// [`ServerMsg::Snapshot`], then one [`ServerMsg::Delta`] per sampling interval.
///
/// Created by [`Runtime::observe`]. Dropping it unsubscribes; once nobody subscribes the
/// sampler goes idle.
pub struct Observation {
    rt: Runtime,
    hub: Arc<Hub>,
    rx: broadcast::Receiver<Arc<Tick>>,
    welcome: Option<Welcome>,
    pending: VecDeque<ServerMsg>,
    need_snapshot: bool,
    /// Set after a lag: ticks passed over while waiting for the snapshot count as missed.
    skipping: bool,
    missed: u64,
}

impl std::fmt::Debug for Observation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observation")
            .field("missed", &self.missed)
            .finish_non_exhaustive()
    }
}

impl Observation {
    pub(crate) fn new(rt: &Runtime, with_welcome: bool) -> Observation {
        let hub = rt.publish.hub(&rt.shared, &rt.publish);
        let rx = hub.tx.subscribe();
        hub.request_snapshot();
        Observation {
            rt: rt.clone(),
            welcome: with_welcome.then(|| crate::sampler::welcome(&rt.shared)),
            hub,
            rx,
            pending: VecDeque::new(),
            need_snapshot: true,
            skipping: false,
            missed: 0,
        }
    }

    /// The next message: `Welcome` first, then a `Snapshot`, then `Delta`s (a large snapshot or
    /// delta comes as several frames with consecutive sequence numbers). `None` once the runtime's
    /// sampler has stopped.
    ///
    /// Cancel safety: cancel safe. Messages already taken from the sampler are kept in the
    /// subscription and returned by the next call, so dropping the future loses nothing.
    pub async fn recv(&mut self) -> Option<ServerMsg> {
        loop {
            if let Some(w) = self.welcome.take() {
                return Some(ServerMsg::Welcome(w));
            }
            if let Some(m) = self.pending.pop_front() {
                return Some(m);
            }
            match self.rx.recv().await {
                Ok(tick) => {
                    if !self.need_snapshot {
                        self.pending.extend(tick.deltas.iter().cloned());
                    } else if let Some(snap) = &tick.snapshot {
                        self.pending.extend(snap.iter().cloned());
                        self.need_snapshot = false;
                        self.skipping = false;
                    } else {
                        if self.skipping {
                            self.lost(1);
                        }
                        self.hub.request_snapshot();
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.lost(n);
                    self.need_snapshot = true;
                    self.skipping = true;
                    self.hub.request_snapshot();
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    fn lost(&mut self, n: u64) {
        self.missed += n;
        self.hub.missed_total.fetch_add(n, Relaxed);
    }

    /// Updates (sampler ticks) this subscriber lost because it fell behind; each loss was
    /// followed by a fresh snapshot.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// Act on the runtime: kill, restart, change the interval, render a state, fetch logs.
    ///
    /// Cancel safety: cancel safe in the sense that dropping the future never leaves the runtime
    /// inconsistent; a kill or interval change already made stays made, and a rendering in
    /// progress is discarded.
    pub async fn control(&self, request: ControlRequest) -> ControlReply {
        control(&self.rt, request).await
    }
}

fn target(rt: &Runtime, pid: Pid) -> Result<Arc<ProcessCell>, ControlReply> {
    match rt.shared.table.get(pid) {
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

/// Carry out one control request.
pub(crate) async fn control(rt: &Runtime, request: ControlRequest) -> ControlReply {
    match request {
        ControlRequest::Kill { pid, reason } => match target(rt, pid) {
            Ok(cell) => {
                let reason = parse_reason(&reason);
                tracing::info!(%pid, %reason, "exit requested by an observer");
                if reason == ExitReason::Killed {
                    cell.kill();
                } else {
                    cell.exit_signal(OBSERVER_PID, reason);
                }
                ControlReply::Ok
            }
            Err(e) => e,
        },
        ControlRequest::Restart { pid } => restart(rt, pid).await,
        ControlRequest::SetInterval { ms } => {
            let ms = ms.max(MIN_INTERVAL.as_millis() as u64);
            rt.set_interval(Duration::from_millis(ms));
            ControlReply::Ok
        }
        ControlRequest::RenderState { pid } => match target(rt, pid) {
            Ok(cell) if !cell.meta.inspectable => ControlReply::Error(format!(
                "{pid} does not allow its state to be shown (its GenServer sets INSPECTABLE = false)"
            )),
            Ok(cell) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                if let crate::queue::Pushed::Closed(_) =
                    cell.sys.push(Sys::Inspect(tx), None, false, None)
                {
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
            Err(e) => e,
        },
        ControlRequest::Logs { pid } => match rt.shared.table.get(pid) {
            Some(cell) => {
                let logs = cell.logs.lock().unwrap_or_else(|p| p.into_inner());
                ControlReply::Logs(logs.iter().flat_map(|l| l.iter().cloned()).collect())
            }
            None => ControlReply::Error(format!("no such process: {pid}")),
        },
    }
}

async fn restart(rt: &Runtime, pid: Pid) -> ControlReply {
    match crate::supervisor::restart_process(rt, pid).await {
        Ok(()) => ControlReply::Ok,
        Err(e) => ControlReply::Error(e),
    }
}
