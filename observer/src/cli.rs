//! Command-line arguments and what each mode runs. Exit codes: 0 done, 1 a runtime problem
//! (unreachable, refused, bad recording, no terminal), 2 bad arguments (clap prints usage).

use crate::app::{self, Options};
use crate::headless::{self, HeadlessOptions};
use crate::model::diagnosis::Thresholds;
use crate::source::attach::DEFAULT_ADDR;
use crate::source::{Addr, AttachSource, Recorded, ReplaySource, Source};
use clap::Parser;
use std::path::PathBuf;

/// Watch a Beamline runtime: live supervision tree, process table, history, system and alerts.
#[derive(Debug, Parser)]
#[command(name = "observer", version, about, long_about = None)]
pub struct Cli {
    /// Runtime endpoint: host:port or unix:/path (the address BEAMLINE_OBSERVE listens on).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_ADDR, conflicts_with = "replay")]
    pub attach: Addr,

    /// Shared token. Without it, a loopback address's token is read from the runtime's cookie
    /// file when this user can read it ($XDG_RUNTIME_DIR/beamline or ~/.beamline).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Replay a recording made with --record instead of attaching.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    /// Print each sample as one JSON object per line on stdout instead of the TUI.
    #[arg(long)]
    pub json: bool,

    /// Print one sample as JSON and exit (implies --json).
    #[arg(long)]
    pub once: bool,

    /// Sampling interval to ask the runtime for; with --json also the printing interval.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub interval: Option<u64>,

    /// Save everything received to FILE (replay it later with --replay).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// No colours (also when the NO_COLOR environment variable is set).
    #[arg(long)]
    pub no_color: bool,

    /// Diagnosis thresholds from FILE: `key = value` lines (see the README for keys).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Override one diagnosis threshold, e.g. `--threshold long_wait_ms=2000` (repeatable;
    /// applied after --config).
    #[arg(long = "threshold", value_name = "KEY=VALUE")]
    pub thresholds: Vec<String>,
}

impl Cli {
    /// The diagnosis thresholds: defaults, then the config file, then `--threshold` flags.
    pub fn thresholds(&self) -> Result<Thresholds, String> {
        let mut th = Thresholds::default();
        if let Some(path) = &self.config {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            th.apply_config(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        for kv in &self.thresholds {
            th.set(kv).map_err(|e| format!("--threshold {kv}: {e}"))?;
        }
        Ok(th)
    }
}

/// Run what the arguments ask for; `Err` is the one line to print before exiting with 1.
pub async fn run(cli: Cli) -> Result<(), String> {
    let thresholds = cli.thresholds()?;
    if let Some(path) = &cli.replay {
        let src = ReplaySource::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        return dispatch(src, &cli, thresholds).await;
    }
    let src = AttachSource::spawn(cli.attach.clone(), cli.token.clone());
    dispatch(src, &cli, thresholds).await
}

async fn dispatch<S: Source>(src: S, cli: &Cli, thresholds: Thresholds) -> Result<(), String> {
    match &cli.record {
        Some(path) => {
            let rec = Recorded::create(src, path)
                .map_err(|e| format!("cannot record to {}: {e}", path.display()))?;
            mode(rec, cli, thresholds).await
        }
        None => mode(src, cli, thresholds).await,
    }
}

async fn mode<S: Source>(src: S, cli: &Cli, thresholds: Thresholds) -> Result<(), String> {
    if cli.json || cli.once {
        let opts = HeadlessOptions {
            once: cli.once,
            interval_ms: cli.interval,
            thresholds,
        };
        let stdout = std::io::stdout().lock();
        return match headless::run(src, &opts, std::io::BufWriter::new(stdout)).await {
            // The reader went away (`| head`): nothing left to say to anyone.
            Err(headless::HeadlessError::Output(e))
                if e.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                Ok(())
            }
            r => r.map_err(|e| e.to_string()),
        };
    }
    let mut opts = Options {
        interval_ms: cli.interval,
        thresholds,
        ..Options::default()
    };
    opts.color &= !cli.no_color;
    app::run(src, opts)
        .await
        .map_err(|e| format!("terminal error: {e}"))
}
