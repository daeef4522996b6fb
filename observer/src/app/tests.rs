//! The loop without a terminal: keys answered while the worker holds a sample, and frames that
//! show what applying in place shows.

use super::*;
use crate::fixture;
use crate::input::Action;
use crate::source::{ControlFuture, SourceEvent};
use crate::state::Settings;
use crate::vocab::{Column, ViewId};
use beamline_wire::table::diff;
use beamline_wire::{Pid, ServerMsg, Snapshot};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Yields what the test sends, then waits for more.
struct Fed(mpsc::UnboundedReceiver<SourceEvent>);

impl Source for Fed {
    async fn next(&mut self) -> Option<SourceEvent> {
        match self.0.recv().await {
            Some(ev) => Some(ev),
            None => std::future::pending().await,
        }
    }
    fn missed(&self) -> u64 {
        0
    }
    fn control(&self, _: ControlRequest) -> ControlFuture {
        Box::pin(async { ControlReply::Ok })
    }
    fn describe(&self) -> String {
        "t".into()
    }
}

fn state() -> State {
    let settings = Settings {
        target: "t".into(),
        theme: Theme::new(false),
        replay: false,
        interval_ms: None,
    };
    State::new(
        Model::new(Thresholds::default()),
        settings,
        Rect::new(0, 0, 120, 40),
    )
}

type Keys = std::pin::Pin<Box<dyn futures_util::Stream<Item = io::Result<Event>>>>;

fn keys() -> (mpsc::UnboundedSender<io::Result<Event>>, Keys) {
    let (tx, mut rx) = mpsc::unbounded_channel::<io::Result<Event>>();
    (
        tx,
        Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))),
    )
}

fn key(c: char) -> io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

/// Take turns until `done`; each turn waits for something (a frame, rows, a key, the tick), so
/// the bound is generous.
async fn until(core: &mut Core<'_, Fed>, keys: &mut Keys, done: impl Fn(&Core<'_, Fed>) -> bool) {
    for _ in 0..200 {
        if done(core) {
            return;
        }
        assert_eq!(core.turn(keys).await.unwrap(), Turn::Continue);
    }
    panic!("not reached within 200 turns");
}

/// Every event handed to the worker came back, and the rows on screen answer the newest order.
fn settled(c: &Core<'_, Fed>) -> bool {
    c.source.0.is_empty() && c.pipeline.idle() && c.state.rows_current()
}

fn shown_seq(c: &Core<'_, Fed>) -> Option<u64> {
    c.state.shown().and_then(|m| m.seq)
}

/// The pids of the rows, in order.
fn pids(s: &State) -> Vec<Pid> {
    let Some(m) = s.shown() else { return vec![] };
    (0..s.rows().len())
        .filter_map(|i| s.rows().pid_at(m, i))
        .collect()
}

/// Draw the screen as the loop does; the text of its rows.
fn draw(s: &State) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    t.draw(|f| view::draw(s, f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

/// The worker waits at a barrier before applying a delta: keys are answered and drawn from the
/// sample on screen meanwhile (a cursor move, a switch to the table, whose rows the sorter
/// thread computes), and the held sample lands once the barrier opens.
#[tokio::test]
async fn a_key_is_answered_and_drawn_while_the_worker_holds_a_sample() {
    const N: usize = 20_000;
    let (s0, s1) = (fixture::large(0, N), fixture::large(1, N));
    let (feed, rx) = mpsc::unbounded_channel();
    let mut source = Fed(rx);
    let (open, barrier) = std::sync::mpsc::channel::<()>();
    let held = |i: &Input| matches!(i, Input::Event(SourceEvent::Msg(ServerMsg::Delta(_))));
    let mut core = Core::new(&mut source, state(), Thresholds::default(), move |i| {
        if held(i) {
            barrier.recv().unwrap();
        }
    })
    .unwrap();
    let (key_tx, mut keys) = keys();
    feed.send(SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))))
        .unwrap();
    feed.send(SourceEvent::Msg(ServerMsg::Snapshot(s0.clone())))
        .unwrap();
    until(&mut core, &mut keys, |c| {
        settled(c) && shown_seq(c) == Some(0)
    })
    .await;
    assert_eq!(core.state.rows().len(), N);
    feed.send(SourceEvent::Msg(ServerMsg::Delta(diff(&s0, &s1))))
        .unwrap();
    until(&mut core, &mut keys, |c| c.source.0.is_empty()).await;
    assert!(!core.pipeline.idle(), "the worker holds the delta");

    key_tx.send(key('j')).unwrap();
    until(&mut core, &mut keys, |c| c.state.nav().tree.cursor == 1).await;
    assert_eq!(core.state.focused(), Some(Pid(2)), "the second row: sup_0");
    let screen = draw(&core.state).join("\n");
    assert!(screen.contains("sup_0"), "{screen}");
    key_tx.send(key('2')).unwrap();
    until(&mut core, &mut keys, |c| {
        c.state.view() == ViewId::Processes && c.state.rows_current()
    })
    .await;
    assert_eq!(core.state.rows().len(), N, "sorted off the loop meanwhile");
    assert!(draw(&core.state).join("\n").contains("worker_"));
    assert!(!core.pipeline.idle(), "the worker still holds the delta");
    assert_eq!(shown_seq(&core), Some(0));

    open.send(()).unwrap();
    until(&mut core, &mut keys, |c| {
        settled(c) && shown_seq(c) == Some(1)
    })
    .await;
    assert_eq!(core.state.model().gaps, 0);
}

/// Samples where a worker slot crashes and a mailbox builds up: alerts, events and history all
/// have something to say.
fn samples() -> Vec<Snapshot> {
    (0..12)
        .map(|seq| {
            let mut s = fixture::small(seq);
            for p in &mut s.processes {
                if p.name.as_deref() == Some("account_bob") {
                    p.mailbox_len = 2_000 * seq;
                    p.busy = 0.99;
                }
            }
            s
        })
        .collect()
}

/// On a fixed sequence of samples, with keys between them, the loop shows what the state shows
/// when every sample is applied in place on the loop (as before the worker): the same rows in
/// the same order, the same alerts, the same event log and the same history.
#[tokio::test]
async fn frames_show_what_applying_in_place_shows() {
    let mut inline = state();
    let (feed, rx) = mpsc::unbounded_channel();
    let mut source = Fed(rx);
    let mut core = Core::new(&mut source, state(), Thresholds::default(), |_| {}).unwrap();
    let (_key_tx, mut keys) = keys();
    let snaps = samples();
    let mut events = vec![
        SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))),
        SourceEvent::Msg(ServerMsg::Snapshot(snaps[0].clone())),
    ];
    events.extend(
        (1..snaps.len())
            .map(|i| SourceEvent::Msg(ServerMsg::Delta(diff(&snaps[i - 1], &snaps[i])))),
    );
    let actions = [
        (3, Action::View(ViewId::Processes)),
        (5, Action::Sort(Column::Busy)),
        (6, Action::Reverse),
        (7, Action::View(ViewId::Tree)),
        (8, Action::CollapseAll),
        (9, Action::ExpandAll),
        (10, Action::FilterStart),
        (10, Action::FilterInput('a')),
    ];
    let mut alerted = false;
    for (i, ev) in events.into_iter().enumerate() {
        inline.apply(ev.clone());
        feed.send(ev).unwrap();
        for (_, a) in actions.iter().filter(|(at, _)| *at == i) {
            inline.handle(*a);
            core.state.handle(*a);
            core.hand_over();
        }
        until(&mut core, &mut keys, |c| {
            settled(c) && c.state.model().latest() == inline.model().latest()
        })
        .await;
        let (got, want) = (&core.state, &inline);
        assert_eq!(pids(got), pids(want), "rows after event {i}");
        assert_eq!(got.focused(), want.focused());
        assert_eq!(got.alerts(), want.alerts(), "alerts after event {i}");
        assert_eq!(got.model().resolved, want.model().resolved);
        let log = |s: &State| s.model().events.iter().cloned().collect::<Vec<_>>();
        assert_eq!(log(got), log(want));
        for p in want.shown().into_iter().flat_map(|m| m.processes.iter()) {
            assert_eq!(
                got.model().history.process(p.id),
                want.model().history.process(p.id)
            );
        }
        assert_eq!(draw(got), draw(want), "screen after event {i}");
        alerted |= !want.alerts().is_empty();
    }
    assert!(alerted, "the samples raise alerts");
}
