//! One event to one callback: which callback a message, a timeout or a system message goes
//! to, what is counted on the way, and what the loop does next ([`Flow`]). A panic in a
//! callback becomes a stop with the panic as reason (`terminate` then runs, as in OTP).

use super::core::Core;
use crate::ExitReason;
use crate::handle::{Envelope, seen};
use crate::panic::{Guarded, guarded};
use crate::process::{ProcessCell, Sys};
use crate::server::Message;
use crate::server::{CallReply, GenServer, Info, Next};
use crate::stats::{StatusCode, bump};
use crate::trace;
use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use tokio::sync::oneshot;

/// What the loop waited for.
pub(super) enum Event<S: GenServer> {
    Sys(Sys),
    Msg(Envelope<S>),
    Timeout,
}

/// What to do after a callback.
pub(super) enum Flow {
    Continue(Next),
    /// Exit without `terminate` (an untrapped exit signal).
    Die(ExitReason),
}

/// A callback's result: what it asked for next, or the message of its panic.
pub(super) type Outcome = Result<Next, String>;

/// A cast taken from the mailbox: counted, then its callback, guarded. The batch loop awaits it
/// directly (the hot path: no [`handle`] future built, polled and dropped around it). It takes
/// the whole event (a cast) so that the loop moves its event out entirely: a cast's fields
/// matched inside the loop kept the rest of the event in the loop's future, 40 bytes more per
/// process.
#[inline(always)]
pub(super) fn cast<S: GenServer>(
    core: &mut Core<S>,
    event: Event<S>,
) -> Guarded<impl Future<Output = Next> + '_> {
    let cell = &core.cell;
    let Event::Msg(Envelope::Cast(msg, stamp)) = event else {
        unreachable!("only casts are handed to `cast`")
    };
    if cell.shared.instrument {
        let key = crate::msg_types::cast_key(&msg);
        crate::msg_types::note(cell, &mut core.run, key);
        taken(cell, StatusCode::HandlingCast, stamp);
    }
    let state = core.state.as_mut().expect("state is set after init");
    guarded(state.handle_cast(msg, &mut core.ctx))
}

/// What the loop does after a callback: carry on as it asked, or stop with its panic.
#[inline]
pub(super) fn settle(cell: &ProcessCell, outcome: Outcome) -> Flow {
    match outcome {
        Ok(next) => Flow::Continue(next),
        Err(panic) => crashed(cell, panic),
    }
}

/// A callback panicked: log it; the process stops with the panic as its reason.
#[cold]
fn crashed(cell: &ProcessCell, panic: String) -> Flow {
    tracing::error!(pid = %cell.pid, name = cell.meta.name().map(tracing::field::display), behaviour = cell.meta.behaviour(), panic = %panic, "process crashed");
    Flow::Continue(Next::stop(ExitReason::Panic(panic)))
}

/// Handle one event. The mailbox's messages are handled inline (the hot path: no nested
/// future); the rare system messages in [`system`].
/// (Not an `async fn`, for the same reason as `process_loop::run`: the event is stored once.)
#[allow(clippy::manual_async_fn)]
pub(super) fn handle<S: GenServer>(
    core: &mut Core<S>,
    event: Event<S>,
) -> impl Future<Output = Flow> + '_ {
    async move {
        let cell = &core.cell;
        let instrument = cell.shared.instrument;
        let outcome = match event {
            Event::Msg(env) => {
                let state = core.state.as_mut().expect("state is set after init");
                let ctx = &mut core.ctx;
                if instrument {
                    let key = crate::msg_types::key(&env);
                    crate::msg_types::note(cell, &mut core.run, key);
                }
                match env {
                    Envelope::Call(msg, reply, stamp) => {
                        if instrument {
                            taken(cell, StatusCode::HandlingCall, stamp);
                        }
                        ctx.reply = Some(reply);
                        let r = guarded(state.handle_call(msg, ctx)).await;
                        let reply = ctx.reply.take();
                        match r {
                            Ok(CallReply { reply: value, next }) => {
                                if let (Some(value), Some(tx)) = (value, reply) {
                                    send_reply::<S>(&core.cell, tx, value);
                                }
                                Ok(next)
                            }
                            Err(panic) => {
                                core.dying_reply = reply;
                                Err(panic)
                            }
                        }
                    }
                    Envelope::Cast(msg, stamp) => {
                        if instrument {
                            taken(cell, StatusCode::HandlingCast, stamp);
                        }
                        guarded(state.handle_cast(msg, ctx)).await
                    }
                    Envelope::Info(msg, stamp) => {
                        if instrument {
                            taken(cell, StatusCode::HandlingInfo, stamp);
                        }
                        guarded(state.handle_info(Info::Msg(msg), ctx)).await
                    }
                }
            }
            Event::Timeout => {
                info_status(cell);
                let state = core.state.as_mut().expect("state is set after init");
                guarded(state.handle_info(Info::Timeout, &mut core.ctx)).await
            }
            Event::Sys(sys) => match system(core, sys).await {
                Ok(outcome) => outcome,
                Err(reason) => return Flow::Die(reason),
            },
        };
        settle(&core.cell, outcome)
    }
}

/// Answer a call, noting the reply if the process is traced. (`handle` passes `&core.cell`
/// afresh: keeping its `cell` borrow alive across the callback's await made every process's
/// future 8 bytes larger.)
#[inline]
fn send_reply<S: GenServer>(cell: &ProcessCell, tx: oneshot::Sender<S::Reply>, value: S::Reply) {
    if cell.traced.load(Relaxed) {
        let msg = Message::<S>::Reply(&value);
        trace::replied(cell, seen(&msg), || S::format_message(msg));
    }
    let _ = tx.send(value);
}

/// The traced process is about to handle `event`: note a message (kind, type, size, sender,
/// text if the server gives one) until its callback returns; the sender's pid leaves the stamp.
/// Only the traced path moves the event.
#[cold]
#[inline(never)]
pub(super) fn trace_received<S: GenServer>(cell: &ProcessCell, mut event: Event<S>) -> Event<S> {
    fn note<S: GenServer>(cell: &ProcessCell, msg: Message<'_, S>, stamp: &mut u64) {
        *stamp = trace::received(cell, seen(&msg), || S::format_message(msg), *stamp);
    }
    match &mut event {
        Event::Msg(Envelope::Call(m, _, stamp)) => note::<S>(cell, Message::Call(m), stamp),
        Event::Msg(Envelope::Cast(m, stamp)) => note::<S>(cell, Message::Cast(m), stamp),
        Event::Msg(Envelope::Info(m, stamp)) => note::<S>(cell, Message::Info(m), stamp),
        Event::Sys(_) | Event::Timeout => {}
    }
    event
}

/// A system message. `Err` is an exit without `terminate` (a kill, an untrapped exit signal).
#[allow(clippy::manual_async_fn)] // as `handle`
fn system<S: GenServer>(
    core: &mut Core<S>,
    sys: Sys,
) -> impl Future<Output = Result<Outcome, ExitReason>> + '_ {
    async move {
        let cell = &core.cell;
        let state = core.state.as_mut().expect("state is set after init");
        let ctx = &mut core.ctx;
        Ok(match sys {
            Sys::Stop(reason) => Ok(Next::stop(reason)),
            Sys::Kill => return Err(ExitReason::Killed),
            Sys::Exit { from, reason } => {
                if cell.trap_exit.load(Relaxed) {
                    info_status(cell);
                    // The parent's exit ends a trapping process whatever `handle_info`
                    // does, as in OTP's gen_server; `handle_info` may pick its own reason.
                    // (Boxed: held across the callback, in every process's future.)
                    let parent = (cell.meta.parent == from.0).then(|| reason.clone());
                    let reason = *reason;
                    let r = guarded(state.handle_info(Info::Exit { from, reason }, ctx)).await;
                    r.map(|next| match parent {
                        Some(reason) if next.stop.is_none() => Next::stop(*reason),
                        _ => next,
                    })
                } else if *reason != ExitReason::Normal {
                    // Only `normal` is ignored, as in OTP: `shutdown` ends it too.
                    return Err(*reason);
                } else {
                    Ok(Next::noreply())
                }
            }
            Sys::Down(down) => {
                cell.monitor_fired(down.monitor);
                info_status(cell);
                guarded(state.handle_info(Info::Down(*down), ctx)).await
            }
            // Within a batch: the size is measured before the process next waits.
            Sys::Measure => Ok(Next::noreply()),
            Sys::Inspect(tx) => {
                let rendering = S::INSPECTABLE.then(|| {
                    let status = crate::server::FormatStatus {
                        state: state.inspect(),
                    };
                    bounded(state.format_status(status).state)
                });
                let _ = tx.send(rendering);
                Ok(Next::noreply())
            }
        })
    }
}

/// Count a message taken from the mailbox (the receiving side's per-message accounting, when
/// instrumented): taken out, what the process is now doing and the message's wait (if it was
/// stamped). Its kind and type are counted by `msg_types::note`, added up per run of one type.
#[inline(always)]
fn taken(cell: &ProcessCell, status: StatusCode, stamp: u64) {
    bump(&cell.stats.dequeued, 1);
    cell.stats.status.store(status as u8, Relaxed);
    waited(cell, stamp);
}

/// Record the mailbox wait of a stamped message.
#[inline]
fn waited(cell: &ProcessCell, stamp: u64) {
    if stamp != 0 {
        let now = cell.now_ns();
        bump(&cell.stats.wait_ns, now.saturating_sub(stamp));
        bump(&cell.stats.wait_samples, 1);
    }
}

/// Count a `handle_info` that did not come from the mailbox (timeout, exit signal, down).
fn info_status(cell: &ProcessCell) {
    if cell.shared.instrument {
        cell.stats
            .status
            .store(StatusCode::HandlingInfo as u8, Relaxed);
        bump(&cell.stats.handled_info, 1);
    }
}

/// State renderings are cut to this many bytes.
const MAX_RENDERING: usize = 4096;

fn bounded(mut s: String) -> String {
    if s.len() > MAX_RENDERING {
        let mut cut = MAX_RENDERING;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Run `terminate`, catching a panic in it.
pub(super) async fn terminate<S: GenServer>(core: &mut Core<S>, reason: ExitReason) {
    core.cell
        .stats
        .set_status(StatusCode::Terminating, core.cell.now_ns());
    if let Some(state) = core.state.as_mut()
        && let Err(panic) = guarded(state.terminate(&reason, &mut core.ctx)).await
    {
        tracing::error!(pid = %core.cell.pid, panic = %panic, "terminate panicked");
    }
}

/// Measure the state on the process's own task.
pub(super) fn measure<S: GenServer>(cell: &ProcessCell, state: &S) {
    if !cell.shared.instrument {
        return;
    }
    let size = state.state_size();
    cell.stats.state_bytes.store(size.bytes, Relaxed);
    cell.stats.state_deep.store(size.deep, Relaxed);
}
