//! `--json` and `--once`: no terminal, one JSON object per line on stdout.

use crate::json::JsonSample;
use crate::model::diagnosis::Thresholds;
use crate::model::{Change, Model};
use crate::source::{ConnState, Source, SourceEvent};
use beamline_wire::ControlRequest;
use std::io::Write;

/// How the headless printer behaves.
#[derive(Clone, Debug, Default)]
pub struct HeadlessOptions {
    /// Print the first full sample and exit.
    pub once: bool,
    /// Ask the runtime for this sampling interval, and print at most once per interval.
    pub interval_ms: Option<u64>,
    /// Diagnosis thresholds.
    pub thresholds: Thresholds,
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
    /// Writing to stdout failed (e.g. a closed pipe).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

/// Print samples from `source` to `out` until it ends (or after one, with `once`); then close
/// the source (a recording finishes writing).
pub async fn run<S: Source>(
    mut source: S,
    opts: &HeadlessOptions,
    out: impl Write,
) -> Result<(), HeadlessError> {
    let result = print(&mut source, opts, out).await;
    source.close().await;
    result
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
        match &ev {
            SourceEvent::Conn(ConnState::Retrying {
                reason,
                ever_connected: false,
                ..
            }) => {
                return Err(HeadlessError::Unreachable {
                    target,
                    reason: reason.clone(),
                });
            }
            SourceEvent::Conn(ConnState::Retrying { reason, .. }) if !said_retrying => {
                said_retrying = true;
                eprintln!("observer: {target}: disconnected ({reason}), retrying");
            }
            SourceEvent::Conn(ConnState::Failed(reason)) => {
                return Err(HeadlessError::Refused {
                    target,
                    reason: reason.clone(),
                });
            }
            SourceEvent::Conn(ConnState::Connected) => said_retrying = false,
            _ => {}
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
        let line = JsonSample::new(&model, m, source.missed());
        serde_json::to_writer(&mut out, &line).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        out.flush()?;
        if opts.once {
            return Ok(());
        }
    }
    Ok(())
}
