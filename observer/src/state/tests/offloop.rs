//! The state when samples and rows are computed off the loop: frames built by a
//! [`Worker`], rows answered late or out of order.

use super::*;
use crate::model::worker::{Frame, Worker};
use crate::state::sorter::{Sorted, Wanted};

fn settings() -> Settings {
    Settings {
        target: "t".into(),
        theme: Theme::new(false),
        replay: false,
        interval_ms: None,
    }
}

/// A state computing rows off the loop, with the worker that builds its frames.
fn offloop() -> (State, Worker, Wanted) {
    let mut s = State::new(
        Model::new(Default::default()),
        settings(),
        Rect::new(0, 0, 80, 24),
    );
    let wanted = s.offloop();
    (s, Worker::new(Default::default()), wanted)
}

/// Apply `ev` on the worker and build its frame (rows as the wanted order says now), without
/// landing it.
fn frame(w: &mut Worker, wanted: &Wanted, ev: SourceEvent) -> Frame<Option<Sorted>> {
    let change = w.apply(Input::Event(ev)).unwrap();
    let rows = wanted.rows_for_frame(w.model());
    w.frame(change, rows)
}

fn land(s: &mut State, w: &mut Worker, f: Frame<Option<Sorted>>) {
    let (old, _) = s.land(f);
    assert!(w.reclaim(old));
}

fn pids(s: &State) -> Vec<Pid> {
    let m = s.shown().unwrap();
    (0..s.rows().len())
        .filter_map(|i| s.rows().pid_at(m, i))
        .collect()
}

fn sorted_by(m: &ProcessTable, col: Column) -> Vec<Pid> {
    let r = Rows::table(m, col, col.is_quantity(), "", None);
    (0..r.len()).filter_map(|i| r.pid_at(m, i)).collect()
}

fn snapshot(seq: u64) -> SourceEvent {
    SourceEvent::Msg(ServerMsg::Snapshot(fixture::small(seq)))
}

fn delta(a: u64, b: u64) -> SourceEvent {
    SourceEvent::Msg(ServerMsg::Delta(diff(
        &fixture::small(a),
        &fixture::small(b),
    )))
}

/// A sort asked for while the worker applies a sample: the frame that lands was sorted for the
/// old order, so its rows are not shown; answers for orders older than the newest are dropped
/// however late they land; the list shows the new sort as soon as its answer lands.
#[test]
fn rows_sorted_for_an_older_order_are_never_shown() {
    let (mut s, mut w, wanted) = offloop();
    let f = frame(&mut w, &wanted, snapshot(0));
    land(&mut s, &mut w, f);
    s.handle(Action::View(ViewId::Processes));
    let first = s.take_request().expect("rows asked for");
    s.sorted(first.run());
    let by_mailbox = pids(&s);
    assert_eq!(by_mailbox, sorted_by(s.shown().unwrap(), Column::Mailbox));

    // The worker builds sample 1's frame for the mailbox order...
    let stale_frame = frame(&mut w, &wanted, delta(0, 1));
    // ...while the user sorts by pid: asked of the sorter, for sample 0.
    s.handle(Action::Sort(Column::Pid));
    let for_sample_0 = s.take_request().expect("rows asked for");
    assert_eq!(pids(&s), by_mailbox, "nothing shown until the rows land");
    land(&mut s, &mut w, stale_frame);
    assert_eq!(
        s.shown().unwrap().seq,
        Some(0),
        "the frame's rows were stale"
    );
    assert_eq!(pids(&s), by_mailbox);
    let for_sample_1 = s.take_request().expect("asked again for the new sample");
    assert_eq!(for_sample_1.table.seq, Some(1));

    // The answer for sample 0 lands after a newer order was made: dropped.
    s.sorted(for_sample_0.clone().run());
    assert_eq!(pids(&s), by_mailbox);
    assert!(!s.rows_current());
    s.sorted(for_sample_1.run());
    assert_eq!(s.shown().unwrap().seq, Some(1));
    assert_eq!(pids(&s), sorted_by(s.shown().unwrap(), Column::Pid));
    assert!(s.rows_current());
    // Late again, after the newest landed: still dropped.
    s.sorted(for_sample_0.run());
    assert_eq!(s.shown().unwrap().seq, Some(1));

    // The next frame reads the newest order: its rows are shown as it lands.
    let f = frame(&mut w, &wanted, delta(1, 2));
    land(&mut s, &mut w, f);
    assert_eq!(s.shown().unwrap().seq, Some(2));
    assert!(
        s.take_request().is_none(),
        "the frame's rows answered the order"
    );
    assert_eq!(pids(&s), sorted_by(s.shown().unwrap(), Column::Pid));
}

/// A kill the user asked for is in the log at once, stays there while frames built before the
/// worker heard of it land, and is kept by the worker for the frames after.
#[test]
fn a_kill_stays_in_the_log_across_frames_built_before_the_worker_heard_of_it() {
    let (mut s, mut w, wanted) = offloop();
    let f = frame(&mut w, &wanted, snapshot(0));
    land(&mut s, &mut w, f);
    let kill = ControlRequest::Kill {
        pid: Pid(5),
        reason: "kill".into(),
    };
    let killed =
        |s: &State| (s.model().events.iter()).any(|e| e.text == "killed by the observer (kill)");
    let early = frame(&mut w, &wanted, delta(0, 1));
    s.on_reply(kill, ControlReply::Ok);
    assert!(killed(&s));
    land(&mut s, &mut w, early);
    assert!(killed(&s), "re-applied on a frame built before the note");
    for note in s.take_notes() {
        assert_eq!(w.apply(note), None);
    }
    let later = frame(&mut w, &wanted, delta(1, 2));
    assert_eq!(later.notes, 1);
    land(&mut s, &mut w, later);
    let n = s
        .model()
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Observer)
        .count();
    assert_eq!(n, 1, "once, from the worker");
}

/// Between a switch from the tree to the table and the table's rows landing, the tree's rows
/// are not taken for the table's: no process is in focus and keys do not move the cursor.
#[test]
fn the_tree_rows_are_not_read_as_the_tables_while_its_own_are_sorted() {
    let (mut s, mut w, wanted) = offloop();
    let f = frame(&mut w, &wanted, snapshot(0));
    land(&mut s, &mut w, f);
    assert!(
        s.take_request().is_none(),
        "the frame carried the tree's rows"
    );
    assert_eq!(s.focused(), Some(Pid(1)), "the tree's root");
    s.handle(Action::View(ViewId::Processes));
    assert_eq!(s.focused(), None, "the table's rows are not there yet");
    s.handle(Action::Move(3));
    assert_eq!(s.nav().table.cursor, 0);
    let table = s.take_request().unwrap().run();
    s.sorted(table);
    assert_eq!(s.focused(), Some(Pid(9)), "deepest mailbox first");
}
