//! The life of a process after `init`: wait for an event (system messages first), handle what
//! is queued back to back in a batch, account for the batch, yield after a full one.
//!
//! Batching keeps the instrumented message path within a few nanoseconds of tokio's bare
//! channel: after one message the loop takes whatever else is already queued (up to
//! [`BATCH`]) without going back to the scheduler, and reads the clock once per batch rather
//! than once per message. This is the hot path: measure `bench-scale` before and after a change.

use super::core::Core;
use super::dispatch::{Event, Flow, cast, handle, measure, settle, terminate, trace_received};
use crate::handle::Envelope;
use crate::mailbox::Rx;
use crate::process::{ProcessCell, Sys};
use crate::server::{GenServer, Next};
use crate::stats::{StatusCode, bump};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::Poll;
use std::time::Duration;

/// Messages handled back to back before the loop yields to the scheduler: tokio's own
/// cooperative budget (a task reading a tokio channel yields after 128 operations too), so a
/// process is as fair to its neighbours as a plain tokio task. A yield on a current-thread
/// runtime also polls the I/O driver (a system call), which is why it is not more frequent.
const BATCH: u32 = 128;

/// How the loop hands one event to its callback: [`Plain`] (the message path as measured), or
/// with feature `otlp` and `Builder::message_spans`, inside a span (`spans.rs`). Chosen once
/// per process at spawn, so the plain loop carries no check.
pub(super) trait Handler {
    /// Whether the loop may await a cast's callback directly (`dispatch::cast`, the hot path)
    /// rather than through [`Handler::handle`].
    const DIRECT_CASTS: bool;

    /// Handle one event.
    fn handle<S: GenServer>(core: &mut Core<S>, event: Event<S>)
    -> impl Future<Output = Flow> + '_;
}

/// [`dispatch::handle`](super::dispatch::handle) as it is.
pub(super) struct Plain;

impl Handler for Plain {
    const DIRECT_CASTS: bool = true;

    #[inline]
    fn handle<S: GenServer>(
        core: &mut Core<S>,
        event: Event<S>,
    ) -> impl Future<Output = Flow> + '_ {
        handle(core, event)
    }
}

/// Wait for an event, handle a batch, account for it; until a stop or an exit.
/// (A plain `fn` returning an `async move` block rather than an `async fn`: the core is then
/// stored once in the task, not once as the argument and again as a local.)
#[allow(clippy::manual_async_fn)] // deliberate: see above
pub(super) fn run<S: GenServer, H: Handler>(mut core: Core<S>) -> impl Future<Output = ()> {
    async move {
        let cell = core.cell.clone();
        let instrument = cell.shared.instrument;
        // What the last callback asked for (OTP's timeout and hibernate), kept as two fields
        // rather than its whole `Next`: this is stored in every process's future.
        let mut timeout = core.ctx.idle_timeout.take();
        let mut hibernate = false;
        // Messages handled since the last yield (a wait for messages is not counted as one:
        // at worst that brings a yield forward).
        let mut since_yield = 0u32;
        if instrument {
            // `init` returned: leaving `Starting` changes no counter the sampler watches, so
            // put the process on its list (once per process, not per message).
            cell.stats.set_status(StatusCode::Idle, cell.now_ns());
            cell.mark_dirty();
        }
        let reason = loop {
            before_wait(&mut core, hibernate);
            let mut event = next_event(&cell, &mut core.rx, timeout).await;
            if let Event::Sys(Sys::Measure) = event {
                // Not a batch: measure and wait again as before (timeout restarted, as OTP's
                // `system_continue` does).
                measure(&cell, core.state.as_ref().expect("state is set after init"));
                continue;
            }
            if instrument {
                begin_batch(&cell);
            }
            // Events of this batch already charged with their time (see `charge_part`; the
            // batch's start, or its last part's end, is `Stats::batch_start_ns`, not a local:
            // the loop's future must stay within its 512 bytes).
            let mut charged = 0;
            // A message trace (`trace.rs`) is looked for once per batch (and every 8 messages
            // within it, below): one relaxed load while untraced.
            let mut traced = cell.traced.load(Relaxed);
            // Handle what is already queued back to back (system messages first), up to BATCH,
            // until a callback asks for something other than the default next step.
            let mut handled = 0u32;
            let flow = loop {
                if traced {
                    event = trace_received(&cell, event);
                }
                // The hot path: a cast's callback awaited right here (the event is moved out
                // whole in both branches; see `dispatch::cast`).
                let flow = if H::DIRECT_CASTS && matches!(event, Event::Msg(Envelope::Cast(..))) {
                    settle(&cell, cast(&mut core, event).await)
                } else {
                    H::handle(&mut core, event).await
                };
                // The traced process's callback returned (a no-op unless a message was noted).
                if traced {
                    crate::trace::handled(&cell);
                }
                handled += 1;
                // Counts reach the shared counters every 8 messages within a batch too: a batch
                // of slow callbacks (128 calls of 40 ms) would otherwise show no handled rate
                // for seconds and then all of it at once.
                // A trace switched on during the batch starts here too, not 128 messages (five
                // seconds of 40 ms calls) later.
                if instrument && handled.is_multiple_of(8) {
                    crate::msg_types::flush(&cell, &mut core.run);
                    traced = cell.traced.load(Relaxed);
                    // And their time, once it is worth a clock read's share: otherwise a
                    // type's count ran ahead of its busy time for the whole batch (the demo's
                    // 40 ms calls showed a mean of 24 ms).
                    if charge_part(&cell, handled - charged) {
                        charged = handled;
                    }
                }
                match &flow {
                    Flow::Continue(n) if carries_on(n) && handled < BATCH => {}
                    _ => break flow,
                }
                // `try_pop` on the (almost always empty) system queue is one relaxed load
                // unless something is queued.
                if let Some(sys) = cell.sys.try_pop() {
                    event = Event::Sys(sys);
                } else if let Some(env) = core.rx.try_recv() {
                    event = Event::Msg(env);
                } else {
                    break flow;
                }
            };
            if instrument {
                crate::msg_types::flush(&cell, &mut core.run);
                end_batch(&cell, handled - charged);
            }
            // Only what the next round needs stays live across these awaits (a stop leaves the
            // loop first), which keeps every process's future small.
            match flow {
                Flow::Continue(mut n) => {
                    if let Some(reason) = n.stop.take() {
                        break reason;
                    }
                    (timeout, hibernate) = (n.timeout, n.hibernate);
                }
                Flow::Die(reason) => {
                    core.finish(reason);
                    return;
                }
            }
            // Every BATCH messages, give the scheduler a turn, as the BEAM does after a budget
            // of reductions, so a flooded process cannot starve the others on its thread: the
            // mailbox never returns `Pending` while messages wait. Counted across batches,
            // since a callback that returns an idle timeout or hibernates ends its batch early.
            since_yield += handled;
            if since_yield >= BATCH {
                since_yield = 0;
                tokio::task::yield_now().await;
            }
        };
        terminate(&mut core, reason.clone()).await;
        core.finish(reason);
    }
}

/// Whether a callback asked for nothing but the next message (no stop, timeout or hibernation),
/// so the batch goes on. (Field by field: cheaper than comparing with `Next::default()`.)
#[inline(always)]
fn carries_on(n: &Next) -> bool {
    n.stop.is_none() && n.timeout.is_none() && !n.hibernate
}

/// Before waiting: hibernate if asked, say the process is idle, measure the state if an
/// observer asked.
#[inline]
fn before_wait<S: GenServer>(core: &mut Core<S>, hibernate: bool) {
    let cell = &core.cell;
    let stats = &cell.stats;
    let instrument = cell.shared.instrument;
    if hibernate {
        if let Some(state) = core.state.as_mut() {
            state.hibernate();
        }
        bump(&stats.hibernations, 1);
        stats.set_status(StatusCode::Hibernating, cell.now_ns());
    } else if instrument {
        stats.status.store(StatusCode::Idle as u8, Relaxed);
    }
    if instrument && stats.measure_requested.swap(false, Relaxed) {
        measure(cell, core.state.as_ref().expect("state is set after init"));
    }
}

/// A batch starts: one clock read, the status's start, the mailbox length as a peak candidate.
/// The start holds until a message of the batch stamps its own, when its callback first
/// awaits ([`Stats::since_is_stale`](crate::stats::Stats::since_is_stale)); the first message
/// does too (at most its callback's code before the await later than this: cheaper than
/// telling a first mailbox message from a timeout or system message here).
#[inline]
fn begin_batch(cell: &ProcessCell) {
    let stats = &cell.stats;
    let now = cell.now_ns();
    stats.batch_start_ns.store(now, Relaxed);
    stats.status_since_ns.store(now, Relaxed);
    // No message of this batch has its start yet (the first is counted when taken).
    stats
        .since_msg
        .store(stats.dequeued.load(Relaxed) as u32, Relaxed);
    stats.note_peak();
}

/// Within a batch, every 8 events: if the `n` events since the batch's start (or its last
/// part's end) took at least [`PART_MIN_NS`], charge them their time now (busy time, the
/// per-type busy time and the longest handling, as a batch's end does), and start the next
/// part there. Whether it did. Shorter parts wait for the batch's end: a fast batch pays one
/// clock read per 8 events and nothing else.
#[inline]
fn charge_part(cell: &ProcessCell, n: u32) -> bool {
    let stats = &cell.stats;
    let now = cell.now_ns();
    let took = now.saturating_sub(stats.batch_start_ns.load(Relaxed));
    if took < PART_MIN_NS || n == 0 {
        return false;
    }
    bump(&stats.busy_ns, took);
    // Busy time in progress now counts from here (`Stats::busy_at`).
    stats.batch_start_ns.store(now, Relaxed);
    charge(cell, took / u64::from(n));
    true
}

/// Parts of a batch shorter than this are charged at the batch's end (see [`charge_part`]).
const PART_MIN_NS: u64 = 1_000_000;

/// The per-type busy time and the longest handling, for events that took `per` ns each.
#[inline]
fn charge(cell: &ProcessCell, per: u64) {
    crate::msg_types::charge(cell, per);
    let stats = &cell.stats;
    if per > stats.max_handle_ns.load(Relaxed) {
        stats.max_handle_ns.store(per, Relaxed);
    }
}

/// A batch ended, its last `handled` events (those not charged by [`charge_part`]) begun at
/// `Stats::batch_start_ns`: busy time, the longest handling (their mean per event), and a mark
/// for the sampler.
#[inline]
fn end_batch(cell: &Arc<ProcessCell>, handled: u32) {
    let stats = &cell.stats;
    let end = cell.now_ns();
    let took = end.saturating_sub(stats.batch_start_ns.load(Relaxed));
    bump(&stats.busy_ns, took);
    stats.batch_start_ns.store(0, Relaxed);
    if handled > 0 {
        charge(cell, took / u64::from(handled));
    }
    cell.mark_dirty();
}

/// Wait for what comes next: a system message first, then the mailbox, then the idle timeout.
async fn next_event<S: GenServer>(
    cell: &ProcessCell,
    rx: &mut Rx<Envelope<S>>,
    timeout: Option<Duration>,
) -> Event<S> {
    // Boxed because it is rare: an unboxed `Sleep` would make every process's future larger.
    let mut sleep = timeout.map(|t| Box::pin(tokio::time::sleep(t)));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(sys) = cell.sys.poll_pop(cx) {
            return Poll::Ready(Event::Sys(sys));
        }
        if let Poll::Ready(env) = rx.poll_recv(cx) {
            return Poll::Ready(Event::Msg(env));
        }
        match sleep.as_mut().map(|s| s.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Event::Timeout),
            _ => Poll::Pending,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::run;
    use crate::ctx::Ctx;
    use crate::server::{GenServer, InitError};

    struct Echo;
    impl GenServer for Echo {
        type Args = ();
        type Call = u64;
        type Cast = u64;
        type Info = ();
        type Reply = u64;
        async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
            Ok(Echo)
        }
    }

    /// The size of what `f` returns, without calling it.
    fn returned<A, R>(_: impl FnOnce(A) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// Every process's task stores this future, so its size is the per-process cost the docs
    /// quote (ARCHITECTURE.md, "What one process costs"): splitting the loop into functions
    /// must not make it larger. 544 B when measured on the unsplit loop; 504 B since the loop
    /// keeps the last callback's timeout and hibernate instead of its whole `Next` and moves
    /// each event out whole (with the tokio task around it, that brought a process's task from
    /// 768 to 640 bytes: tokio rounds a task up to 128 bytes).
    #[test]
    fn the_loops_future_stays_small() {
        let size = returned(run::<Echo, super::Plain>);
        eprintln!("loop future: {size} B");
        assert!(size <= 512, "the loop's future grew to {size} B");
    }
}
