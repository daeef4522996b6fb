//! Handles: [`ServerRef`] to talk to a `GenServer` with typed messages, [`ProcessRef`] for
//! what works on any process (links, monitors, exit signals, stats), [`ReplyTo`] for deferred
//! replies.
//!
//! (A little over 400 lines: the three handles share one send path, its accounting and the
//! call's wait for a reply, which read best in one place.)

use crate::deadline::Deadlines;
use crate::mailbox::{Sent, Tx};
use crate::process::{ProcessCell, Sys};
use crate::server::Message;
use crate::stats::bump;
use crate::trace::{Seen, TraceKind, type_label};
use crate::wait_edge::WaitEdge;
use crate::{CallError, CastError, ExitReason, GenServer, ProcessInfo, current};
use beamline_wire::Pid;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::oneshot;

/// The default call timeout, as in OTP.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A message in a process's mailbox; `stamp` is the enqueue time for one message in
/// [`WAIT_SAMPLE_EVERY`](crate::stats::WAIT_SAMPLE_EVERY) (0 otherwise).
pub(crate) enum Envelope<S: GenServer> {
    Call(S::Call, oneshot::Sender<S::Reply>, u64),
    Cast(S::Cast, u64),
    Info(S::Info, u64),
}

/// How a message handed to a mailbox ended up, once counted.
enum Outcome<M> {
    Queued,
    Dead,
    Dropped,
    Full(M),
}

/// A handle to any process, whatever its messages: identity, liveness, links, monitors, exit
/// signals and stats.
#[derive(Clone)]
pub struct ProcessRef {
    pub(crate) cell: Arc<ProcessCell>,
    pub(crate) typed: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

impl fmt::Debug for ProcessRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProcessRef({})", self.cell.pid)
    }
}

impl PartialEq for ProcessRef {
    fn eq(&self, other: &Self) -> bool {
        self.cell.pid == other.cell.pid
    }
}

impl ProcessRef {
    /// Its pid.
    pub fn pid(&self) -> Pid {
        self.cell.pid
    }

    /// Whether it is still running.
    pub fn is_alive(&self) -> bool {
        !self.cell.has_exited()
    }

    /// Its exit reason, once it has exited.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.cell.exit.get().cloned()
    }

    /// Wait for it to exit and return the reason. Meanwhile a calling process waits on it in
    /// the wait-for graph, as in a call.
    ///
    /// Cancel safety: cancel safe.
    pub async fn wait(&self) -> ExitReason {
        let _edge = WaitEdge::on(&self.cell);
        self.cell.wait_exit().await
    }

    /// Send an exit signal, like OTP's `Process.exit(pid, reason)`: [`ExitReason::Killed`] kills
    /// at once (no `terminate`); any other reason, `Shutdown` and `ShutdownWith` included, ends
    /// the process (no `terminate`) unless it traps exits, in which case it receives
    /// [`crate::Info::Exit`]. Only `Normal` is ignored by a process that does not trap exits.
    pub fn exit(&self, reason: ExitReason) {
        let from = current::self_pid().unwrap_or(self.cell.pid);
        self.cell.exit_signal(from, reason);
    }

    /// Ask it to stop in an orderly way (OTP's `gen_server:stop`): `terminate` runs with
    /// `reason`. If it has not exited after `timeout`, it is killed. Returns the exit reason.
    ///
    /// Errors, as in OTP: [`CallError::CallingSelf`] at once when a process asks to stop itself
    /// (it would wait for its own exit; return [`crate::Next::stop`] instead), and
    /// [`CallError::NoProcess`] when it had already exited.
    ///
    /// Cancel safety: the stop request is sent at once; dropping the future only stops waiting
    /// (and the kill after the timeout does not happen).
    pub async fn stop(
        &self,
        reason: ExitReason,
        timeout: Option<Duration>,
    ) -> Result<ExitReason, CallError> {
        if current::self_pid() == Some(self.cell.pid) {
            return Err(CallError::CallingSelf);
        }
        if self.cell.has_exited() {
            return Err(CallError::NoProcess);
        }
        self.cell.send_sys(Sys::Stop(reason));
        // Waiting for it to stop is a wait-for edge, as a call is.
        let _edge = WaitEdge::on(&self.cell);
        Ok(match timeout {
            None => self.cell.wait_exit().await,
            Some(t) => match tokio::time::timeout(t, self.cell.wait_exit()).await {
                Ok(r) => r,
                Err(_) => {
                    self.cell.kill();
                    self.cell.wait_exit().await
                }
            },
        })
    }

    /// A point-in-time reading of its counters, without messaging it.
    pub fn info(&self) -> ProcessInfo {
        ProcessInfo::read(&self.cell)
    }

    /// The typed handle, if this process is a `S`.
    pub fn downcast<S: GenServer>(&self) -> Option<ServerRef<S>> {
        self.typed
            .as_ref()
            .and_then(|t| t.downcast_ref::<ServerRef<S>>())
            .cloned()
    }
}

/// A typed handle to a running [`GenServer`]: what you `call`, `cast` and `send` to.
///
/// A handle names one incarnation. After the process exits (even if a supervisor restarts it
/// under the same name) the handle answers [`CallError::NoProcess`]; look the name up again to
/// reach the new one.
pub struct ServerRef<S: GenServer> {
    pub(crate) cell: Arc<ProcessCell>,
    pub(crate) tx: Tx<Envelope<S>>,
}

impl<S: GenServer> Clone for ServerRef<S> {
    fn clone(&self) -> Self {
        ServerRef {
            cell: self.cell.clone(),
            tx: self.tx.clone(),
        }
    }
}

impl<S: GenServer> fmt::Debug for ServerRef<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ServerRef<{}>({})",
            std::any::type_name::<S>(),
            self.cell.pid
        )
    }
}

impl<S: GenServer> PartialEq for ServerRef<S> {
    fn eq(&self, other: &Self) -> bool {
        self.cell.pid == other.cell.pid
    }
}

impl<S: GenServer> ServerRef<S> {
    /// Its pid.
    pub fn pid(&self) -> Pid {
        self.cell.pid
    }

    /// The untyped handle.
    pub fn process(&self) -> ProcessRef {
        ProcessRef {
            cell: self.cell.clone(),
            typed: Some(Arc::new(self.clone())),
        }
    }

    /// Whether it is still running.
    pub fn is_alive(&self) -> bool {
        !self.cell.has_exited()
    }

    /// Count one outgoing message for the sender and mark the receiver changed; for about one
    /// message in [`WAIT_SAMPLE_EVERY`](crate::stats::WAIT_SAMPLE_EVERY), return a timestamp to measure its mailbox wait (0
    /// otherwise). The receiver's `enqueued` is counted by the mailbox itself, see [`Self::count`].
    // `always`: with the trace's branch added, the compiler stopped inlining it into `cast`,
    // which cost about 20 instructions per cast (callgrind, BENCHMARKS.md "Message trace").
    #[inline(always)]
    fn stamp(&self, msg: Message<'_, S>) -> u64 {
        let stamp = self.wait_stamp();
        // One relaxed load while no message trace is active anywhere in the runtime.
        if self.cell.shared.traces.active() {
            return self.trace_sent(msg, stamp);
        }
        stamp
    }

    /// A trace is active somewhere: record the message if the sender is traced, and carry the
    /// sender's pid in the stamp if the target is.
    #[cold]
    #[inline(never)]
    fn trace_sent(&self, msg: Message<'_, S>, stamp: u64) -> u64 {
        crate::trace::sent(&self.cell, seen(&msg), || S::format_message(msg), stamp)
    }

    /// See [`Self::stamp`]: the counting and the wait stamp.
    #[inline(always)]
    fn wait_stamp(&self) -> u64 {
        if !self.cell.shared.instrument {
            return 0;
        }
        current::with(|me| bump(&me.stats.sent, 1));
        self.cell.mark_dirty();
        // A plain read: which message gets stamped need not be exact, only about 1 in 32.
        if crate::stats::sampled(self.cell.stats.enqueued.load(Relaxed)) {
            let now = self.cell.now_ns();
            crate::talkers::note(&self.cell, now);
            now
        } else {
            0
        }
    }

    /// The counter a queued message adds to: the receiver's `enqueued`, when instrumented.
    #[inline]
    fn count(&self) -> Option<&std::sync::atomic::AtomicU64> {
        self.cell
            .shared
            .instrument
            .then_some(&self.cell.stats.enqueued)
    }

    /// Settle the counts of a message handed to the mailbox: evictions, drops and dead letters.
    /// Counted with instrumentation off too: `handled + dropped + dead letters == sent` is a
    /// promise (RELIABILITY.md), not a statistic, and these paths are off the fast one.
    #[inline(always)]
    fn account<M>(&self, sent: Sent<M>) -> Outcome<M> {
        match sent {
            Sent::Queued => Outcome::Queued,
            other => self.account_slow(other),
        }
    }

    /// [`Self::account`] for everything but a plain `Queued` (kept out of the send path).
    #[cold]
    #[inline(never)]
    fn account_slow<M>(&self, sent: Sent<M>) -> Outcome<M> {
        let stats = &self.cell.stats;
        match sent {
            Sent::Queued => Outcome::Queued,
            Sent::QueuedEvicting => {
                stats.evicted.fetch_add(1, Relaxed);
                self.cell.shared.dropped_total.fetch_add(1, Relaxed);
                Outcome::Queued
            }
            Sent::Dead(_) => {
                self.cell.shared.dead_letters.fetch_add(1, Relaxed);
                Outcome::Dead
            }
            Sent::Dropped => {
                stats.dropped.fetch_add(1, Relaxed);
                self.cell.shared.dropped_total.fetch_add(1, Relaxed);
                Outcome::Dropped
            }
            Sent::Full(m) => Outcome::Full(m),
        }
    }

    /// Call with the default timeout of 5 s. See [`ServerRef::call_timeout`] (errors, cancel
    /// safety).
    ///
    /// (Not an `async fn`: it returns `call_timeout`'s future itself rather than a state machine
    /// around it: about 14 instructions per call.)
    pub fn call(
        &self,
        msg: S::Call,
    ) -> impl Future<Output = Result<S::Reply, CallError>> + Send + '_ {
        self.call_timeout(msg, DEFAULT_CALL_TIMEOUT)
    }

    /// Send a request and wait for its reply.
    ///
    /// Errors: [`CallError::CallingSelf`] at once if a process calls itself;
    /// [`CallError::NoProcess`] if it is not alive; [`CallError::Exited`] if it exits before
    /// replying; [`CallError::Timeout`] after `timeout`. While waiting, the calling process's
    /// status says whom it waits on (an edge of the wait-for graph the observer draws).
    ///
    /// Cancel safety: if the future is dropped after the request was queued, the request is still
    /// handled and its reply discarded; no later call ever sees it.
    pub async fn call_timeout(
        &self,
        msg: S::Call,
        timeout: Duration,
    ) -> Result<S::Reply, CallError> {
        // One look at the task-local for both the calling-self check and the wait edge: the
        // calling process, kept only when instrumented (for its "waiting" status).
        let instrument = self.cell.shared.instrument;
        let mut caller = None;
        let calling_self = current::with(|me| {
            if me.pid == self.cell.pid {
                return true;
            }
            if instrument {
                caller = Some(me.clone());
            }
            false
        });
        if calling_self == Some(true) {
            // Only the process itself gets here, so it is the counter's single writer; the
            // observer shows the count (OTP would block here until the timeout).
            bump(&self.cell.stats.self_calls_refused, 1);
            self.cell.mark_dirty();
            return Err(CallError::CallingSelf);
        }
        if self.cell.has_exited() {
            return Err(CallError::NoProcess);
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        let stamp = self.stamp(Message::Call(&msg));
        let env = Envelope::Call(msg, reply_tx, stamp);
        let sent = if self.tx.may_wait() {
            self.tx.send(env, self.count()).await
        } else {
            self.tx.try_send(env, self.count())
        };
        match self.account(sent) {
            Outcome::Queued => {}
            Outcome::Dead => return Err(CallError::NoProcess),
            Outcome::Full(_) | Outcome::Dropped => return Err(CallError::MailboxFull),
        }
        let edge = caller.map(|me| WaitEdge::from(me, &self.cell));
        let outcome = reply_within(&self.cell.shared.deadlines, reply_rx, timeout).await;
        drop(edge);
        match outcome {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => match self.cell.exit.get() {
                Some(reason) => Err(CallError::Exited(reason.clone())),
                None => Err(CallError::NoReply),
            },
            Err(_) => Err(CallError::Timeout(timeout)),
        }
    }

    /// Send a fire-and-forget request. Returns at once for unbounded mailboxes; waits for room
    /// under [`crate::Overflow::Wait`]. A cast to a dead process is not an error (as in OTP); it
    /// is counted as a dead letter.
    ///
    /// Cancel safety: under `Wait`, dropping the future while it waits for room drops the
    /// message, never queued; otherwise the message is queued before the first poll returns.
    ///
    /// (A hand-made future rather than an `async fn`: every mailbox but a `Wait` one sends
    /// synchronously at the first poll, so that path builds no state machine; only a `Wait`
    /// mailbox boxes the future that waits for room.)
    pub fn cast(&self, msg: S::Cast) -> impl Future<Output = Result<(), CastError<S::Cast>>> + '_ {
        let mut msg = Some(msg);
        let mut waiting = None;
        std::future::poll_fn(move |cx| {
            if waiting.is_none() {
                let msg = msg
                    .take()
                    .expect("a cast's future polled after it completed");
                if !self.tx.may_wait() {
                    return Poll::Ready(self.try_cast(msg));
                }
                waiting = Some(Box::pin(self.cast_waiting(msg)));
            }
            waiting.as_mut().expect("set above").as_mut().poll(cx)
        })
    }

    /// A cast to a `Wait` mailbox: wait for room.
    async fn cast_waiting(&self, msg: S::Cast) -> Result<(), CastError<S::Cast>> {
        let stamp = self.stamp(Message::Cast(&msg));
        let sent = self.tx.send(Envelope::Cast(msg, stamp), self.count()).await;
        self.cast_settled(sent)
    }

    /// Cast without waiting: under [`crate::Overflow::Wait`] a full mailbox returns
    /// [`CastError::Full`]. Usable from synchronous code.
    #[inline]
    pub fn try_cast(&self, msg: S::Cast) -> Result<(), CastError<S::Cast>> {
        let stamp = self.stamp(Message::Cast(&msg));
        match self.tx.try_send(Envelope::Cast(msg, stamp), self.count()) {
            // The common case, settled here: nothing to count and nothing to drop.
            Sent::Queued => Ok(()),
            sent => self.cast_settled(sent),
        }
    }

    /// Count a cast that was not simply queued, and hand back a refused message.
    #[cold]
    fn cast_settled(&self, sent: Sent<Envelope<S>>) -> Result<(), CastError<S::Cast>> {
        match self.account(sent) {
            Outcome::Full(Envelope::Cast(m, _)) => Err(CastError::Full(m)),
            _ => Ok(()),
        }
    }

    /// Send an info message (OTP's `send`), delivered to `handle_info` as [`crate::Info::Msg`].
    /// Never waits; a full bounded mailbox applies its policy as for `try_cast`.
    pub fn send(&self, msg: S::Info) -> Result<(), CastError<S::Info>> {
        let stamp = self.stamp(Message::Info(&msg));
        let sent = self.tx.try_send(Envelope::Info(msg, stamp), self.count());
        match self.account(sent) {
            Outcome::Full(Envelope::Info(m, _)) => Err(CastError::Full(m)),
            _ => Ok(()),
        }
    }

    /// Ask it to stop in an orderly way; see [`ProcessRef::stop`] (and its errors).
    pub async fn stop(
        &self,
        reason: ExitReason,
        timeout: Option<Duration>,
    ) -> Result<ExitReason, CallError> {
        self.process().stop(reason, timeout).await
    }

    /// A point-in-time reading of its counters.
    pub fn info(&self) -> ProcessInfo {
        ProcessInfo::read(&self.cell)
    }
}

/// What a trace records of a message: kind, type name and inline size.
pub(crate) fn seen<S: GenServer>(msg: &Message<'_, S>) -> Seen {
    fn of<T>(kind: TraceKind) -> Seen {
        Seen {
            kind,
            type_name: type_label::<T>(),
            bytes: std::mem::size_of::<T>() as u64,
        }
    }
    match msg {
        Message::Call(_) => of::<S::Call>(TraceKind::Call),
        Message::Cast(_) => of::<S::Cast>(TraceKind::Cast),
        Message::Info(_) => of::<S::Info>(TraceKind::Info),
        Message::Reply(_) => of::<S::Reply>(TraceKind::Reply),
    }
}

/// Wait for a call's reply for at most `timeout`; `Err(())` once it is overdue.
///
/// The deadline is read from the clock when the wait starts, but on a current-thread runtime
/// it joins the runtime's deadlines (see [`crate::deadline`]) only if the reply is still
/// missing at the second poll. At the first (right after the request was queued, so never
/// answered yet) the caller wakes itself: the scheduler puts it behind the callee, which the
/// request just woke, so in most calls the callee has replied by the time the caller runs
/// again, and the reply's own wake-up finds the caller already scheduled (no extra poll). That
/// spares a registration and its removal (two locks, a slab entry and a waker clone: about 190
/// instructions) on every call answered within one pass of the scheduler; a call still
/// unanswered then is registered with its original deadline, so timeouts are as exact as
/// before. On a multi-thread runtime a call registers at its first poll
/// ([`Deadlines::defer_first`] says why).
async fn reply_within<R>(
    deadlines: &Arc<Deadlines>,
    mut reply: oneshot::Receiver<R>,
    timeout: Duration,
) -> Result<Result<R, oneshot::error::RecvError>, ()> {
    let start = tokio::time::Instant::now();
    let mut polled = false;
    let mut waiting = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = Pin::new(&mut reply).poll(cx) {
            return Poll::Ready(Ok(r));
        }
        match &waiting {
            None if !polled && deadlines.defer_first() => {
                polled = true;
                cx.waker().wake_by_ref();
            }
            None => match start.checked_add(timeout) {
                Some(deadline) => waiting = Some(deadlines.register(deadline, cx)),
                // A timeout too large for the clock (`Duration::MAX`) means no deadline at all.
                None => return Poll::Pending,
            },
            Some(w) if w.overdue(cx) => return Poll::Ready(Err(())),
            Some(_) => {}
        }
        Poll::Pending
    })
    .await
}

/// The reply handle of a call, taken with [`crate::Ctx::defer_reply`] to answer later, from any
/// callback (OTP's `GenServer.reply/2`). Dropping it unanswered gives the caller
/// [`CallError::NoReply`].
pub struct ReplyTo<R> {
    pub(crate) tx: oneshot::Sender<R>,
}

impl<R> ReplyTo<R> {
    /// Answer the call. Returns the value back if the caller stopped waiting (timed out).
    pub fn reply(self, value: R) -> Result<(), R> {
        self.tx.send(value)
    }

    /// Whether the caller is still waiting.
    pub fn is_waiting(&self) -> bool {
        !self.tx.is_closed()
    }
}

impl<R> fmt::Debug for ReplyTo<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyTo")
    }
}

#[cfg(test)]
mod tests {
    use crate::{CallError, CallReply, Ctx, GenServer, InitError, Runtime};
    use std::time::Duration;

    /// Answers at once, or after sleeping for as many milliseconds as it is asked.
    struct Echo;
    impl GenServer for Echo {
        type Args = ();
        type Call = u64;
        type Cast = ();
        type Info = ();
        type Reply = u64;
        async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
            Ok(Echo)
        }
        async fn handle_call(&mut self, ms: u64, _: &mut Ctx<Self>) -> CallReply<u64> {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            CallReply::reply(ms)
        }
    }

    /// A call answered within one pass of the scheduler never joins the runtime's deadlines (no
    /// lock, no watchdog: the point of registering at the second poll); one still unanswered
    /// then does, with the deadline read when it started, so it times out exactly on time.
    #[tokio::test(start_paused = true)]
    async fn only_a_call_unanswered_at_its_second_poll_registers_its_deadline() {
        let rt = Runtime::new();
        let p = rt.start::<Echo>(()).await.unwrap();
        assert_eq!(p.call(0).await, Ok(0));
        assert!(
            !p.cell.shared.deadlines.watching(),
            "an answered call started the watchdog"
        );
        let start = tokio::time::Instant::now();
        let late = p.call_timeout(50, Duration::from_millis(20)).await;
        assert_eq!(late, Err(CallError::Timeout(Duration::from_millis(20))));
        assert_eq!(start.elapsed(), Duration::from_millis(20));
    }
}
