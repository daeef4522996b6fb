//! OTP states the observer shows: a supervisor's children stuck restarting (Tree and Detail) and
//! the keys a process holds in a `beamline::Registry` (Detail, and the `/` filter).

use super::tests::{state_over, welcomed};
use crate::fixture;
use crate::input::Action;
use crate::model::diagnosis::Thresholds;
use crate::source::SourceEvent;
use crate::state::{Rows, State};
use crate::vocab::ViewId;
use beamline_wire::{Pid, RegisteredKeys, ServerMsg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The small fixture with `pipeline_sup` retrying 2 children and `stage_2` holding 5 keys, on an
/// 80x24 screen.
fn state() -> State {
    state_sized(80, 24)
}

/// [`state`] on a screen tall enough for all of Detail's facts.
fn tall() -> State {
    state_sized(100, 36)
}

fn state_sized(width: u16, height: u16) -> State {
    let mut snap = fixture::small(0);
    for p in &mut snap.processes {
        match p.id.0 {
            6 => p.supervisor.as_mut().expect("a supervisor").restarting = 2,
            8 => {
                p.keys = Some(RegisteredKeys {
                    shown: vec!["\"orders\"".into(), "(\"topic\", \"news\")".into()],
                    more: 3,
                })
            }
            _ => {}
        }
    }
    let mut model = welcomed(Thresholds::default());
    model.apply(SourceEvent::Msg(ServerMsg::Snapshot(snap)));
    state_over(model, width, height)
}

fn screen(state: &State) -> TestBackend {
    let size = state.size();
    let mut t = Terminal::new(TestBackend::new(size.width, size.height)).unwrap();
    t.draw(|f| super::draw(state, f)).unwrap();
    t.backend().clone()
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

/// Type `filter` in the Processes view; the pids it leaves.
fn filtered(s: &mut State, filter: &str) -> Vec<Pid> {
    s.handle(Action::View(ViewId::Processes));
    s.handle(Action::FilterCancel);
    s.handle(Action::FilterStart);
    for c in filter.chars() {
        s.handle(Action::FilterInput(c));
    }
    s.handle(Action::FilterApply);
    let m = s.shown().expect("a sample").clone();
    match s.rows() {
        Rows::Table(rows) => rows.iter().map(|i| m.processes[*i as usize].id).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tree_marks_a_supervisor_with_children_restarting() {
    let s = state();
    let screen = text(&s);
    let row = screen.lines().find(|l| l.contains("pipeline_sup")).unwrap();
    assert!(row.contains("pipeline_sup ↻2"), "{row}");
    let others = screen.lines().filter(|l| l.contains('↻')).count();
    assert_eq!(
        others, 1,
        "only the supervisor retrying children is marked:\n{screen}"
    );
    insta::assert_snapshot!(self::screen(&s));
}

#[test]
fn detail_of_a_supervisor_counts_its_children_restarting() {
    let mut s = tall();
    assert_eq!(filtered(&mut s, "pipeline_sup"), vec![Pid(6)]);
    s.handle(Action::Open);
    let screen = text(&s);
    assert!(
        screen.contains("retrying  2 restarting: restart failed, retried"),
        "{screen}"
    );
}

#[test]
fn the_filter_finds_a_process_by_registered_key() {
    let mut s = state();
    assert_eq!(filtered(&mut s, "key:orders"), vec![Pid(8)]);
    assert_eq!(filtered(&mut s, "key:news"), vec![Pid(8)]);
    // Plain text matches keys as well as names.
    assert_eq!(filtered(&mut s, "orders"), vec![Pid(8)]);
    // `key:` matches keys only, not names.
    assert_eq!(filtered(&mut s, "key:stage"), Vec::<Pid>::new());
}

#[test]
fn detail_lists_registered_keys() {
    let mut s = tall();
    assert_eq!(filtered(&mut s, "key:orders"), vec![Pid(8)]);
    s.handle(Action::Open);
    let screen = text(&s);
    assert!(
        screen.contains("keys      \"orders\", (\"topic\", \"news\") +3"),
        "{screen}"
    );
    insta::assert_snapshot!(self::screen(&s));
}
