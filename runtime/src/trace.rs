//! Message trace, safe by construction: one process's received and sent messages, as Erlang's
//! `recon_trace` and elfo's tracing teach.
//!
//! - **Opt-in, one process**: a trace names one process by pid or registered name;
//!   [`TraceTarget::All`] is refused. A process is traced by one trace at a time.
//! - **Ends by itself**: after `max_events` events or `max_ms` (defaults 1000 events, 30 s), when
//!   events come faster than `rate_per_s` (a token bucket: "rate limit tripped"), when the process
//!   exits, when stopped, or when the [`Trace`] handle (or the observer connection that asked) is
//!   dropped.
//! - **Bounded**: events wait in a ring of [`limits::RING`]; beyond, the oldest are dropped and
//!   counted in the next batch.
//! - **Costs nothing untraced**: a send reads one relaxed atomic (`Registry::active`), a process
//!   its own `traced` flag once per batch of up to 128 messages and every 8 messages within
//!   one, and they call in here only when set. So a trace switched on while its process is in
//!   the middle of a batch starts at most 8 messages later. It notes only messages sent while
//!   it runs (those carry their sender): messages already queued when it began, and replies
//!   to them, are left out.
//! - **Text only by consent**: a message's text comes from the receiving type's
//!   [`crate::GenServer::format_message`] hook, `None` by default; the hook redacts.

pub(crate) mod registry;
mod session;

pub(crate) mod owned;

pub use beamline_wire::trace::{
    Direction, Talkers, TraceBatch, TraceEvent, TraceKind, TraceSpec, TraceTarget,
};
pub use session::limits;

use crate::current;
use crate::process::{ProcessCell, Shared};
use beamline_wire::Pid;
use session::{Handling, Recorded, Session};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Weak};
use tokio::sync::Notify;

/// Set in a message's stamp by a sender that saw its target traced: the low bits are then the
/// sender's pid (0: not a process), not an enqueue time.
pub(crate) const FROM_BIT: u64 = 1 << 63;

/// Why [`crate::Runtime::trace`] refused to start a trace.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TraceRefused(pub String);

/// A running trace of one process (from [`crate::Runtime::trace`]). Dropping it stops the trace.
pub struct Trace {
    session: Arc<Session>,
    shared: Weak<Shared>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Trace({} of {})", self.session.id, self.session.pid)
    }
}

impl Trace {
    /// Its id (the one batches carry).
    pub fn id(&self) -> u64 {
        self.session.id
    }

    /// The traced process.
    pub fn pid(&self) -> Pid {
        self.session.pid
    }

    /// The limits in force (after defaults and caps).
    pub fn spec(&self) -> TraceSpec {
        self.session.spec
    }

    /// What happened since the last call, without waiting; `None` if nothing did.
    pub fn try_next(&self) -> Option<TraceBatch> {
        self.session.drain()
    }

    /// The next batch of events, waiting for one; `None` after the batch that said the trace
    /// ended.
    ///
    /// Cancel safety: cancel safe; events stay buffered until a call returns them.
    pub async fn next(&self) -> Option<TraceBatch> {
        loop {
            let notified = self.session.wake.notified();
            if let Some(batch) = self.session.drain() {
                return Some(batch);
            }
            if self.session.finished() {
                return None;
            }
            notified.await;
        }
    }

    /// Stop tracing now; the next batch says `stopped`.
    pub fn stop(&self) {
        if let Some(shared) = self.shared.upgrade() {
            end(&shared, &self.session, session::STOPPED);
        }
    }

    /// Whether the trace has ended (its final batch may still be waiting).
    pub fn has_ended(&self) -> bool {
        self.session.has_ended()
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Start tracing `target`; batches are announced on `wake`. Refuses "every process", a process
/// that is not running, and one already traced.
pub(crate) fn start(
    shared: &Arc<Shared>,
    target: TraceTarget,
    spec: TraceSpec,
    wake: Arc<Notify>,
) -> Result<Trace, String> {
    let cell = match &target {
        TraceTarget::All => return Err(
            "refused: tracing every process is not allowed (it would slow the whole runtime); trace one process by pid or name".into(),
        ),
        TraceTarget::Pid(pid) => shared.table.get(*pid),
        TraceTarget::Name(name) => shared
            .registry
            .lookup(&crate::Name::from(name.as_str()))
            .map(|e| e.cell),
    };
    let cell = match cell {
        Some(cell) if !cell.has_exited() => cell,
        _ => return Err(format!("no such process: {}", describe(&target))),
    };
    let spec = session::clamp(spec);
    let id = shared.traces.next_id();
    let session = Arc::new(Session::new(id, cell.pid, spec, wake));
    if let Err(old) = shared.traces.insert(session.clone()) {
        return Err(format!(
            "{} is already traced (trace {}); one trace per process",
            cell.pid, old.id
        ));
    }
    cell.traced.store(true, Relaxed);
    tracing::info!(pid = %cell.pid, trace = id, ?spec, "message trace started");
    // The time limit holds even for a process that never gets another message.
    let (weak_shared, weak_session) = (Arc::downgrade(shared), Arc::downgrade(&session));
    tokio::spawn(async move {
        tokio::time::sleep_until(session_deadline(&weak_session)?).await;
        let (shared, session) = (weak_shared.upgrade()?, weak_session.upgrade()?);
        end(&shared, &session, session::TIME_LIMIT);
        Some(())
    });
    Ok(Trace {
        session,
        shared: Arc::downgrade(shared),
    })
}

fn session_deadline(session: &Weak<Session>) -> Option<tokio::time::Instant> {
    session.upgrade().map(|s| s.deadline)
}

fn describe(target: &TraceTarget) -> String {
    match target {
        TraceTarget::Pid(pid) => pid.to_string(),
        TraceTarget::Name(name) => format!("nothing is registered as {name:?}"),
        TraceTarget::All => "every process".into(),
    }
}

/// End `session` for `why` and stop tracing its process.
fn end(shared: &Shared, session: &Session, why: &str) {
    if session.end(why) {
        tracing::info!(pid = %session.pid, trace = session.id, why, "message trace ended");
    }
    unregister(shared, session);
}

fn unregister(shared: &Shared, session: &Session) {
    if shared.traces.remove(session.pid, session.id)
        && let Some(cell) = shared.table.get(session.pid)
    {
        cell.traced.store(false, Relaxed);
    }
}

/// A type's name without its paths, generics included: `Cmd` for `my_app::ledger::Cmd`,
/// `Result<Reply, CallError>` for `core::result::Result<my_app::Reply, beamline::CallError>`.
/// (The one place a message's type name is made; per-variant names can replace it.)
pub(crate) fn type_label<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            segment.clear();
        } else if c.is_alphanumeric() || c == '_' {
            segment.push(c);
        } else {
            out.push_str(&segment);
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(&segment);
    out
}

/// A message as the trace sees it, before it knows the peer.
pub(crate) struct Seen {
    pub kind: TraceKind,
    pub type_name: String,
    pub bytes: u64,
}

fn event(
    cell: &ProcessCell,
    direction: Direction,
    seen: Seen,
    peer: Option<&ProcessCell>,
) -> TraceEvent {
    TraceEvent {
        at_ms: cell.now_ns() / 1_000_000,
        direction,
        kind: seen.kind,
        type_name: seen.type_name,
        bytes: seen.bytes,
        peer: peer.map(|p| p.pid),
        peer_name: peer.and_then(|p| p.meta.name()).map(|n| n.to_string()),
        handle_us: None,
        text: None,
    }
}

fn record(shared: &Shared, session: &Session, event: TraceEvent) {
    if session.record(event) == Recorded::Ended {
        unregister(shared, session);
    }
}

/// A message is being sent to `target` (only called while some trace is active). Records it if
/// the sender is traced, and returns the stamp to queue with it: the sender's pid if the target
/// is traced, else `stamp` unchanged.
#[cold]
#[inline(never)]
pub(crate) fn sent(
    target: &ProcessCell,
    seen: Seen,
    text: impl FnOnce() -> Option<String>,
    stamp: u64,
) -> u64 {
    // No clone of the current cell: this runs for every send while any trace is active.
    let from = current::with(|me| {
        if me.traced.load(Relaxed)
            && let Some(session) = target.shared.traces.get(me.pid)
        {
            let mut ev = event(me, Direction::Out, seen, Some(target));
            ev.text = text();
            record(&target.shared, &session, ev);
        }
        me.pid.0
    });
    if target.traced.load(Relaxed) {
        FROM_BIT | from.unwrap_or(0)
    } else {
        stamp
    }
}

/// The traced process `cell` takes a message from its mailbox: note it until its callback
/// returns. Returns the stamp as the wait statistics read it (0 for a sender's pid).
#[cold]
#[inline(never)]
pub(crate) fn received(
    cell: &ProcessCell,
    seen: Seen,
    text: impl FnOnce() -> Option<String>,
    stamp: u64,
) -> u64 {
    let Some(session) = cell.shared.traces.get(cell.pid) else {
        return stamp;
    };
    // A message queued before the trace began carries no sender (only a target seen traced
    // at the send stamps one): left out, with its reply, rather than shown from `?`.
    if stamp & FROM_BIT == 0 {
        return stamp;
    }
    let peer = cell.shared.table.get(Pid(stamp & !FROM_BIT));
    let mut ev = event(cell, Direction::In, seen, peer.as_deref());
    ev.text = text();
    session.begin(Handling {
        event: ev,
        started_ns: cell.now_ns(),
    });
    0
}

/// The traced process's callback for the message noted by [`received`] returned.
#[cold]
#[inline(never)]
pub(crate) fn handled(cell: &ProcessCell) {
    let Some(session) = cell.shared.traces.get(cell.pid) else {
        return;
    };
    if let Some(Handling {
        mut event,
        started_ns,
    }) = session.take_handling()
    {
        event.handle_us = Some(cell.now_ns().saturating_sub(started_ns) / 1000);
        record(&cell.shared, &session, event);
    }
}

/// The traced process replies to the call it is handling: the event names the caller.
#[cold]
#[inline(never)]
pub(crate) fn replied(cell: &ProcessCell, seen: Seen, text: impl FnOnce() -> Option<String>) {
    let Some(session) = cell.shared.traces.get(cell.pid) else {
        return;
    };
    // Only the reply to a call the trace noted: its caller is that call's sender. (A reply in
    // the batch the trace began in, to a call taken before, would name no one.)
    let Some((peer, peer_name)) = session.handling_peer() else {
        return;
    };
    let mut ev = event(cell, Direction::Out, seen, None);
    ev.peer = peer;
    ev.peer_name = peer_name;
    ev.text = text();
    record(&cell.shared, &session, ev);
}

/// The traced process exited: its trace ends.
#[cold]
pub(crate) fn exited(cell: &ProcessCell) {
    if let Some(session) = cell.shared.traces.get(cell.pid) {
        end(&cell.shared, &session, session::EXITED);
    }
}

#[cfg(test)]
mod tests;
