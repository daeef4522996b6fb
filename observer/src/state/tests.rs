//! State and key logic without a terminal.

use super::*;
use crate::fixture;
use crate::model::diagnosis::{AlertKind, Severity};
use crate::source::{Playback, SourceEvent};
use crate::view::tests::state_with;
use crate::vocab::Column;
use beamline_wire::ServerMsg;
use beamline_wire::table::diff;

fn feed(s: &mut State, from: u64, to: u64) {
    for seq in from..to {
        let d = diff(&fixture::small(seq - 1), &fixture::small(seq));
        s.apply(SourceEvent::Msg(ServerMsg::Delta(d)));
    }
}

#[test]
fn cursor_moves_clamp_and_follow_the_process_across_sorts_and_samples() {
    let mut s = state_with(3);
    s.handle(Action::View(ViewId::Processes));
    s.handle(Action::Top);
    assert_eq!(s.focused(), Some(Pid(9)), "deepest mailbox first");
    s.handle(Action::Move(-5));
    assert_eq!(s.nav.table.cursor, 0);
    s.handle(Action::Bottom);
    assert_eq!(s.nav.table.cursor, 10);
    s.handle(Action::Move(-10));
    s.handle(Action::Move(1));
    let pid = s.focused().unwrap();
    s.handle(Action::Sort(Column::Busy));
    assert_eq!(s.focused(), Some(pid), "selection stays on the process");
    feed(&mut s, 3, 6);
    assert_eq!(s.focused(), Some(pid));
}

#[test]
fn pause_freezes_the_display_while_history_keeps_recording() {
    let mut s = state_with(5);
    assert_eq!(s.handle(Action::Pause), [Effect::Playback(Playback::Pause)]);
    let frozen = s.shown().unwrap().seq.unwrap();
    let before = s.model.history.process(Pid(9)).unwrap().len();
    feed(&mut s, 5, 8);
    assert_eq!(s.shown().unwrap().seq, Some(frozen));
    assert_eq!(s.model.history.process(Pid(9)).unwrap().len(), before + 3);
    s.handle(Action::Left);
    assert_eq!(s.shown().unwrap().seq, Some(frozen - 1));
    s.handle(Action::Right);
    s.handle(Action::Right);
    assert_eq!(s.shown().unwrap().seq, Some(frozen + 1));
    assert_eq!(
        s.handle(Action::Pause),
        [Effect::Playback(Playback::Resume)]
    );
    assert_eq!(s.shown().unwrap().seq, Some(7));
}

#[test]
fn replay_steps_forward_past_the_newest_sample() {
    let mut s = state_with(5);
    s.settings.replay = true;
    s.handle(Action::Pause);
    assert_eq!(s.handle(Action::Right), [Effect::Playback(Playback::Step)]);
    feed(&mut s, 5, 6);
    assert_eq!(
        s.shown().unwrap().seq,
        Some(5),
        "the display follows the step"
    );
    assert_eq!(
        s.handle(Action::Seek(-10_000)),
        [Effect::Playback(Playback::Seek(-10_000))]
    );
}

#[test]
fn kill_asks_first_and_restart_goes_through_the_supervisor() {
    let mut s = state_with(3);
    s.handle(Action::Move(3));
    assert!(s.handle(Action::Kill).is_empty());
    assert!(matches!(s.nav.confirm, Some(Confirm::Kill(Pid(4), _))));
    assert!(s.handle(Action::Back).is_empty());
    assert!(s.nav.confirm.is_none());
    s.handle(Action::Kill);
    assert_eq!(
        s.handle(Action::Confirm),
        [Effect::Control(ControlRequest::Kill {
            pid: Pid(4),
            reason: "kill".into()
        })]
    );
    s.handle(Action::Restart);
    assert_eq!(
        s.handle(Action::Confirm),
        [Effect::Control(ControlRequest::Restart { pid: Pid(4) })]
    );
    s.on_reply(
        ControlRequest::Restart { pid: Pid(4) },
        ControlReply::Error("not supervised".into()),
    );
    assert_eq!(s.note(), Some("restart <0.4.0> failed: not supervised"));
}

#[test]
fn interval_keys_step_through_the_ladder() {
    let mut s = state_with(2);
    assert_eq!(
        s.handle(Action::Slower),
        [Effect::Control(ControlRequest::SetInterval { ms: 2000 })]
    );
    assert_eq!(
        s.handle(Action::Faster),
        [Effect::Control(ControlRequest::SetInterval { ms: 1000 })]
    );
    assert_eq!(
        s.handle(Action::Faster),
        [Effect::Control(ControlRequest::SetInterval { ms: 500 })]
    );
    for _ in 0..10 {
        s.handle(Action::Faster);
    }
    assert_eq!(s.fetches.interval, Some(100));
}

#[test]
fn filter_narrows_and_escape_clears() {
    let mut s = state_with(2);
    s.handle(Action::View(ViewId::Processes));
    s.handle(Action::FilterStart);
    for c in "ACCOUNT".chars() {
        s.handle(Action::FilterInput(c));
    }
    assert_eq!(s.rows.len(), 2, "case-insensitive");
    s.handle(Action::FilterBackspace);
    assert_eq!(s.query.filter.text, "ACCOUN");
    s.handle(Action::FilterCancel);
    assert_eq!(s.rows.len(), 11);
}

#[test]
fn enter_on_an_alert_opens_its_culprit() {
    let mut s = state_with(2);
    s.model.alerts = vec![crate::model::diagnosis::Alert {
        kind: AlertKind::LongWait,
        severity: Severity::Warning,
        processes: vec![Pid(10), Pid(5)],
        message: "stage_4 waits on cache".into(),
        since_ms: 0,
        ..Default::default()
    }];
    s.handle(Action::View(ViewId::Alerts));
    let fx = s.handle(Action::Open);
    assert_eq!(s.nav.view, ViewId::Detail);
    assert_eq!(s.fetches.detail.as_ref().unwrap().pid, Pid(10));
    assert_eq!(
        fx,
        [
            Effect::Control(ControlRequest::Logs { pid: Pid(10) }),
            Effect::Control(ControlRequest::MessageTypes {
                pids: vec![Pid(10)]
            })
        ]
    );
    s.handle(Action::Back);
    assert_eq!(s.nav.view, ViewId::Alerts);
}

#[test]
fn clicks_select_open_and_switch_tabs() {
    let mut s = state_with(2);
    let first = s.areas().body.y + crate::layout::LIST_HEADER_ROWS;
    s.handle(Action::Click {
        column: 5,
        row: first + 2,
    });
    assert_eq!(s.focused(), Some(Pid(3)));
    s.handle(Action::Click {
        column: 5,
        row: first + 2,
    });
    assert_eq!(s.nav.view, ViewId::Detail);
    let tabs = s.areas().tabs.y;
    s.handle(Action::Click {
        column: 12,
        row: tabs,
    });
    assert_eq!(s.nav.view, ViewId::Processes);
}

#[test]
fn a_new_incarnation_unpauses_and_starts_over() {
    let mut s = state_with(4);
    s.handle(Action::Pause);
    s.apply(SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(99))));
    assert_eq!(s.playhead.paused, None);
    assert!(s.shown().is_none());
    assert!(s.rows.is_empty());
}

#[test]
fn paging_keeps_the_cursor_on_screen() {
    let mut model = crate::model::Model::new(Default::default());
    model.apply(SourceEvent::Msg(ServerMsg::Snapshot(fixture::large(
        0, 500,
    ))));
    let settings = Settings {
        target: "t".into(),
        theme: crate::theme::Theme::new(false),
        replay: false,
        interval_ms: None,
    };
    let mut s = State::new(model, settings, Rect::new(0, 0, 80, 24));
    let page = s.page();
    s.handle(Action::Page(1));
    assert_eq!(s.nav.tree.cursor, page);
    assert!(s.nav.tree.offset <= s.nav.tree.cursor && s.nav.tree.cursor < s.nav.tree.offset + page);
    s.handle(Action::Bottom);
    assert_eq!(s.nav.tree.cursor, 499);
    assert_eq!(s.nav.tree.offset, 500 - page);
    s.handle(Action::CollapseAll);
    assert_eq!(s.rows.len(), 1);
    s.handle(Action::ExpandAll);
    assert_eq!(s.rows.len(), 500);
}

#[test]
fn detail_follows_a_restarted_child_to_its_new_pid_and_says_so() {
    use crate::view::tests::{crashing, state_crashing};
    let mut s = state_crashing(4, &[4]);
    s.handle(Action::Move(2));
    assert_eq!(s.focused(), Some(Pid(3)), "account_alice");
    s.handle(Action::Open);
    let d = diff(&crashing(3, &[4]), &crashing(4, &[4]));
    let fx = s.apply(SourceEvent::Msg(ServerMsg::Delta(d)));
    assert_eq!(s.fetches.detail.as_ref().map(|d| d.pid), Some(Pid(104)));
    assert_eq!(
        fx,
        [
            Effect::Control(ControlRequest::Logs { pid: Pid(104) }),
            Effect::Control(ControlRequest::MessageTypes {
                pids: vec![Pid(104)]
            })
        ]
    );
    let note = s.note().unwrap();
    assert!(note.contains("following <0.3.0> → <0.104.0>"), "{note}");
    assert!(note.contains("panic: overdrawn"), "{note}");
}

#[test]
fn notes_expire() {
    let mut s = state_with(3);
    s.handle(Action::Seek(1000));
    assert!(s.note().is_some());
    s.expire_note(std::time::Instant::now());
    assert!(s.note().is_some(), "still fresh");
    s.expire_note(std::time::Instant::now() + NOTE_TTL);
    assert_eq!(s.note(), None);
}

#[test]
fn after_a_sort_the_view_shows_the_top_when_the_selection_is_on_the_first_page() {
    let mut s = state_with(3);
    s.handle(Action::Resize(80, 10)); // a page of 4 rows
    s.handle(Action::View(ViewId::Processes));
    s.handle(Action::Sort(Column::Pid));
    s.handle(Action::Bottom);
    s.handle(Action::Move(-9)); // pid 2, on row 1
    assert_eq!(s.focused(), Some(Pid(2)));
    assert!(s.nav.table.offset > 0);
    s.handle(Action::Sort(Column::Name));
    assert_eq!(s.focused(), Some(Pid(2)));
    assert_eq!(
        (s.nav.table.cursor, s.nav.table.offset),
        (3, 0),
        "account_alice, _bob, app_sup, bank_sup"
    );
}

#[test]
fn mouse_click_selects_double_click_opens_and_a_column_title_sorts() {
    let mut s = state_with(3);
    s.handle(Action::View(ViewId::Processes));
    let t0 = std::time::Instant::now();
    let first_row = s.areas().body.y + crate::layout::LIST_HEADER_ROWS;
    assert!(s.click_at(5, first_row + 2, t0).is_empty());
    assert_eq!(s.nav.table.cursor, 2);
    let later = t0 + DOUBLE_CLICK * 2;
    assert!(s.click_at(5, first_row + 2, later).is_empty(), "too slow");
    let fx = s.click_at(5, first_row + 2, later + DOUBLE_CLICK / 2);
    assert_eq!(s.view(), ViewId::Detail);
    assert!(!fx.is_empty(), "detail fetches logs");
    s.handle(Action::View(ViewId::Processes));
    // The NAME title: sorted by name, ascending.
    let header = s.areas().body.y + 1;
    s.click_at(14, header, later + DOUBLE_CLICK * 4);
    assert_eq!(s.query.sort, Column::Name);
}

#[test]
fn a_kill_from_the_observer_goes_in_the_event_log() {
    let mut s = state_with(3);
    s.on_reply(
        ControlRequest::Kill {
            pid: Pid(5),
            reason: "kill".into(),
        },
        ControlReply::Ok,
    );
    let e = s.model.events.iter().last().unwrap();
    assert_eq!((e.pid, e.who.as_str()), (Pid(5), "cache"));
    assert_eq!(e.text, "killed by the observer (kill)");
}

mod offloop;
