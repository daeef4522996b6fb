//! Command-line arguments and what each mode runs. Exit codes: 0 done, 1 a runtime problem
//! (unreachable, refused, bad recording, no terminal), 2 bad arguments (clap prints usage).

use crate::app::{self, Options};
use crate::headless::{self, HeadlessOptions};
use crate::json::{Selection, parse_sort};
use crate::model::diagnosis::Thresholds;
use crate::source::attach::{DEFAULT_ADDR, TlsTrust, Trust};
use crate::source::fleet::{self, NodeSpec};
use crate::source::replay::Speed;
use crate::source::{Addr, AttachSource, FleetSource, Recorded, ReplaySource, Source, Trouble};
use crate::trace_json;
use crate::vocab::Column;
use clap::{ArgGroup, Parser};
use std::path::PathBuf;

/// Watch a Beamline runtime: live supervision tree, process table, history, system and alerts.
#[derive(Debug, Parser)]
#[command(name = "observer", version, about, long_about = None)]
#[command(group(ArgGroup::new("headless").args(["json", "once"]).multiple(true)))]
pub struct Cli {
    /// Runtime endpoint: host:port, tls://host:port (with --tls-ca, --tls-pin or --tls-cert) or
    /// unix:/path (the address BEAMLINE_OBSERVE listens on).
    /// Give it several times to watch several nodes at once. Default: 127.0.0.1:7420.
    #[arg(long, value_name = "ADDR", conflicts_with = "replay")]
    pub attach: Vec<Addr>,

    /// Watch the nodes listed in FILE: one address a line, optionally followed by name=NAME and
    /// token=TOKEN; '#' starts a comment (see the README's "One observer, many nodes").
    #[arg(long, value_name = "FILE", conflicts_with = "replay", value_parser = fleet::spec::read)]
    pub nodes: Option<fleet::spec::NodeList>,

    /// Shared token. Without it, a loopback address's token is read from the runtime's cookie
    /// file when this user can read it ($XDG_RUNTIME_DIR/beamline or ~/.beamline).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// For tls:// addresses: trust certificates issued by the CA(s) in this PEM file (the host
    /// name or IP in the address must be in the certificate).
    #[arg(long, value_name = "FILE", group = "tls_trust")]
    pub tls_ca: Option<PathBuf>,

    /// For tls:// addresses: trust only the certificate with this SHA-256 (64 hex digits,
    /// colons allowed, as `openssl x509 -noout -fingerprint -sha256` prints it).
    #[arg(long, value_name = "SHA256", group = "tls_trust", value_parser = crate::source::attach::parse_pin)]
    pub tls_pin: Option<[u8; 32]>,

    /// For tls:// addresses: trust only the certificate in this PEM file (pinned by its SHA-256).
    #[arg(long, value_name = "FILE", group = "tls_trust")]
    pub tls_cert: Option<PathBuf>,

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

    /// Save everything received to FILE (replay it later with --replay). If writing fails
    /// (a full disk), the TUI says so and --json/--once exit 1.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// Write the runtime's history (its last minutes, kept by its flight recorder) and its
    /// current state to FILE as a recording, then exit; replay it with --replay FILE.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["replay", "record", "json", "once"])]
    pub dump: Option<PathBuf>,

    /// With --json: when a connected runtime goes away, keep retrying instead of exiting 1.
    #[arg(long, requires = "headless")]
    pub reconnect: bool,

    /// Replay speed: 1, 4, 16 or max (as fast as possible). Keys +/- change it while playing.
    #[arg(long, value_name = "SPEED", default_value = "1", requires = "replay", value_parser = str::parse::<Speed>)]
    pub speed: Speed,

    /// Replay a damaged recording up to the damage (a warning on stderr) instead of exiting 1
    /// (--json/--once; the TUI always plays the good part and says where the damage is).
    #[arg(long, requires = "replay")]
    pub allow_partial: bool,

    /// With --json/--once: list only the N first processes in --sort order (mailbox_len by
    /// default). The system figures and alerts still cover every process.
    #[arg(long, value_name = "N", requires = "headless")]
    pub top: Option<usize>,

    /// With --json/--once: order the processes by this field, one of id, name, status,
    /// mailbox_len, mailbox_peak, in_per_s, out_per_s, busy, state_bytes, restarts
    /// (quantities biggest first).
    #[arg(long, value_name = "FIELD", requires = "headless", value_parser = parse_sort)]
    pub sort: Option<Column>,

    /// With --json/--once: list only processes whose name, pid or behaviour contains TEXT
    /// (case-insensitive).
    #[arg(long, value_name = "TEXT", requires = "headless")]
    pub filter: Option<String>,

    /// With --json: trace the process registered as NAME (or the pid `<0.N.0>`) instead of
    /// printing samples: one JSON object per message it receives or sends (`at_ms`,
    /// `direction`, `kind`, `type`, `peer`, `bytes`, ...), until the trace ends by its limits
    /// (1000 events or 30 s by default; the reason goes to stderr).
    #[arg(long, value_name = "NAME", requires = "json", conflicts_with_all = ["replay", "once", "record"])]
    pub trace: Option<String>,

    /// With --trace: stop after N events (the runtime caps it at 100,000; default 1000).
    #[arg(long, value_name = "N", requires = "trace")]
    pub trace_events: Option<u64>,

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
    /// How `tls://` addresses are verified, from `--tls-ca`, `--tls-pin` or `--tls-cert`; a
    /// `tls://` address without one of them is an error, as is a trust flag without `tls://`.
    pub fn tls_trust(&self) -> Result<Option<TlsTrust>, String> {
        let trust = match (&self.tls_ca, self.tls_pin, &self.tls_cert) {
            (Some(ca), _, _) => Some(Trust::Ca(ca.clone())),
            (_, Some(pin), _) => Some(Trust::Pin(pin)),
            (_, _, Some(cert)) => Some(Trust::Cert(cert.clone())),
            _ => None,
        };
        let listed = self.nodes.iter().flat_map(|l| l.0.iter().map(|n| &n.addr));
        let tls = self
            .attach
            .iter()
            .chain(listed)
            .find(|a| matches!(a, Addr::Tls(_)));
        match (tls, trust) {
            (Some(addr), None) => Err(format!(
                "{addr}: a tls:// address needs --tls-ca FILE, --tls-pin SHA256 or --tls-cert FILE"
            )),
            (Some(_), Some(t)) => TlsTrust::load(&t).map(Some),
            (None, Some(_)) if self.replay.is_none() => Err(format!(
                "{}: --tls-ca, --tls-pin and --tls-cert apply to tls://host:port addresses only",
                self.attach
                    .first()
                    .map_or_else(|| DEFAULT_ADDR.to_string(), |a| a.to_string())
            )),
            _ => Ok(None),
        }
    }

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
        let mut src = ReplaySource::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        src.set_speed(cli.speed);
        return dispatch(src, &cli, thresholds).await;
    }
    let tls = cli.tls_trust()?;
    let mut specs = cli.nodes.clone().map(|l| l.0).unwrap_or_default();
    specs.extend(cli.attach.iter().cloned().map(NodeSpec::at));
    if specs.len() > fleet::ids::MAX_NODES {
        return Err(format!(
            "{} nodes given; one observer watches at most {}",
            specs.len(),
            fleet::ids::MAX_NODES
        ));
    }
    let one = match specs.as_slice() {
        [] => Some(DEFAULT_ADDR.parse::<Addr>()?),
        // One --attach: the plain source, so one runtime looks exactly as before.
        [one] if cli.nodes.is_none() => Some(one.addr.clone()),
        _ => None,
    };
    let Some(addr) = one else {
        if cli.dump.is_some() || cli.trace.is_some() {
            return Err("--dump and --trace take one --attach address".into());
        }
        let src = FleetSource::spawn(specs, cli.token.clone(), tls);
        return dispatch(src, &cli, thresholds).await;
    };
    let src = AttachSource::spawn_tls(addr, cli.token.clone(), tls);
    if let Some(path) = &cli.dump {
        let done = crate::source::dump::dump(src, path).await?;
        eprintln!(
            "observer: wrote {} past ticks ({:.0} s of history) and the current state to {}",
            done.past_ticks,
            done.span_ms as f64 / 1000.0,
            path.display()
        );
        return Ok(());
    }
    if let Some(name) = &cli.trace {
        let stdout = std::io::BufWriter::new(std::io::stdout().lock());
        return match trace_json::run(src, trace_json::target(name), cli.trace_events, stdout).await
        {
            Err(headless::HeadlessError::Output(e))
                if e.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                Ok(())
            }
            r => r.map_err(|e| e.to_string()),
        };
    }
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
            reconnect: cli.reconnect,
            allow_partial: cli.allow_partial,
            selection: Selection {
                filter: cli.filter.clone(),
                top: cli.top,
                sort: cli.sort,
            },
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
    app::run(src, opts).await.map_err(|e| {
        // A recording that could not be finished is the source's trouble, not the terminal's.
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Trouble>())
        {
            Some(t) => t.to_string(),
            None => format!("terminal error: {e}"),
        }
    })
}
