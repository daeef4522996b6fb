//! Every screen rendered through ratatui's `TestBackend` at 80x24 and compared with a reviewed
//! snapshot (`src/view/snapshots/`).

use crate::fixture;
use crate::input::Action;
use crate::model::Model;
use crate::model::diagnosis::{Alert, AlertKind, Severity, Thresholds};
use crate::source::{ConnState, SourceEvent};
use crate::state::{Fetch, Settings, State};
use crate::theme::Theme;
use crate::vocab::{Column, ViewId};
use beamline_wire::table::diff;
use beamline_wire::{ControlReply, ControlRequest, Pid, ServerMsg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::{Constraint, Layout, Rect};

/// A state that has seen `samples` samples of the small fixture.
pub(crate) fn state_with(samples: u64) -> State {
    state_judged_by(samples, Thresholds::default())
}

/// [`state_with`], diagnosed (and its mailbox bars drawn) by `thresholds`.
pub(crate) fn state_judged_by(samples: u64, thresholds: Thresholds) -> State {
    let mut model = welcomed(thresholds);
    model.apply(SourceEvent::Msg(ServerMsg::Snapshot(fixture::small(0))));
    for seq in 1..samples {
        let d = diff(&fixture::small(seq - 1), &fixture::small(seq));
        model.apply(SourceEvent::Msg(ServerMsg::Delta(d)));
    }
    state_over(model, 80, 24)
}

/// A model connected to the fixture's runtime and welcomed by it, before any sample.
pub(crate) fn welcomed(thresholds: Thresholds) -> Model {
    let mut model = Model::new(thresholds);
    model.apply(SourceEvent::Conn(ConnState::Connected));
    model.apply(SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(0x2a))));
    model
}

/// The UI over `model` on a `width` × `height` terminal, attached to the fixture's address.
pub(crate) fn state_over(model: Model, width: u16, height: u16) -> State {
    let settings = Settings {
        target: "127.0.0.1:7420".into(),
        theme: Theme::new(false),
        replay: false,
        interval_ms: None,
    };
    State::new(model, settings, Rect::new(0, 0, width, height))
}

fn screen(state: &State) -> TestBackend {
    let size = state.size();
    let mut t = Terminal::new(TestBackend::new(size.width, size.height)).unwrap();
    t.draw(|f| super::draw(state, f)).unwrap();
    t.backend().clone()
}

#[test]
fn tree() {
    let s = state_with(12);
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn alerts_from_diagnosis_of_the_fixture() {
    let mut s = state_with(12);
    s.handle(Action::View(ViewId::Alerts));
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn tree_collapsed_with_culprit_path() {
    let mut s = state_with(12);
    s.set_alerts(vec![Alert {
        kind: AlertKind::Bottleneck,
        severity: Severity::Critical,
        processes: vec![Pid(9), Pid(8)],
        message: "stage_3 is busy 98% and its queue keeps growing".into(),
        since_ms: 65_000,
        ..Default::default()
    }]);
    s.handle(Action::Move(1));
    s.handle(Action::ToggleCollapse);
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn processes_sorted_by_mailbox() {
    let mut s = state_with(12);
    s.handle(Action::View(ViewId::Processes));
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn processes_filtered_while_typing() {
    let mut s = state_with(12);
    s.handle(Action::View(ViewId::Processes));
    s.handle(Action::Sort(Column::Name));
    s.handle(Action::FilterStart);
    for c in "stage".chars() {
        s.handle(Action::FilterInput(c));
    }
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn detail_with_history_logs_and_state() {
    let mut s = state_with(30);
    s.handle(Action::View(ViewId::Processes));
    let fx = s.handle(Action::Open);
    assert_eq!(fx.len(), 3, "logs, state and types are fetched: {fx:?}");
    s.on_reply(
        ControlRequest::Logs { pid: Pid(9) },
        ControlReply::Logs(vec![
            "INFO handling batch 41".into(),
            "WARN slow downstream".into(),
        ]),
    );
    s.on_reply(
        ControlRequest::RenderState { pid: Pid(9) },
        ControlReply::State("Stage { batch: 41, pending: 1200 }".into()),
    );
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn system() {
    let mut s = state_with(30);
    s.handle(Action::View(ViewId::System));
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn alerts_empty_and_listed() {
    let mut s = state_with(5);
    s.set_alerts(vec![]);
    s.handle(Action::View(ViewId::Alerts));
    insta::assert_snapshot!("alerts_empty", screen(&s));
    s.set_alerts(vec![
        Alert {
            kind: AlertKind::Deadlock,
            severity: Severity::Critical,
            processes: vec![Pid(3), Pid(4)],
            message: "account_alice and account_bob call each other".into(),
            since_ms: 62_000,
            ..Default::default()
        },
        Alert {
            kind: AlertKind::Overflow,
            severity: Severity::Warning,
            processes: vec![Pid(9)],
            message: "stage_3 mailbox 200/1000, full in about 20s".into(),
            since_ms: 61_000,
            ..Default::default()
        },
    ]);
    insta::assert_snapshot!("alerts_listed", screen(&s));
}

#[test]
fn help_overlay() {
    let mut s = state_with(3);
    s.handle(Action::Help);
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn kill_confirmation() {
    let mut s = state_with(3);
    s.handle(Action::Move(3));
    s.handle(Action::Kill);
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn paused_and_scrubbed_back() {
    let mut s = state_with(10);
    s.handle(Action::Pause);
    s.handle(Action::Left);
    s.handle(Action::Left);
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn disconnected_and_waiting() {
    let mut s = state_with(0);
    s.apply(SourceEvent::Conn(ConnState::Retrying {
        reason: "Connection refused (os error 111)".into(),
        retry_in_ms: 2000,
        ever_connected: true,
    }));
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn detail_fetching_then_failed() {
    let mut s = state_with(3);
    s.handle(Action::Open);
    let d = s.fetches().detail.as_ref().unwrap();
    assert_eq!(d.pid, Pid(1));
    assert_eq!(d.logs, Fetch::Pending);
    assert_eq!(d.state, Fetch::NotAsked, "app_sup did not opt in");
    s.on_reply(
        ControlRequest::Logs { pid: Pid(1) },
        ControlReply::Error("no such process".into()),
    );
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn tiny_and_zero_sized_terminals_do_not_panic() {
    for (w, h) in [(1, 1), (20, 5), (0, 0), (80, 3)] {
        let mut s = state_with(3);
        s.handle(Action::Resize(w, h));
        for v in ViewId::ALL {
            s.handle(Action::View(v));
            let _ = screen(&s);
        }
        s.handle(Action::Help);
        let _ = screen(&s);
    }
}

#[test]
fn wide_terminal_after_resize() {
    let mut s = state_with(12);
    s.handle(Action::Resize(120, 30));
    s.handle(Action::View(ViewId::Processes));
    insta::assert_snapshot!(screen(&s));
}

/// The row of the rendered tree that names `name`.
fn tree_row(state: &State, name: &str) -> String {
    let screen = screen(state);
    let buf = screen.buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .find(|row| row.contains(name))
        .unwrap_or_else(|| panic!("{name} not on screen"))
}

#[test]
fn a_threshold_moves_the_mailbox_bar_with_the_alerts() {
    // stage_1 holds 3 messages in an unbounded mailbox: nothing against the default limit of
    // 1000, half the bar against a limit of 6.
    let row = tree_row(&state_with(3), "stage_1");
    assert!(row.contains("······    3"), "{row}");
    let mut th = Thresholds::default();
    th.set("mailbox_limit=6").unwrap();
    let row = tree_row(&state_judged_by(3, th), "stage_1");
    assert!(row.contains("███···    3"), "{row}");
}

#[test]
fn a_read_only_connection_says_so_in_the_header() {
    let line = |s: &State| {
        let b = screen(s);
        (0..b.buffer().area.width)
            .map(|x| b.buffer()[(x, 0)].symbol().to_string())
            .collect::<String>()
    };
    let mut s = state_with(2);
    assert!(!line(&s).contains("read-only"), "{}", line(&s));
    let mut w = fixture::welcome(0x2a);
    w.role = beamline_wire::Role::Observe;
    s.apply(SourceEvent::Msg(ServerMsg::Welcome(w)));
    // At 80 columns node and incarnation make room for the role and missed updates.
    assert!(
        line(&s).contains("127.0.0.1:7420 · read-only") && line(&s).contains("missed 0"),
        "{}",
        line(&s)
    );
    s.handle(Action::Resize(160, 45));
    assert!(
        line(&s).contains("demo · inc 2a · read-only"),
        "{}",
        line(&s)
    );
}

/// The fixture with `account_alice` (the first child of `bank_sup`) crashing at each sample of
/// `crashes`: the old pid stays one sample as exited, a new pid takes its slot with one more
/// restart. Children carry child ids, as supervised children do.
pub(crate) fn crashing(seq: u64, crashes: &[u64]) -> beamline_wire::Snapshot {
    let mut s = fixture::small(seq);
    for p in &mut s.processes {
        p.child_id = p.name.clone();
    }
    let done: Vec<u64> = crashes.iter().copied().filter(|c| *c <= seq).collect();
    if let Some(last) = done.last() {
        let alice = s.processes.iter_mut().find(|p| p.id == Pid(3)).unwrap();
        alice.id = Pid(100 + last);
        alice.restarts = done.len() as u32;
        if *last == seq {
            let mut gone = alice.clone();
            gone.id = Pid(if done.len() == 1 {
                3
            } else {
                100 + done[done.len() - 2]
            });
            gone.restarts = done.len() as u32 - 1;
            gone.status = beamline_wire::Status::Exited {
                reason: "panic: overdrawn".into(),
            };
            s.processes.push(gone);
        }
    }
    s
}

/// A state fed `samples` samples of [`crashing`].
pub(crate) fn state_crashing(samples: u64, crashes: &[u64]) -> State {
    let mut s = state_with(0);
    s.apply(SourceEvent::Msg(ServerMsg::Snapshot(crashing(0, crashes))));
    for seq in 1..samples {
        let d = diff(&crashing(seq - 1, crashes), &crashing(seq, crashes));
        s.apply(SourceEvent::Msg(ServerMsg::Delta(d)));
    }
    s
}

fn text(state: &State) -> String {
    let screen = screen(state);
    let buf = screen.buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn pause_freezes_everything_on_screen() {
    // Only the count of samples behind may change: it is about the live runtime.
    // Only what is about the live runtime or the observer itself may change: how many samples
    // are behind, and how much history the observer keeps.
    let mask = |t: String| {
        let i = t.find(" behind)").unwrap();
        let j = t[..i].rfind(' ').unwrap();
        let t = format!("{}{}", &t[..j], &t[i..]);
        let lines: Vec<&str> = t.lines().filter(|l| !l.contains("history kept")).collect();
        lines.join("\n")
    };
    let views = [ViewId::Tree, ViewId::System, ViewId::Alerts, ViewId::Memory];
    let mut s = state_with(8);
    s.handle(Action::Pause);
    let mut before = Vec::new();
    for v in views {
        s.handle(Action::View(v));
        let t = text(&s);
        assert!(t.contains("PAUSED at 0:01:07"), "{t}");
        before.push(mask(t));
    }
    for seq in 8..12 {
        let d = diff(&fixture::small(seq - 1), &fixture::small(seq));
        s.apply(SourceEvent::Msg(ServerMsg::Delta(d)));
    }
    for (v, b) in views.into_iter().zip(before) {
        s.handle(Action::View(v));
        assert_eq!(mask(text(&s)), b, "{v:?} moved while paused");
    }
}

#[test]
fn a_crash_loop_is_in_the_banner_and_the_event_log() {
    let mut s = state_crashing(12, &[4, 7, 10]);
    let tree = text(&s);
    assert!(
        tree.contains("⟳ crash loop: account_alice restarted 3×"),
        "{tree}"
    );
    s.handle(Action::View(ViewId::Events));
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn a_restarted_child_keeps_its_place_among_its_siblings() {
    let s = state_crashing(6, &[4]);
    let tree = text(&s);
    let alice = tree.find("account_alice").unwrap();
    let bob = tree.find("account_bob").unwrap();
    assert!(alice < bob, "{tree}");
}

#[test]
fn screens_at_200x60() {
    let mut s = state_with(30);
    s.handle(Action::Resize(200, 60));
    insta::assert_snapshot!("tree_200x60", screen(&s));
    s.handle(Action::View(ViewId::Processes));
    insta::assert_snapshot!("processes_200x60", screen(&s));
    s.handle(Action::Open);
    insta::assert_snapshot!("detail_200x60", screen(&s));
}

#[test]
fn memory_view() {
    let mut s = state_with(12);
    s.handle(Action::View(ViewId::Memory));
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn every_member_of_a_deadlock_is_marked() {
    let mut s = state_with(12);
    s.set_alerts(vec![Alert {
        kind: AlertKind::Deadlock,
        severity: Severity::Critical,
        processes: vec![Pid(3), Pid(4)],
        message: "two accounts are blocked calling each other".into(),
        since_ms: 62_000,
        ..Default::default()
    }]);
    assert!(tree_row(&s, "account_alice").contains("! account_alice"));
    assert!(tree_row(&s, "account_bob").contains("! account_bob"));
}

#[test]
fn a_growing_state_is_highlighted_in_the_state_column() {
    let mut s = state_with(12);
    s.set_alerts(vec![Alert {
        kind: AlertKind::StateGrowth,
        severity: Severity::Warning,
        processes: vec![Pid(5)],
        message: "state grew from 1.2K to 3.2K over 10 samples".into(),
        since_ms: 62_000,
        ..Default::default()
    }]);
    assert!(
        tree_row(&s, "cache").contains("↑3.2K"),
        "{}",
        tree_row(&s, "cache")
    );
}

#[test]
fn no_color_and_the_light_theme() {
    use ratatui::style::Color;
    for (theme, banned) in [
        (Theme::new(false), None),
        (
            Theme::light(true),
            Some([Color::Yellow, Color::Cyan, Color::White, Color::DarkGray]),
        ),
    ] {
        let mut s = state_with(12);
        s.set_theme(theme);
        for v in ViewId::ALL {
            s.handle(Action::View(v));
            let shown = screen(&s);
            for cell in shown.buffer().content() {
                match banned {
                    None => assert_eq!(
                        (cell.fg, cell.bg),
                        (Color::Reset, Color::Reset),
                        "a colour without colours in {v:?}"
                    ),
                    Some(b) => assert!(
                        !b.contains(&cell.fg),
                        "{:?} text on a light background in {v:?}",
                        cell.fg
                    ),
                }
            }
        }
    }
}

/// The `↑` of a rising mailbox is judged by the history up to the shown sample: paused before
/// stage_3's mailbox had risen for a trend window, the tree shows no `↑` however long it rises
/// afterwards; live again, it does.
#[test]
fn a_paused_tree_marks_growth_from_its_own_sample() {
    let stage_3 = |s: &State| -> String {
        let buf = screen(s).buffer().clone();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
            })
            .skip(4) // the header's banner may name it too
            .find(|l| l.contains("stage_3"))
            .unwrap()
    };
    let mut s = state_with(3);
    assert!(!stage_3(&s).contains('↑'), "{}", stage_3(&s));
    s.handle(Action::Pause);
    for seq in 3..9 {
        let d = diff(&fixture::small(seq - 1), &fixture::small(seq));
        s.apply(SourceEvent::Msg(ServerMsg::Delta(d)));
    }
    assert!(!stage_3(&s).contains('↑'), "paused: {}", stage_3(&s));
    s.handle(Action::Pause);
    assert!(stage_3(&s).contains('↑'), "live: {}", stage_3(&s));
}

/// A path too long for the facts column is cut one column short of the right-hand side, so it
/// never runs into the text beside it ("…stage_3Batch" read as one word at 80 columns).
#[test]
fn a_long_path_in_detail_stops_short_of_the_text_beside_it() {
    let mut model = welcomed(Thresholds::default());
    let mut snap = fixture::small(0);
    for p in &mut snap.processes {
        if let Some(name) = p.name.as_mut() {
            name.push_str("_with_a_long_name");
        }
    }
    model.apply(SourceEvent::Msg(ServerMsg::Snapshot(snap)));
    let mut s = state_over(model, 80, 24);
    s.handle(Action::View(ViewId::Processes));
    s.handle(Action::Open);
    let screen = screen(&s);
    let buf = screen.buffer();
    let row = (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .find(|r| r.starts_with("path"))
        .expect("a path row");
    // The facts take 55% of the width; the column at their edge stays blank.
    let [facts, _] = Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)])
        .areas(Rect::new(0, 0, 80, 1));
    let edge = row.chars().nth(facts.width as usize - 1);
    assert_eq!(edge, Some(' '), "{row:?}");
    assert!(row.contains("app_sup_with_a_long_name"), "{row:?}");
}
