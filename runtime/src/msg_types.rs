//! Messages by type (issue 19): each process counts the messages it handles per type (for an
//! enum, per variant) with the time spent on them, the first type in the process's cell and the
//! others in a small fixed table, read by observers on demand
//! ([`beamline_wire::ControlRequest::MessageTypes`]).
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
//! **Cost.** A process counts the first type it handles in a slot of its own, inside its cell
//! ([`MsgTypes`], 56 B with the mailbox link the queue peek uses); the table for more types
//! (about 520 B) is allocated only when a second type arrives, so a process that only ever
//! handles one type (a pool's workers, per-request processes: most of a large system) never
//! allocates one. How the types are named is one function pointer per process, shared with the
//! behaviour's name (`Meta::server`). Per message: the variant's number, one compare with the
//! key of the run of messages of one type in progress ([`Run`], kept in the process's own
//! `Core`) and a plain increment; no atomic, no `OnceLock`. A run is added to the counters (the
//! first type's slot is compared first; another type's slot is found in the table by open
//! addressing: a process with a few types nearly always finds its key in the home slot) and to
//! the per-kind `handled_*` counters when a message of another type comes, every 8 messages of a
//! batch, when the batch ends and when the process finishes, so readers see counts at most 7
//! messages behind (a batch of slow callbacks still shows a rate). A process that alternates
//! types message by message pays the table update per message, as before runs. Per batch, the
//! batch's time is shared among the types it handled (what each count gained) (the same batch
//! mean as `max_handle_us`: the clock is read per batch, not per message); within a batch, 8
//! messages that took a millisecond or more are charged at once (`process_loop::charge_part`),
//! so a batch of slow callbacks keeps its types' busy time level with their counts. [`SLOTS`] types are
//! told apart (the first slot and 15 in the table); more count together as `other`.

pub(crate) mod table;

pub(crate) use table::{MsgTypes, variant_of};

use crate::handle::Envelope;
use crate::process::ProcessCell;
use crate::server::GenServer;
use crate::stats::bump;
use beamline_wire::{MsgKind, TypeCounts};
use table::Names;

/// What server `S` is called and how its messages are named (kept in its cell as this
/// function's pointer, `Meta::server`).
pub(crate) fn names<S: GenServer>() -> Names {
    Names {
        behaviour: std::any::type_name::<S>(),
        inspectable: S::INSPECTABLE,
        types: [
            std::any::type_name::<S::Call>(),
            std::any::type_name::<S::Cast>(),
            std::any::type_name::<S::Info>(),
        ],
        variants: S::MESSAGE_VARIANTS,
        sizes: [
            std::mem::size_of::<S::Call>() as u64,
            std::mem::size_of::<S::Cast>() as u64,
            std::mem::size_of::<S::Info>() as u64,
        ],
    }
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

/// Count a message taken from the mailbox, whose [`key`] is `key` (the process, before its
/// callback): one more in the current run, or the run is added to the counters and a new one
/// starts.
#[inline(always)]
pub(crate) fn note(cell: &ProcessCell, run: &mut Run, key: u32) {
    if run.key == key {
        run.n += 1;
        return;
    }
    switch(cell, run, key);
}

/// A message of another type than the run's (or the process's first message): the run goes
/// into the counters and a run of `key` starts, its slot taken at once (names tell variants
/// apart by the keys seen; the table is allocated here when a second type arrives).
#[inline(never)]
fn switch(cell: &ProcessCell, run: &mut Run, key: u32) {
    flush(cell, run);
    cell.msg_types.note_n(key, 0);
    *run = Run { key, n: 1 };
}

/// Add the run to the counters and to the per-kind handled counters (the process, every 8
/// messages, at a batch's end and when it finishes); the run restarts at 0 with the same key,
/// which the next batch often continues. Nothing to do for an empty run.
#[inline]
pub(crate) fn flush(cell: &ProcessCell, run: &mut Run) {
    let n = run.n;
    if n == 0 {
        return;
    }
    run.n = 0;
    let stats = &cell.stats;
    let handled = match cell.msg_types.note_n(run.key, n) {
        MsgKind::Call => &stats.handled_call,
        MsgKind::Cast => &stats.handled_cast,
        MsgKind::Info => &stats.handled_info,
    };
    bump(handled, u64::from(n));
}

/// The messages counted since the last charge took `per` ns each (the process, at a batch's
/// end, and within a long batch every 8 messages: `process_loop::charge_part`).
#[inline]
pub(crate) fn charge(cell: &ProcessCell, per: u64) {
    cell.msg_types.charge(per);
}

/// The counters of `cell`, for [`beamline_wire::ControlRequest::MessageTypes`].
pub(crate) fn read(cell: &ProcessCell) -> TypeCounts {
    let (senders, receivers, talk_window_ms, talk_every) = crate::talkers::read(cell);
    TypeCounts {
        pid: cell.pid,
        at_ms: cell.now_ns() / 1_000_000,
        types: cell.msg_types.read(&cell.meta.names()),
        senders,
        receivers,
        talk_window_ms,
        talk_every,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CallReply, Ctx, GenServer, InitError, Next, Runtime};
    use std::time::Duration;
    use table::{Counts, short_name};

    /// A call with `ms` takes that long; casts are handled at once.
    struct Worker;

    impl GenServer for Worker {
        type Args = ();
        type Call = u64;
        type Reply = ();
        type Cast = Cmd;
        type Info = ();

        async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
            Ok(Worker)
        }

        async fn handle_call(&mut self, ms: u64, _: &mut Ctx<Self>) -> CallReply<()> {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            CallReply::reply(())
        }

        async fn handle_cast(&mut self, _: Cmd, _: &mut Ctx<Self>) -> Next {
            Next::noreply()
        }
    }

    fn count(types: &[beamline_wire::TypeCount], name: &str) -> (u64, u64, u64) {
        let t = types.iter().find(|t| t.name == name).expect(name);
        (t.count, t.busy_ns, t.max_ns)
    }

    /// A process that only ever handled one type counts it in its cell, exactly, with no table
    /// allocated; the sampler's hot type names it.
    #[tokio::test(start_paused = true)]
    async fn one_type_is_counted_in_place_without_a_table() {
        let rt = Runtime::builder().observe_from_env(false).build();
        let w = rt.start::<Worker>(()).await.unwrap();
        assert!(read(&w.cell).types.is_empty(), "nothing handled yet");
        let mut last: Counts = Default::default();
        assert_eq!(w.cell.msg_types.hottest(&mut last), None);
        for ms in [10, 20, 30] {
            w.call(ms).await.unwrap();
        }
        let types = read(&w.cell).types;
        assert_eq!(types.len(), 1);
        assert_eq!(count(&types, "u64"), (3, 60_000_000, 30_000_000));
        assert_eq!(types[0].kind, MsgKind::Call);
        assert!(!w.cell.msg_types.has_table(), "one type: no table");
        let hot = w.cell.msg_types.hottest(&mut last).expect("a count moved");
        assert_eq!(w.cell.msg_types.slot_name(&names::<Worker>(), hot), "u64");
        assert_eq!(w.cell.msg_types.hottest(&mut last), None, "nothing new");
    }

    /// A batch of slow calls charges its type's time every 8 messages as it goes, not only at
    /// the batch's end: while the batch runs, the type's busy time matches its count (the
    /// demo's ledger, 40 ms calls in batches of 128, showed a mean of 24 ms).
    #[tokio::test(start_paused = true)]
    async fn a_batch_of_slow_calls_charges_its_type_every_8_messages() {
        let rt = Runtime::builder().observe_from_env(false).build();
        let w = rt.start::<Worker>(()).await.unwrap();
        // Twenty callers queue their calls before the worker runs: one batch of 20.
        let calls: Vec<_> = (0..20)
            .map(|_| {
                let w = w.clone();
                tokio::spawn(async move { w.call(40).await })
            })
            .collect();
        // Nine calls done, the tenth running.
        tokio::time::sleep(Duration::from_millis(9 * 40 + 20)).await;
        let types = read(&w.cell).types;
        assert_eq!(count(&types, "u64"), (8, 8 * 40_000_000, 40_000_000));
        for c in calls {
            c.await.unwrap().unwrap();
        }
        let types = read(&w.cell).types;
        assert_eq!(count(&types, "u64"), (20, 20 * 40_000_000, 40_000_000));
    }

    /// A second type allocates the table; the first type's counts stay exact beside it, and
    /// variants of the second are told apart as before.
    #[tokio::test(start_paused = true)]
    async fn a_second_type_allocates_the_table_and_both_stay_exact() {
        let rt = Runtime::builder().observe_from_env(false).build();
        let w = rt.start::<Worker>(()).await.unwrap();
        w.call(10).await.unwrap();
        w.cast(Cmd::A).await.unwrap();
        w.cast(Cmd::B(1)).await.unwrap();
        w.cast(Cmd::A).await.unwrap();
        w.call(5).await.unwrap();
        assert!(w.cell.msg_types.has_table());
        let types = read(&w.cell).types;
        // The casts and the second call came in one batch of 4 taking 5 ms: 1.25 ms each.
        assert_eq!(count(&types, "u64"), (2, 11_250_000, 10_000_000));
        assert_eq!(count(&types, "Cmd#0"), (2, 2_500_000, 1_250_000));
        assert_eq!(count(&types, "Cmd#1").0, 1);
        assert_eq!(types.len(), 3);
        let stats = &w.cell.stats;
        let handled =
            |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            (handled(&stats.handled_call), handled(&stats.handled_cast)),
            (2, 3)
        );
        // The hot type over the casts' interval is in the table.
        let mut last: Counts = Default::default();
        w.cell.msg_types.hottest(&mut last);
        for _ in 0..4 {
            w.cast(Cmd::B(2)).await.unwrap();
        }
        w.call(0).await.unwrap();
        let hot = w.cell.msg_types.hottest(&mut last).unwrap();
        assert_eq!(w.cell.msg_types.slot_name(&names::<Worker>(), hot), "Cmd#1");
    }

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
