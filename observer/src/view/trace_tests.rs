//! The Trace view and the Detail view's talkers (issue 19), through ratatui's `TestBackend`,
//! compared with reviewed snapshots (`src/view/snapshots/`).

use super::tests::state_with;
use crate::input::Action;
use crate::source::SourceEvent;
use crate::state::{Effect, State};
use crate::vocab::{Column, ViewId};
use beamline_wire::trace::{Direction, TraceBatch, TraceEvent, TraceKind, TraceSpec, TraceTarget};
use beamline_wire::{ControlReply, ControlRequest, Pid, ServerMsg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn screen(state: &State) -> TestBackend {
    let size = state.size();
    let mut t = Terminal::new(TestBackend::new(size.width, size.height)).unwrap();
    t.draw(|f| super::draw(state, f)).unwrap();
    t.backend().clone()
}

/// What stage_3 (pid 9) might see: stage_2 casts it batches, it casts stage_4 and calls the
/// cache, answers a metrics call; one message opted in to text.
fn events() -> Vec<TraceEvent> {
    let ev = |i: u64, direction, kind, ty: &str, peer: u64, name: Option<&str>| TraceEvent {
        at_ms: 65_000 + i * 7,
        direction,
        kind,
        type_name: ty.into(),
        bytes: if ty == "Batch" { 48 } else { 16 },
        peer: Some(Pid(peer)),
        peer_name: name.map(String::from),
        handle_us: (direction == Direction::In).then_some(850 + i),
        text: (ty == "Batch").then(|| format!("Batch {{ id: {}, items: 64 }}", 40 + i)),
    };
    let mut v = Vec::new();
    for i in 0..12 {
        v.push(ev(
            i,
            Direction::In,
            TraceKind::Cast,
            "Batch",
            8,
            Some("stage_2"),
        ));
        v.push(ev(
            i,
            Direction::Out,
            TraceKind::Cast,
            "Batch",
            10,
            Some("stage_4"),
        ));
        if i % 3 == 0 {
            v.push(ev(
                i,
                Direction::Out,
                TraceKind::Call,
                "Lookup",
                5,
                Some("cache"),
            ));
        }
    }
    v.push(ev(12, Direction::In, TraceKind::Call, "Metrics", 11, None));
    v.push(ev(12, Direction::Out, TraceKind::Reply, "Stats", 11, None));
    v
}

/// Detail on stage_3, `t` pressed, the trace started and one batch received.
fn traced(ended: Option<&str>) -> State {
    traced_with(events(), ended)
}

/// [`traced`] with these events.
fn traced_with(events: Vec<TraceEvent>, ended: Option<&str>) -> State {
    let mut s = state_with(30);
    s.handle(Action::View(ViewId::Processes));
    s.handle(Action::Open);
    assert_eq!(s.fetches().detail.as_ref().map(|d| d.pid), Some(Pid(9)));
    let fx = s.handle(Action::Sort(Column::State));
    let start = ControlRequest::TraceStart {
        target: TraceTarget::Pid(Pid(9)),
        spec: TraceSpec::default(),
    };
    assert_eq!(fx, vec![Effect::Control(start.clone())]);
    s.on_reply(
        start,
        ControlReply::TraceStarted {
            trace: 1,
            pid: Pid(9),
            spec: TraceSpec::default(),
        },
    );
    s.apply(SourceEvent::Msg(ServerMsg::Trace(TraceBatch {
        trace: 1,
        pid: Pid(9),
        events,
        dropped: 3,
        ended: ended.map(String::from),
    })));
    s
}

#[test]
fn trace_view_newest_first() {
    let s = traced(None);
    assert_eq!(s.view(), ViewId::Detail);
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn trace_view_filtered_by_type_after_the_rate_limit_tripped() {
    let mut s = traced(Some("rate limit tripped: more than 500 events/s"));
    s.handle(Action::FilterStart);
    for c in "look".chars() {
        s.handle(Action::FilterInput(c));
    }
    s.handle(Action::FilterApply);
    assert_eq!(s.view(), ViewId::Detail, "the filter stays on the trace");
    insta::assert_snapshot!(screen(&s));
}

/// Calls from two clerks whose names differ only at the end, and the replies to them: each
/// reply row names the clerk it goes to (the runtime sends it, `trace.rs`), and the PEER
/// column keeps a name's end at 80 columns (`…eck/clerk-13`, not `bottleneck/cle…` twice).
#[test]
fn reply_rows_name_the_caller() {
    let mut v = Vec::new();
    for (i, (pid, name)) in [(21, "bottleneck/clerk-3"), (31, "bottleneck/clerk-13")]
        .into_iter()
        .enumerate()
    {
        let at_ms = 18_000 + 41 * i as u64;
        let ev = |direction, kind, at_ms, handle_us| TraceEvent {
            at_ms,
            direction,
            kind,
            type_name: if kind == TraceKind::Reply {
                "i64"
            } else {
                "Post"
            }
            .into(),
            bytes: 8,
            peer: Some(Pid(pid)),
            peer_name: Some(name.into()),
            handle_us,
            text: None,
        };
        // As the runtime records them: the reply while the call is handled, the call when its
        // callback returns.
        v.push(ev(Direction::Out, TraceKind::Reply, at_ms + 41, None));
        v.push(ev(Direction::In, TraceKind::Call, at_ms, Some(41_000)));
    }
    let s = traced_with(v, None);
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn trace_view_wide() {
    let mut s = traced(None);
    s.handle(Action::Resize(160, 45));
    insta::assert_snapshot!(screen(&s));
}

#[test]
fn trace_view_scrolls_and_pauses() {
    let mut s = traced(None);
    s.handle(Action::Move(5));
    s.handle(Action::Pause);
    s.apply(SourceEvent::Msg(ServerMsg::Trace(TraceBatch {
        trace: 1,
        pid: Pid(9),
        events: events(),
        dropped: 0,
        ended: None,
    })));
    let t = s.trace_open().unwrap();
    assert_eq!(t.events.len(), 2 * events().len());
    assert_eq!(
        t.shown("").len(),
        events().len(),
        "paused: the new batch waits"
    );
    assert_eq!(t.scroll, 5);
    s.handle(Action::Pause);
    assert_eq!(s.trace_open().unwrap().shown("").len(), 2 * events().len());
}

#[test]
fn detail_lists_top_senders_and_receivers() {
    let mut s = traced(None);
    let fx = s.handle(Action::Sort(Column::State));
    assert!(fx.is_empty(), "back to Detail, no new trace: {fx:?}");
    assert!(s.trace_open().is_none());
    insta::assert_snapshot!(screen(&s));
    let fx = s.handle(Action::Sort(Column::State));
    assert!(fx.is_empty(), "the running trace reopens");
    assert!(s.trace_open().is_some());
    s.handle(Action::Back);
    assert!(s.trace_open().is_none(), "Esc leaves the Trace view");
    assert_eq!(s.view(), ViewId::Detail);
}

#[test]
fn a_refused_trace_says_why() {
    let mut s = state_with(30);
    s.handle(Action::View(ViewId::Processes));
    s.handle(Action::Open);
    let fx = s.handle(Action::Sort(Column::State));
    let Some(Effect::Control(request)) = fx.into_iter().next() else {
        panic!()
    };
    s.on_reply(request, ControlReply::Error("refused: no".into()));
    assert_eq!(s.note(), Some("trace failed: refused: no"));
}
