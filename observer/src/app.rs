//! The interactive loop: one `tokio::select!` over terminal events, the source, the frames
//! built off the loop (see [`crate::model::worker`]), the rows sorted off the loop (see
//! [`crate::state::sorter`]), control replies, a tick and termination signals; each branch
//! updates the state, then the screen is drawn. Nothing that grows with the number of processes
//! runs on the loop but drawing the visible rows.

use crate::input;
use crate::model::Model;
use crate::model::diagnosis::Thresholds;
use crate::model::worker::{Input, Pipeline};
use crate::source::{EmbeddedSource, Feed, Recorded, Source, SourceEvent};
use crate::state::sorter::{Sorted, Sorter};
use crate::state::{Effect, Settings, State};
use crate::theme::Theme;
use crate::view;
use beamline_wire::{ControlReply, ControlRequest, ServerMsg};
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
    let mut core = Core::new(source, state, opts.thresholds.clone(), |_| {})?;
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

/// The loop without the terminal: the state, the source, the pipeline applying its samples,
/// the sorter, the replies to control requests and the tick. One [`Core::turn`] waits for
/// whichever comes first, so a key is handled while a sample is still being applied.
struct Core<'s, S: Source> {
    source: &'s mut S,
    state: State,
    pipeline: Pipeline<Option<Sorted>>,
    sorter: Sorter,
    source_open: bool,
    reply_tx: mpsc::UnboundedSender<(ControlRequest, ControlReply)>,
    replies: mpsc::UnboundedReceiver<(ControlRequest, ControlReply)>,
    tick: tokio::time::Interval,
}

impl<'s, S: Source> Core<'s, S> {
    /// A loop over `source` showing `state`, whose samples are applied on a worker thread
    /// (diagnosing with `thresholds`; `before` sees each input first, for tests to hold it).
    fn new(
        source: &'s mut S,
        mut state: State,
        thresholds: Thresholds,
        before: impl FnMut(&Input) + Send + 'static,
    ) -> io::Result<Self> {
        let (reply_tx, replies) = mpsc::unbounded_channel();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let wanted = state.offloop();
        let pipeline = Pipeline::spawn_with(thresholds, before, move |m| wanted.rows_for_frame(m))?;
        let mut core = Core {
            source,
            state,
            pipeline,
            sorter: Sorter::spawn()?,
            source_open: true,
            reply_tx,
            replies,
            tick,
        };
        core.hand_over();
        Ok(core)
    }

    /// Send the rows the state now wants to the sorter, and its own events to the worker.
    fn hand_over(&mut self) {
        if let Some(req) = self.state.take_request()
            && let Some(done) = self.sorter.send(req)
        {
            self.state.sorted(done);
        }
        for note in self.state.take_notes() {
            // A worker that is gone has no later frames to keep the note in.
            let _ = self.pipeline.send(note);
        }
    }

    /// Wait for one thing to happen (a terminal event, a source event to hand to the pipeline,
    /// a frame to swap in, rows sorted, a reply, the tick), fold it in and carry out its
    /// effects.
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
                // Trace batches belong to the state's open trace, not the model.
                Some(SourceEvent::Msg(ServerMsg::Trace(batch))) => self.state.on_trace(batch),
                Some(ev) => {
                    if let Err(input) = self.pipeline.send(Input::Event(ev))
                        && let Input::Event(ev) = *input
                    {
                        // The pipeline's thread is gone (it panicked): fold in place instead.
                        effects = self.state.apply(ev);
                    }
                }
                None => self.source_open = false,
            },
            Some(frame) = self.pipeline.recv() => {
                let (old, fx) = self.state.land(frame);
                self.pipeline.give_back(old);
                effects = fx;
            }
            Some(sorted) = self.sorter.recv() => self.state.sorted(sorted),
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
        self.hand_over();
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

#[doc(hidden)]
pub mod probe;

#[cfg(test)]
mod tests;
