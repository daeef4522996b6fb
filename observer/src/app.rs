//! The interactive loop: one `tokio::select!` over terminal events, the source, control replies,
//! a tick and termination signals; each branch updates the state, then the screen is drawn.

use crate::input;
use crate::model::Model;
use crate::model::diagnosis::Thresholds;
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
    let mut state = State::new(
        Model::new(opts.thresholds.clone()),
        settings,
        Rect::new(0, 0, size.width, size.height),
    );
    let mut events = EventStream::new();
    let (reply_tx, mut replies) = mpsc::unbounded_channel::<(ControlRequest, ControlReply)>();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut signals = Signals::new()?;
    let mut source_open = true;
    // For the end-to-end test that the terminal survives a panic (tests/tests/observer.rs):
    // panic once the first sample is on screen.
    let induced_panic = std::env::var_os("BEAMLINE_OBSERVER_TEST_PANIC").is_some();

    loop {
        terminal.draw(|f| view::draw(&state, f))?;
        let mut effects = Vec::new();
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => {
                    if let Some(a) = input::event(&ev, state.mode()) {
                        effects = state.handle(a);
                    }
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            ev = source.next(), if source_open => match ev {
                Some(ev) => {
                    effects = state.apply(ev);
                    if induced_panic && state.model().latest().is_some() {
                        panic!("induced panic (BEAMLINE_OBSERVER_TEST_PANIC)");
                    }
                }
                None => source_open = false,
            },
            Some((req, reply)) = replies.recv() => state.on_reply(req, reply),
            _ = tick.tick() => {
                state.set_source_missed(source.missed());
                state.set_target(source.describe());
                state.expire_note(std::time::Instant::now());
            }
            _ = signals.recv() => return Ok(()),
        }
        for fx in effects {
            match fx {
                Effect::Quit => return Ok(()),
                Effect::Control(req) => {
                    let fut = source.control(req.clone());
                    let tx = reply_tx.clone();
                    tokio::spawn(async move {
                        let _ = tx.send((req, fut.await));
                    });
                }
                Effect::Playback(cmd) => {
                    source.playback(cmd);
                    state.set_target(source.describe());
                }
            }
        }
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
