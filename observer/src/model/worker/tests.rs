use super::*;
use crate::fixture;
use beamline_wire::table::diff;
use beamline_wire::{Pid, ServerMsg};

fn events() -> Vec<SourceEvent> {
    let d = |a, b| {
        SourceEvent::Msg(ServerMsg::Delta(diff(
            &fixture::small(a),
            &fixture::small(b),
        )))
    };
    vec![
        SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))),
        SourceEvent::Msg(ServerMsg::Snapshot(fixture::small(0))),
        d(0, 1),
        d(1, 2),
        SourceEvent::Reset,
        d(2, 3), // applies to nothing: the reset forgot the table
        SourceEvent::Msg(ServerMsg::Snapshot(fixture::small(3))),
        d(3, 4),
        SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(2))),
        d(4, 5), // applies to nothing: a new incarnation forgot the table
        SourceEvent::Msg(ServerMsg::Snapshot(fixture::small(5))),
        d(5, 6),
        d(7, 8), // a gap
        d(6, 7),
    ]
}

/// Every series of `m`'s history, by pid of its newest moment, plus the runtime's.
fn series(m: &Model) -> Vec<Vec<crate::model::Point>> {
    let mut out: Vec<_> = (m.latest().into_iter())
        .flat_map(|t| t.processes.iter().map(|p| p.id))
        .map(|pid: Pid| {
            m.history
                .process(pid)
                .map(|r| r.iter().copied().collect())
                .unwrap_or_default()
        })
        .collect();
    out.push(Vec::new());
    out
}

fn same(shown: &Model, inline: &Model) {
    assert_eq!(shown.latest(), inline.latest());
    assert_eq!(shown.kept(), inline.kept());
    assert_eq!(shown.gaps, inline.gaps);
    assert_eq!(shown.alerts, inline.alerts);
    assert_eq!(shown.resolved, inline.resolved);
    assert_eq!(series(shown), series(inline));
    let sys = |m: &Model| m.history.system.iter().copied().collect::<Vec<_>>();
    assert_eq!(sys(shown), sys(inline));
    let log = |m: &Model| m.events.iter().cloned().collect::<Vec<_>>();
    assert_eq!(log(shown), log(inline));
}

/// The screen's copy after each frame equals a model applied in place, although its history
/// is one of two copies taking turns (each caught up on what it missed while on screen).
#[test]
fn each_frame_shows_what_applying_in_place_gives() {
    let mut inline = Model::new(Default::default());
    let mut worker = Worker::new(Default::default());
    let mut shown = Model::new(Default::default());
    for ev in events() {
        let want = inline.apply(ev.clone());
        assert!(worker.has_history());
        let change = worker.apply(Input::Event(ev)).unwrap();
        assert_eq!(change, want);
        let frame = worker.frame(change, ());
        assert!(!worker.has_history(), "lent to the screen");
        let old = std::mem::replace(&mut shown, frame.model);
        same(&shown, &inline);
        assert!(worker.reclaim(old));
    }
    assert_eq!(inline.gaps, 2, "the new incarnation forgot the first");
}

/// Frames that pile up before the screen swaps them in each still show their own sample.
#[test]
fn a_frame_not_yet_swapped_in_keeps_its_sample() {
    let mut inline = Model::new(Default::default());
    let mut worker = Worker::new(Default::default());
    let evs = events();
    let mut frames = Vec::new();
    let mut want = Vec::new();
    let mut back = VecDeque::from([Model::new(Default::default())]);
    for ev in evs.into_iter().take(4) {
        inline.apply(ev.clone());
        if !worker.has_history() {
            worker.reclaim(back.pop_front().unwrap());
        }
        let c = worker.apply(Input::Event(ev)).unwrap();
        frames.push(worker.frame(c, ()));
        want.push(series(&inline));
        // The screen swaps in each frame one step late.
        if frames.len() >= 2 {
            let f = frames.remove(0);
            assert_eq!(series(&f.model), want.remove(0));
            back.push_back(f.model);
        }
    }
}

#[test]
fn notes_are_recorded_and_counted() {
    let mut worker = Worker::new(Default::default());
    let ev = Event {
        at_ms: 0,
        kind: crate::model::events::EventKind::Observer,
        pid: Pid(1),
        who: "a".into(),
        text: "killed".into(),
    };
    assert_eq!(worker.apply(Input::Note(ev.clone())), None);
    let c = worker
        .apply(Input::Event(SourceEvent::Msg(ServerMsg::Snapshot(
            fixture::small(0),
        ))))
        .unwrap();
    let f = worker.frame(c, ());
    assert_eq!(f.notes, 1);
    assert_eq!(f.model.events.iter().last(), Some(&ev));
}

#[test]
fn a_pipeline_hands_back_frames_in_order() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut inline = Model::new(Default::default());
    let mut pipe = Pipeline::spawn(Default::default(), |m: &Model| {
        m.latest().and_then(|t| t.seq)
    })
    .unwrap();
    let mut shown = Model::new(Default::default());
    rt.block_on(async {
        for ev in events() {
            let want = inline.apply(ev.clone());
            assert!(pipe.ready());
            pipe.send(Input::Event(ev)).unwrap();
            let f = pipe.recv().await.unwrap();
            assert_eq!(f.change, want);
            assert_eq!(f.extra, inline.latest().and_then(|t| t.seq));
            let old = std::mem::replace(&mut shown, f.model);
            same(&shown, &inline);
            pipe.give_back(old);
        }
    });
}
