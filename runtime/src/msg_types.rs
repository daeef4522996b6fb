//! Messages by type (issue 19): each process counts the messages it handles per type (for an
//! enum, per variant) with the time spent on them, in a small fixed table read by observers on
//! demand ([`beamline_wire::ControlRequest::MessageTypes`]).
//!
//! **How a message's type is told.** Without user code: the variant is read with
//! `std::mem::discriminant` (every Rust enum has one; a struct has a single one), so the key is
//! the message's kind (call, cast, info) and its variant number, and the name is the type's short
//! name (`Cmd`), with `#n` when several variants of it were seen (`Cmd#2`). A process that wants
//! variant names gives them once, in declaration order, as
//! [`crate::GenServer::MESSAGE_VARIANTS`] (strum's `VariantNames` derive provides such a list):
//! then it shows `Cmd::Deposit`. No derive, no trait bound on message types, nothing to write
//! for the default. (A `fn message_type(&self)` trait on message types would need either a bound
//! on `GenServer::Call`/`Cast`/`Info`, breaking every existing server, or specialization, which
//! stable Rust lacks.)
//!
//! **Cost.** The table is allocated by the process on its first message (about 600 B; never for
//! a process that receives nothing). Per message: the variant's number, one compare with the
//! key of the run of messages of one type in progress ([`Run`], kept in the process's own
//! `Core`) and a plain increment; no atomic, no `OnceLock`. A run is added to the table (its
//! slot found by open addressing: a process with a few types nearly always finds its key in the
//! home slot) and to the per-kind `handled_*` counters when a message of another type comes,
//! every 8 messages of a batch, when the batch ends and when the process finishes, so readers
//! see counts at most 7 messages behind (a batch of slow callbacks still shows a rate). A process that alternates types message by message pays the
//! table update per message, as before runs. Per batch, the batch's time is shared among the
//! types it handled (what each count gained) (the same batch mean as `max_handle_us`: the clock
//! is read per batch, not per message). The table has [`SLOTS`] slots; more types count together
//! as `other`.

pub(crate) mod table;

pub(crate) use table::{TypeTable, variant_of};

use crate::handle::Envelope;
use crate::mailbox::Rx;
use crate::process::ProcessCell;
use crate::server::GenServer;
use crate::stats::bump;
use beamline_wire::{MsgKind, TypeCounts};
use std::sync::Arc;
use table::Peekable;

/// A table for server `S`'s messages, peeking at `queue`.
fn new_table<S: GenServer>(queue: std::sync::Weak<dyn Peekable>) -> TypeTable {
    TypeTable::with(
        [
            std::any::type_name::<S::Call>(),
            std::any::type_name::<S::Cast>(),
            std::any::type_name::<S::Info>(),
        ],
        S::MESSAGE_VARIANTS,
        [
            std::mem::size_of::<S::Call>() as u64,
            std::mem::size_of::<S::Cast>() as u64,
            std::mem::size_of::<S::Info>() as u64,
        ],
        queue,
    )
}

/// The kind and variant of a queued message.
#[inline]
pub(crate) fn key_of<S: GenServer>(env: &Envelope<S>) -> (MsgKind, u32) {
    match env {
        Envelope::Call(m, ..) => (MsgKind::Call, variant_of(m)),
        Envelope::Cast(m, _) => (MsgKind::Cast, variant_of(m)),
        Envelope::Info(m, _) => (MsgKind::Info, variant_of(m)),
    }
}

/// Messages of one type that the process took in a row and has not yet added to its table:
/// per message the loop only compares the message's key with `key` and counts on; the run goes
/// into the table (and into the per-kind `handled_*` counters) when a message of another type
/// comes, every 8 messages, when the batch ends and when the process finishes. Kept in the
/// process's `Core`.
#[derive(Default, Clone, Copy)]
pub(crate) struct Run {
    /// The table's key of the messages counted (see [`TypeTable::note_n`]); 0 before any.
    key: u32,
    /// How many were taken since the run was last added (at most one batch's worth).
    n: u32,
}

/// The table's key of a queued message: its kind and variant.
#[inline(always)]
pub(crate) fn key<S: GenServer>(env: &Envelope<S>) -> u32 {
    let (kind, variant) = key_of(env);
    table::key(kind, variant)
}

/// The table's key of a cast.
#[inline(always)]
pub(crate) fn cast_key<M>(msg: &M) -> u32 {
    table::key(MsgKind::Cast, variant_of(msg))
}

/// Count a message taken from `S`'s mailbox, whose [`key`] is `key` (the process, before its
/// callback): one more in the current run, or the run is added to the table and a new one
/// starts.
#[inline(always)]
pub(crate) fn note<S: GenServer>(
    cell: &ProcessCell,
    rx: &Rx<Envelope<S>>,
    run: &mut Run,
    key: u32,
) {
    if run.key == key {
        run.n += 1;
        return;
    }
    switch(cell, rx, run, key);
}

/// A message of another type than the run's (or the process's first message): the run goes
/// into the table, allocated here on the first message (the queue peek reaches the mailbox
/// through it while that message's callback runs), and a run of `key` starts, its slot taken
/// at once (names tell variants apart by the keys seen).
#[inline(never)]
fn switch<S: GenServer>(cell: &ProcessCell, rx: &Rx<Envelope<S>>, run: &mut Run, key: u32) {
    let table = table(cell, rx);
    add(cell, table, run);
    table.note_n(key, 0);
    *run = Run { key, n: 1 };
}

/// The process's table, allocated on its first message.
#[inline]
fn table<'a, S: GenServer>(cell: &'a ProcessCell, rx: &Rx<Envelope<S>>) -> &'a TypeTable {
    cell.msg_types.get_or_init(|| {
        let queue: Arc<dyn Peekable> = rx.queue().clone();
        Box::new(new_table::<S>(Arc::downgrade(&queue)))
    })
}

/// Add the run to the table and to the per-kind handled counters (the process, at a batch's
/// end and when it finishes); the run restarts at 0 with the same key, which the next batch
/// often continues.
#[inline]
pub(crate) fn flush<S: GenServer>(cell: &ProcessCell, rx: &Rx<Envelope<S>>, run: &mut Run) {
    if run.n != 0 {
        add(cell, table(cell, rx), run);
    }
}

/// [`flush`] into `table`.
#[inline]
fn add(cell: &ProcessCell, table: &TypeTable, run: &mut Run) {
    let n = run.n;
    if n == 0 {
        return;
    }
    run.n = 0;
    let stats = &cell.stats;
    let handled = match table.note_n(run.key, n) {
        MsgKind::Call => &stats.handled_call,
        MsgKind::Cast => &stats.handled_cast,
        MsgKind::Info => &stats.handled_info,
    };
    bump(handled, u64::from(n));
}

/// A batch ended after `per` ns per event (the process, at the batch's end).
#[inline]
pub(crate) fn end_batch(cell: &ProcessCell, per: u64) {
    if let Some(t) = cell.msg_types.get() {
        t.end_batch(per);
    }
}

/// The counters of `cell`, for [`beamline_wire::ControlRequest::MessageTypes`].
pub(crate) fn read(cell: &ProcessCell) -> TypeCounts {
    let (senders, receivers, talk_window_ms, talk_every) = crate::talkers::read(cell);
    TypeCounts {
        pid: cell.pid,
        at_ms: cell.now_ns() / 1_000_000,
        types: cell.msg_types.get().map(|t| t.read()).unwrap_or_default(),
        senders,
        receivers,
        talk_window_ms,
        talk_every,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use table::short_name;

    #[allow(dead_code)]
    enum Cmd {
        A,
        B(u64),
        C { x: String },
    }

    #[test]
    fn variants_are_numbered_in_declaration_order() {
        assert_eq!(variant_of(&Cmd::A), 0);
        assert_eq!(variant_of(&Cmd::B(7)), 1);
        assert_eq!(variant_of(&Cmd::C { x: "x".into() }), 2);
        assert_eq!(variant_of(&Some(1)), 1);
        assert_eq!(variant_of(&42u64), variant_of(&7u64), "a non-enum has one");
    }

    #[test]
    fn short_names_keep_the_last_segment_of_each_path() {
        assert_eq!(short_name("bank::ledger::Cmd"), "Cmd");
        assert_eq!(
            short_name("alloc::vec::Vec<bank::Entry>"),
            "Vec<Entry>",
            "generic arguments shortened too"
        );
        assert_eq!(
            short_name("(u64, core::option::Option<u8>)"),
            "(u64, Option<u8>)"
        );
        assert_eq!(short_name("app::run::{{closure}}::Cmd"), "Cmd");
    }
}
