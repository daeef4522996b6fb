//! The interactive loop: one `tokio::select!` over terminal events, the source, the samples
//! prepared off the loop (see [`crate::model::worker`]), control replies, a tick and termination
//! signals; each branch updates the state, then the screen is drawn.

use crate::input;
use crate::model::Model;
use crate::model::diagnosis::Thresholds;
use crate::model::worker::Pipeline;
use crate::source::{EmbeddedSource, Feed, Recorded, Source};
use crate::state::{Effect, Settings, State};
use crate::theme::Theme;
use crate::view;
use beamline_wire::{ControlReply, ControlRequest};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, EventStream};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use ratatui::layout::Rect;
use std::io;
use std::time::Duration;
use tokio::sync::mpsc;

/// Settings of an interactive session.
#[derive(Clone, Debug)]
pub struct Options {
    /// Use colours (false with `--no-color` or when `NO_COLOR` is set).
    pub color: bool,
    /// Ask the runtime for this sampling interval once connected.
    pub interval_ms: Option<u64>,
    /// Diagnosis thresholds.
    pub thresholds: Thresholds,
    /// Also save everything received to this recording.
    pub record: Option<std::path::PathBuf>,
    /// Panics for which this returns true do not end the program (an embedding runtime catches
    /// them, e.g. a crash inside one of its processes): the terminal is left as it is and no
    /// other panic hook runs. `None`: every panic restores the terminal.
    pub ignore_panic: Option<fn() -> bool>,
}

impl Default for Options {
    /// Colours unless `NO_COLOR` is set (see <https://no-color.org>), runtime's interval.
    fn default() -> Self {
        Options {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            interval_ms: None,
            thresholds: Thresholds::default(),
            record: None,
            ignore_panic: None,
        }
    }
}

/// Puts the terminal back however the loop ends (return, error or unwinding panic).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = crossterm::execute!(io::stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}

/// Run the TUI over `source` until the user quits or a termination signal arrives; then the
/// terminal is restored and the source closed (a recording finishes writing; if it cannot,
/// the error is that [`crate::source::Trouble`]).
pub async fn run<S: Source>(mut source: S, opts: Options) -> io::Result<()> {
    let result = session(&mut source, opts).await;
    let trouble = source.close().await;
    result?;
    // A recording that could not be finished: the error wraps the Trouble itself.
    trouble.map_or(Ok(()), |t| Err(io::Error::other(t)))
}

/// Run the TUI over a runtime in the same process until the user quits.
///
/// `feed` is the runtime's observation subscription (see [`Feed`]); with `opts.record` set,
/// everything received is also saved as a recording.
pub async fn run_embedded<F: Feed>(feed: F, opts: Options) -> std::io::Result<()> {
    let src = EmbeddedSource::spawn(feed);
    match opts.record.clone() {
        Some(path) => {
            let rec = Recorded::create(src, &path).map_err(std::io::Error::other)?;
            run(rec, opts).await
        }
        None => run(src, opts).await,
    }
}

/// Take over the terminal: raw mode and the alternate screen (ratatui's panic hook restores
/// them) and mouse capture (undone by our hook unless `ignore` says the panic is caught).
fn take_terminal(ignore: Option<fn() -> bool>) -> io::Result<(DefaultTerminal, Restore)> {
    let terminal = ratatui::try_init()?;
    let restore = Restore;
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if ignore.is_some_and(|caught| caught()) {
            return;
        }
        let _ = crossterm::execute!(io::stdout(), DisableMouseCapture);
        prev(info);
    }));
    crossterm::execute!(io::stdout(), EnableMouseCapture)?;
    Ok((terminal, restore))
}

async fn session<S: Source>(source: &mut S, opts: Options) -> io::Result<()> {
    let (mut terminal, _restore) = take_terminal(opts.ignore_panic)?;
    let size = terminal.size()?;
    let settings = Settings {
        target: source.describe(),
        theme: Theme::from_env(opts.color),
        replay: source.playback(crate::source::Playback::Resume),
        interval_ms: opts.interval_ms,
    };
    let state = State::new(
        Model::new(opts.thresholds.clone()),
        settings,
        Rect::new(0, 0, size.width, size.height),
    );
    let mut core = Core::new(source, state, Pipeline::spawn()?);
    let mut events = EventStream::new();
    let mut signals = Signals::new()?;
    // For the end-to-end test that the terminal survives a panic (tests/tests/observer.rs):
    // panic once the first sample is on screen.
    let induced_panic = std::env::var_os("BEAMLINE_OBSERVER_TEST_PANIC").is_some();
    loop {
        terminal.draw(|f| view::draw(&core.state, f))?;
        if induced_panic && core.state.model().latest().is_some() {
            panic!("induced panic (BEAMLINE_OBSERVER_TEST_PANIC)");
        }
        let turn = tokio::select! {
            t = core.turn(&mut events) => t?,
            _ = signals.recv() => Turn::Quit,
        };
        if turn == Turn::Quit {
            return Ok(());
        }
    }
}

/// Whether the loop goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Turn {
    Continue,
    Quit,
}

/// The loop without the terminal: the state, the source, the pipeline preparing its samples,
/// the replies to control requests and the tick. One [`Core::turn`] waits for whichever comes
/// first, so a key is handled while a sample is still being prepared.
struct Core<'s, S: Source> {
    source: &'s mut S,
    state: State,
    pipeline: Pipeline,
    source_open: bool,
    reply_tx: mpsc::UnboundedSender<(ControlRequest, ControlReply)>,
    replies: mpsc::UnboundedReceiver<(ControlRequest, ControlReply)>,
    tick: tokio::time::Interval,
}

impl<'s, S: Source> Core<'s, S> {
    fn new(source: &'s mut S, state: State, pipeline: Pipeline) -> Self {
        let (reply_tx, replies) = mpsc::unbounded_channel();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Core {
            source,
            state,
            pipeline,
            source_open: true,
            reply_tx,
            replies,
            tick,
        }
    }

    /// Wait for one thing to happen (a terminal event, a source event to hand to the pipeline,
    /// a prepared sample to commit, a reply, the tick), fold it in and carry out its effects.
    async fn turn<K>(&mut self, keys: &mut K) -> io::Result<Turn>
    where
        K: futures_util::Stream<Item = io::Result<crossterm::event::Event>> + Unpin,
    {
        let mut effects = Vec::new();
        tokio::select! {
            ev = keys.next() => match ev {
                Some(Ok(ev)) => {
                    if let Some(a) = input::event(&ev, self.state.mode()) {
                        effects = self.state.handle(a);
                    }
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(Turn::Quit),
            },
            // Samples go to the pipeline in order; the source waits while it is full.
            ev = self.source.next(), if self.source_open && self.pipeline.ready() => match ev {
                Some(ev) => {
                    if let Err(ev) = self.pipeline.send(ev) {
                        // The pipeline's thread is gone (it panicked): fold in place instead.
                        effects = self.state.apply(*ev);
                    }
                }
                None => self.source_open = false,
            },
            Some(prepared) = self.pipeline.recv() => effects = self.state.commit(prepared),
            Some((req, reply)) = self.replies.recv() => self.state.on_reply(req, reply),
            _ = self.tick.tick() => {
                self.state.set_source_missed(self.source.missed());
                self.state.set_target(self.source.describe());
                self.state.expire_note(std::time::Instant::now());
            }
        }
        for fx in effects {
            match fx {
                Effect::Quit => return Ok(Turn::Quit),
                Effect::Control(req) => {
                    let fut = self.source.control(req.clone());
                    let tx = self.reply_tx.clone();
                    tokio::spawn(async move {
                        let _ = tx.send((req, fut.await));
                    });
                }
                Effect::Playback(cmd) => {
                    self.source.playback(cmd);
                    self.state.set_target(self.source.describe());
                }
            }
        }
        Ok(Turn::Continue)
    }
}

/// SIGINT and SIGTERM (Ctrl-C in raw mode arrives as a key instead).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {},
            _ = self.int.recv() => {},
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::model::worker::Preparer;
    use crate::source::{ControlFuture, SourceEvent};
    use crate::state::Settings;
    use crate::vocab::ViewId;
    use beamline_wire::ServerMsg;
    use beamline_wire::table::diff;
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

    /// Yields its events, then waits for ever.
    struct Scripted(std::collections::VecDeque<SourceEvent>);

    impl Source for Scripted {
        async fn next(&mut self) -> Option<SourceEvent> {
            match self.0.pop_front() {
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
            "scripted".into()
        }
    }

    #[tokio::test]
    async fn a_key_is_handled_while_a_large_sample_is_still_being_prepared() {
        const N: usize = 20_000;
        let (s0, s1) = (fixture::large(0, N), fixture::large(1, N));
        let mut source = Scripted(
            [
                SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(1))),
                SourceEvent::Msg(ServerMsg::Snapshot(s0.clone())),
                SourceEvent::Msg(ServerMsg::Delta(diff(&s0, &s1))),
            ]
            .into(),
        );
        // The worker holds every delta until the test opens the gate.
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let mut preparer = Preparer::default();
        let pipeline = Pipeline::spawn_with(move |ev| {
            if let SourceEvent::Msg(ServerMsg::Delta(_)) = ev {
                gate.recv().unwrap();
            }
            preparer.prepare(ev)
        })
        .unwrap();
        let settings = Settings {
            target: "t".into(),
            theme: Theme::new(false),
            replay: false,
            interval_ms: None,
        };
        let state = State::new(
            Model::new(Thresholds::default()),
            settings,
            Rect::new(0, 0, 120, 40),
        );
        let mut core = Core::new(&mut source, state, pipeline);
        let (key_tx, mut key_rx) = mpsc::unbounded_channel::<io::Result<Event>>();
        let mut keys = futures_util::stream::poll_fn(move |cx| key_rx.poll_recv(cx));
        // Until the snapshot is committed and the delta handed to the (gated) worker.
        while core.state.model().latest().is_none() || !core.source.0.is_empty() {
            assert_eq!(core.turn(&mut keys).await.unwrap(), Turn::Continue);
        }
        let key = KeyEvent::new(KeyCode::Char('2'), KeyModifiers::NONE);
        key_tx.send(Ok(Event::Key(key))).unwrap();
        for _ in 0..10 {
            if core.state.view() == ViewId::ALL[1] {
                break;
            }
            core.turn(&mut keys).await.unwrap();
        }
        assert_eq!(core.state.view(), ViewId::ALL[1], "the key was handled");
        let seq = |c: &Core<'_, Scripted>| c.state.model().latest().and_then(|m| m.seq);
        assert_eq!(
            seq(&core),
            Some(0),
            "while the delta is still being prepared"
        );
        open.send(()).unwrap();
        while seq(&core) != Some(1) {
            core.turn(&mut keys).await.unwrap();
        }
        assert_eq!(core.state.model().gaps, 0);
    }
}
