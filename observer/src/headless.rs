//! `--json` and `--once`: no terminal, one JSON object per line on stdout.
//!
//! Scripts read the exit code, so anything that makes the output incomplete ends the run with
//! an error (exit 1): the runtime going away (unless `--reconnect`), a recording that stops, a
//! damaged replay (unless `--allow-partial`), a source that ends before its first sample.

use crate::json::{JsonSample, Selection};
use crate::model::diagnosis::Thresholds;
use crate::model::{Change, Model};
use crate::source::{ConnState, Source, SourceEvent, Trouble};
use beamline_wire::{ControlReply, ControlRequest, MAX_TYPE_PIDS, Pid};
use std::io::Write;
use std::time::Duration;

/// How the headless printer behaves.
#[derive(Clone, Debug, Default)]
pub struct HeadlessOptions {
    /// Print the first full sample and exit.
    pub once: bool,
    /// Ask the runtime for this sampling interval, and print at most once per interval.
    pub interval_ms: Option<u64>,
    /// Diagnosis thresholds.
    pub thresholds: Thresholds,
    /// Keep trying when a connected runtime goes away, instead of exiting 1.
    pub reconnect: bool,
    /// Replay a damaged recording up to the damage (a warning on stderr) instead of exiting 1.
    pub allow_partial: bool,
    /// Which processes each line lists.
    pub selection: Selection,
}

/// Why headless mode stopped early; printed as one line, exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    /// The target was never reached.
    #[error("cannot reach {target}: {reason}")]
    Unreachable {
        /// The address.
        target: String,
        /// What the OS said.
        reason: String,
    },
    /// The runtime refused us.
    #[error("{target}: {reason}")]
    Refused {
        /// The address.
        target: String,
        /// The runtime's reason.
        reason: String,
    },
    /// A runtime we were connected to went away and `--reconnect` was not given.
    #[error("{target}: connection lost ({reason}); --reconnect keeps trying")]
    Lost {
        /// The address.
        target: String,
        /// Why the link dropped.
        reason: String,
    },
    /// `--record` could not write (a full disk): the recording is incomplete.
    #[error("{0}")]
    Recording(String),
    /// The replayed recording is damaged and `--allow-partial` was not given.
    #[error("{target}: {reason}; --allow-partial replays the entries before it")]
    Damaged {
        /// The recording.
        target: String,
        /// Where and how it is damaged.
        reason: String,
    },
    /// The source ended (a replay's end, the embedded runtime's shutdown) before any sample.
    #[error("{target}: ended before the first sample")]
    NoSample {
        /// The source.
        target: String,
    },
    /// Writing to stdout failed (e.g. a closed pipe).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

/// Print samples from `source` to `out` until it ends (or after one, with `once`); then close
/// the source (a recording finishes writing; if that fails, so does the run).
pub async fn run<S: Source>(
    mut source: S,
    opts: &HeadlessOptions,
    out: impl Write,
) -> Result<(), HeadlessError> {
    let result = print(&mut source, opts, out).await;
    let trouble = source.close().await;
    result?;
    match trouble {
        Some(t) => Err(HeadlessError::Recording(t.to_string())),
        None => Ok(()),
    }
}

/// What one event means for a headless run: go on, or stop with an error.
fn check(
    ev: &SourceEvent,
    opts: &HeadlessOptions,
    target: &str,
    said_retrying: &mut bool,
) -> Result<(), HeadlessError> {
    let target = target.to_string();
    match ev {
        SourceEvent::Conn(ConnState::Retrying {
            reason,
            ever_connected: false,
            ..
        }) => Err(HeadlessError::Unreachable {
            target,
            reason: reason.clone(),
        }),
        SourceEvent::Conn(ConnState::Retrying { reason, .. }) if !opts.reconnect => {
            Err(HeadlessError::Lost {
                target,
                reason: reason.clone(),
            })
        }
        SourceEvent::Conn(ConnState::Retrying { reason, .. }) => {
            if !*said_retrying {
                *said_retrying = true;
                eprintln!("observer: {target}: disconnected ({reason}), retrying");
            }
            Ok(())
        }
        SourceEvent::Conn(ConnState::Failed(reason)) => Err(HeadlessError::Refused {
            target,
            reason: reason.clone(),
        }),
        SourceEvent::Conn(ConnState::Connected) => {
            *said_retrying = false;
            Ok(())
        }
        SourceEvent::Trouble(Trouble::RecordingFailed(why)) => {
            Err(HeadlessError::Recording(why.clone()))
        }
        SourceEvent::Trouble(Trouble::Damaged(why)) if !opts.allow_partial => {
            Err(HeadlessError::Damaged {
                target,
                reason: why.clone(),
            })
        }
        SourceEvent::Trouble(Trouble::Damaged(why)) => {
            eprintln!("observer: {target}: {why}");
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn print<S: Source>(
    source: &mut S,
    opts: &HeadlessOptions,
    mut out: impl Write,
) -> Result<(), HeadlessError> {
    let mut model = Model::new(opts.thresholds.clone());
    let target = source.describe();
    let mut asked_interval = false;
    let mut last_printed: Option<u64> = None;
    let mut said_retrying = false;
    while let Some(ev) = source.next().await {
        check(&ev, opts, &target, &mut said_retrying)?;
        if ev == SourceEvent::Conn(ConnState::Ended) {
            break;
        }
        let change = model.apply(ev);
        if let (Some(ms), false, Some(_)) = (opts.interval_ms, asked_interval, &model.welcome) {
            asked_interval = true;
            // Fire and forget: the new interval shows in the samples' interval_ms.
            tokio::spawn(source.control(ControlRequest::SetInterval { ms }));
        }
        if change != Change::Sample {
            continue;
        }
        let Some(m) = model.latest() else { continue };
        let due = match (last_printed, opts.interval_ms) {
            (Some(last), Some(every)) => m.at_ms >= last + every,
            _ => true,
        };
        if !due {
            continue;
        }
        last_printed = Some(m.at_ms);
        let mut line = JsonSample::new(&model, m, source.missed(), &opts.selection);
        add_types(source, &mut line).await;
        serde_json::to_writer(&mut out, &line).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        out.flush()?;
        if opts.once {
            return Ok(());
        }
    }
    match last_printed {
        Some(_) => Ok(()),
        None => Err(HeadlessError::NoSample { target }),
    }
}

/// How long a line waits for the per-type counters before it is printed without them.
const TYPES_TIMEOUT: Duration = Duration::from_millis(500);

/// Ask a live runtime for the listed processes' messages by type (the first
/// [`MAX_TYPE_PIDS`]) and add them to `line`; a replay, an error or a slow answer leaves
/// `by_type` out.
async fn add_types<S: Source>(source: &S, line: &mut JsonSample) {
    let pids: Vec<Pid> = (line.processes.iter().take(MAX_TYPE_PIDS))
        .map(|p| Pid(p.id))
        .collect();
    if pids.is_empty() {
        return;
    }
    let ask = source.control(ControlRequest::MessageTypes { pids });
    if let Ok(ControlReply::MessageTypes(counts)) = tokio::time::timeout(TYPES_TIMEOUT, ask).await {
        line.add_types(counts);
    }
}
