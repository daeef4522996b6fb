//! Starting a child from its spec, and stopping it by its shutdown policy. Both run on the
//! supervisor's own task, so the child is linked to and parented by the supervisor.

use super::spec::{ChildKind, ChildSpec, Shutdown, StartArgs};
use crate::panic::guarded;
use crate::process::{SlotInfo, Sys};
use crate::spawn::SpawnOpts;
use crate::{ExitReason, Next, ProcessRef, Runtime, StartError};
use beamline_wire::{Pid, ProcessKind};
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

/// Start one child. `Ok(None)` when its `init` asked to be ignored.
pub(crate) async fn start(
    rt: &Runtime,
    supervisor: Pid,
    spec: &ChildSpec,
    slot: &Arc<SlotInfo>,
    extra: Option<Arc<dyn Any + Send + Sync>>,
) -> Result<Option<ProcessRef>, StartError> {
    let mut opts = SpawnOpts::new().mailbox(spec.mailbox).link();
    opts.name = spec.name.clone();
    opts.parent = Some(supervisor);
    opts.child_id = Some(spec.id.clone());
    opts.slot = Some(slot.clone());
    if spec.kind == ChildKind::Supervisor {
        opts.kind = Some(ProcessKind::Supervisor);
    }
    let args = StartArgs {
        rt: rt.clone(),
        opts,
        extra,
    };
    // A start function that panics (OTP: one that raises) fails this start only; the
    // supervisor lives on and treats it like any failed start.
    let started = guarded(async { (spec.start)(args).await })
        .await
        .unwrap_or_else(|panic| Err(StartError::InitFailed(ExitReason::Panic(panic))));
    match started {
        Ok(p) => {
            let restarts = slot.restarts.load(Relaxed);
            if restarts > 0 {
                // The "restarting child" event names the reason; this one, the replacement.
                tracing::info!(supervisor = %supervisor, child = %spec.id, pid = %p.pid(), restarts, "child restarted");
            }
            Ok(Some(p))
        }
        Err(StartError::Ignored) => Ok(None),
        Err(e) => {
            tracing::warn!(supervisor = %supervisor, child = %spec.id, error = %e, "child failed to start");
            Err(e)
        }
    }
}

/// Count a restart on the slot (it survives the process being replaced).
pub(crate) fn count_restart(slot: &SlotInfo) {
    slot.restarts.fetch_add(1, Relaxed);
}

/// Stop a child by its shutdown policy and wait for it to be gone.
///
/// A child that traps exits gets the supervisor's `shutdown` as an exit message (OTP's
/// `exit(Child, shutdown)`), so it may stop with a reason of its own; any other child is asked
/// to stop, so its `terminate` runs (see the README's OTP table). Either way a timeout kills it.
pub(crate) async fn stop(supervisor: Pid, child: &ProcessRef, shutdown: Shutdown) -> ExitReason {
    let cell = &child.cell;
    let limit = match shutdown {
        Shutdown::Brutal => {
            cell.kill();
            return cell.wait_exit().await;
        }
        Shutdown::Timeout(t) => Some(t),
        Shutdown::Infinity => None,
    };
    if cell.trap_exit.load(Relaxed) {
        cell.exit_signal(supervisor, ExitReason::Shutdown);
    } else {
        cell.send_sys(Sys::Stop(ExitReason::Shutdown));
    }
    let Some(limit) = limit else {
        return cell.wait_exit().await;
    };
    match tokio::time::timeout(limit, cell.wait_exit()).await {
        Ok(reason) => reason,
        Err(_) => {
            cell.kill();
            cell.wait_exit().await
        }
    }
}

/// What every supervisor does first in `init`: trap its children's exits, and publish its
/// strategy, intensity and a way for the observer to ask it for a restart. Returns its parent.
pub(crate) fn set_up<S: crate::GenServer>(
    ctx: &mut crate::Ctx<S>,
    strategy: &'static str,
    max_restarts: u32,
    period: std::time::Duration,
    restart_request: fn(Pid, tokio::sync::oneshot::Sender<Result<(), String>>) -> S::Info,
) -> Option<Pid>
where
    S::Info: Send,
{
    ctx.trap_exit(true);
    let cell = ctx
        .runtime()
        .shared
        .table
        .get(ctx.pid())
        .expect("a starting process is in the table");
    if let Some(stats) = &cell.supervisor {
        let _ = stats.strategy.set(strategy);
        stats.max_restarts.store(max_restarts, Relaxed);
        stats.period_ms.store(period.as_millis() as u64, Relaxed);
        let me = ctx.myself().clone();
        let _ = stats.restart_hook.set(Box::new(move |pid, tx| {
            let _ = me.send(restart_request(pid, tx));
        }));
    }
    cell.meta.parent()
}

/// A restart refused because it would exceed the restart intensity.
pub(crate) struct GiveUp;

/// What a supervisor does after a restart: carry on, or, after too many restarts in the
/// window, stop with `shutdown` (its children first, in its `terminate`), as OTP's supervisor
/// does when the restart intensity is exceeded.
pub(crate) fn after_restart(me: Pid, restarted: Result<(), GiveUp>) -> Next {
    match restarted {
        Ok(()) => Next::noreply(),
        Err(GiveUp) => {
            tracing::error!(supervisor = %me, "restart intensity exceeded; shutting down");
            Next::stop(ExitReason::Shutdown)
        }
    }
}

/// Publish what a supervisor's observers read: running children, children restarting, and the
/// restarts counted in the intensity window.
pub(crate) fn publish(rt: &Runtime, me: Pid, running: u32, restarting: u32, in_window: u32) {
    if let Some(cell) = rt.shared.table.get(me)
        && let Some(stats) = &cell.supervisor
    {
        stats.children.store(running, Relaxed);
        stats.restarting.store(restarting, Relaxed);
        stats.restarts_in_window.store(in_window, Relaxed);
    }
}
