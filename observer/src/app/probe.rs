//! A measurement of the interactive loop, for `benches/keys.rs`: the real `Core` and the
//! real drawing (to a ratatui `TestBackend`), fed a snapshot and then a delta of `n` processes
//! all changing every interval, while a thread of its own presses keys at a steady pace. For
//! each key: the time from the press to the end of the first frame drawn after the loop
//! handled it, and to the first frame whose rows answer it (a sort is answered off the loop).
//! Not part of the observer's interface.

use super::{Core, Turn};
use crate::fixture;
use crate::input::Action;
use crate::model::Model;
use crate::model::diagnosis::Thresholds;
use crate::source::{ControlFuture, Source, SourceEvent};
use crate::state::{Settings, State};
use crate::theme::Theme;
use crate::view;
use crate::vocab::ViewId;
use beamline_wire::table::diff;
use beamline_wire::{ControlReply, ControlRequest, ServerMsg};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Press to the first frame drawn after the key was handled.
    pub answered: Vec<Duration>,
    /// Press to the first frame whose rows answer the key.
    pub rows: Vec<Duration>,
    /// How long drawing each frame took.
    pub draws: Vec<Duration>,
    /// Samples on screen by the end.
    pub samples: u64,
}

/// Samples precomputed, then handed out one per interval.
struct Paced {
    events: VecDeque<SourceEvent>,
    next_at: tokio::time::Instant,
    every: Duration,
}

impl Source for Paced {
    async fn next(&mut self) -> Option<SourceEvent> {
        if self.events.is_empty() {
            return std::future::pending().await;
        }
        tokio::time::sleep_until(self.next_at).await;
        self.next_at += self.every;
        self.events.pop_front()
    }
    fn missed(&self) -> u64 {
        0
    }
    fn control(&self, _: ControlRequest) -> ControlFuture {
        Box::pin(async { ControlReply::Ok })
    }
    fn describe(&self) -> String {
        "probe".into()
    }
}

/// Run the loop over `samples` samples of `n` processes, one per `every`, pressing `keys` in
/// turn every `key_every`, on a `width`×`height` screen showing the Processes view.
pub fn run(
    n: usize,
    samples: u64,
    every: Duration,
    keys: &[char],
    key_every: Duration,
    (width, height): (u16, u16),
) -> std::io::Result<Report> {
    let mut events = VecDeque::from([
        SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))),
        SourceEvent::Msg(ServerMsg::Snapshot(fixture::large(0, n))),
    ]);
    let mut prev = fixture::large(0, n);
    for seq in 1..samples {
        let next = fixture::large(seq, n);
        events.push_back(SourceEvent::Msg(ServerMsg::Delta(diff(&prev, &next))));
        prev = next;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let keys = keys.to_vec();
    rt.block_on(async move {
        let mut source = Paced {
            events,
            next_at: tokio::time::Instant::now(),
            every,
        };
        let settings = Settings {
            target: "probe".into(),
            theme: Theme::new(true),
            replay: false,
            interval_ms: None,
        };
        let mut state = State::new(
            Model::new(Thresholds::default()),
            settings,
            Rect::new(0, 0, width, height),
        );
        state.handle(Action::View(ViewId::Processes));
        let mut core = Core::new(&mut source, state, Thresholds::default(), |_| {})?;
        measure(&mut core, samples, every, keys, key_every, (width, height)).await
    })
}

async fn measure<S: Source>(
    core: &mut Core<'_, S>,
    samples: u64,
    every: Duration,
    keys: Vec<char>,
    key_every: Duration,
    (width, height): (u16, u16),
) -> std::io::Result<Report> {
    let (press_tx, mut press_rx) = mpsc::unbounded_channel::<(Instant, char)>();
    let presser = std::thread::spawn(move || {
        for c in keys.iter().cycle() {
            std::thread::sleep(key_every);
            if press_tx.send((Instant::now(), *c)).is_err() {
                return;
            }
        }
    });
    // Presses the loop took, waiting for the frame that answers them.
    let handled: Rc<RefCell<Vec<Instant>>> = Rc::default();
    let taken = handled.clone();
    let mut key_stream = futures_util::stream::poll_fn(move |cx| {
        press_rx.poll_recv(cx).map(|p| {
            p.map(|(at, c)| {
                taken.borrow_mut().push(at);
                Ok(Event::Key(KeyEvent::new(
                    KeyCode::Char(c),
                    KeyModifiers::NONE,
                )))
            })
        })
    });
    let Ok(mut terminal) = Terminal::new(TestBackend::new(width, height));
    let mut report = Report::default();
    let mut unsorted: Vec<Instant> = Vec::new();
    let end = Instant::now() + every * (samples as u32 + 1);
    while Instant::now() < end {
        let t = Instant::now();
        let Ok(_) = terminal.draw(|f| view::draw(&core.state, f));
        let drawn = Instant::now();
        report.draws.push(drawn - t);
        for at in handled.borrow_mut().drain(..) {
            report.answered.push(drawn - at);
            unsorted.push(at);
        }
        if core.state.rows_current() {
            report.rows.extend(unsorted.drain(..).map(|at| drawn - at));
        }
        let turn = tokio::time::timeout(end - Instant::now(), core.turn(&mut key_stream)).await;
        if let Ok(t) = turn
            && t? == Turn::Quit
        {
            break;
        }
    }
    report.samples = core.state.model().latest().and_then(|m| m.seq).unwrap_or(0);
    drop(key_stream);
    let _ = presser.join();
    Ok(report)
}
