//! The command line, and what each mode runs.
//!
//! - no arguments: the default workload with the observer embedded in this terminal;
//! - `--serve [ADDR]`: the same, headless, serving the attach endpoint for `observer --attach`;
//! - `--scenario NAME`: one fault scenario alone (embedded, or headless with `--serve`);
//! - `--metrics [ADDR]`: also serve Prometheus metrics (`GET /metrics`) at ADDR;
//! - `--list`: the scenarios, one line each;
//! - `--duration SECS`: stop cleanly (exit 0) after that long.
//!
//! Exit codes: 0 on a clean end (quit, duration elapsed, ctrl-c); 1 when the endpoint or the
//! terminal cannot be set up (with one line saying why); 2 for bad arguments (clap's usage).

use crate::Scenario;
use crate::workload::{self, Workload};
use beamline::Runtime;
use beamline::endpoint::EndpointConfig;
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// The default endpoint address.
pub const DEFAULT_ADDR: &str = beamline::endpoint::DEFAULT_ADDR;

/// Beamline's demo: realistic services under supervision, with faults played on a schedule,
/// watched live in the embedded observer (or served to `observer --attach`).
#[derive(Debug, Parser)]
#[command(name = "demo", version, about, long_about = None)]
pub struct Args {
    /// Run headless and serve the attach endpoint at ADDR (host:port or unix:/path).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = DEFAULT_ADDR)]
    pub serve: Option<String>,

    /// Shared token observers must present: required to serve on a non-loopback address (at
    /// least 16 characters, e.g. `openssl rand -hex 16`); on loopback it replaces the cookie
    /// file the endpoint otherwise writes for `observer --attach` to find.
    #[arg(long, value_name = "TOKEN", requires = "serve")]
    pub token: Option<String>,

    /// Let observers watch but not act: kill, restart and interval changes are refused.
    #[arg(long, requires = "serve")]
    pub read_only: bool,

    /// Also serve Prometheus/OpenMetrics metrics at http://ADDR/metrics (host:port).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = beamline::metrics::DEFAULT_ADDR)]
    pub metrics: Option<String>,

    /// Bearer token scrapers must send (required to serve metrics on a non-loopback address).
    #[arg(long, value_name = "TOKEN", requires = "metrics")]
    pub metrics_token: Option<String>,

    /// TLS certificate chain (PEM) for --serve and --metrics on TCP: required off loopback
    /// unless --insecure-plaintext; observers then attach with tls://HOST:PORT.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Serve a non-loopback address without TLS: the token crosses the network in clear.
    #[arg(long)]
    pub insecure_plaintext: bool,

    /// Run one fault scenario alone instead of the default workload (see --list).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<Scenario>,

    /// List the scenarios, one line each, and exit.
    #[arg(long, conflicts_with_all = ["serve", "scenario", "duration", "metrics"])]
    pub list: bool,

    /// Stop cleanly after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// The runtime's node name: what observers show in their header and JSON, and what an
    /// observer watching several nodes calls this one unless told otherwise.
    #[arg(long, value_name = "NAME", default_value = "demo", value_parser = node_name)]
    pub node_name: String,
}

/// A node name: not empty, no whitespace or control characters (it is shown in one cell).
fn node_name(s: &str) -> Result<String, String> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a node name is one word without spaces, e.g. --node-name a".into());
    }
    Ok(s.to_string())
}

/// The `--list` text: one line per scenario.
pub fn list() -> String {
    let width = Scenario::ALL
        .iter()
        .map(|s| s.name().len())
        .max()
        .unwrap_or(0);
    Scenario::ALL
        .iter()
        .map(|s| format!("{:width$}  {}\n", s.name(), s.summary()))
        .collect()
}

/// Install the log subscriber: per-process log lines for the observer, and (headless only)
/// errors and warnings on stderr. Embedded, nothing is printed: it would tear the screen.
fn init_logging(headless: bool) {
    use tracing_subscriber::prelude::*;
    let stderr = headless.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(tracing_subscriber::filter::LevelFilter::WARN)
    });
    let _ = tracing_subscriber::registry()
        .with(beamline::logs::ProcessLogs::new())
        .with(stderr)
        .try_init();
}

/// Run the demo as `args` say; returns the process's exit code.
pub async fn run(args: Args) -> ExitCode {
    if args.list {
        print!("{}", list());
        return ExitCode::SUCCESS;
    }
    let headless = args.serve.is_some();
    init_logging(headless);
    // The demo decides where it is observed; BEAMLINE_OBSERVE and BEAMLINE_METRICS must not
    // open second endpoints.
    let rt = Runtime::builder()
        .node(args.node_name.clone())
        .observe_from_env(false)
        .metrics_from_env(false)
        .build();
    let tls = Tls {
        config: args
            .tls_cert
            .clone()
            .zip(args.tls_key.clone())
            .map(|(c, k)| beamline::endpoint::TlsConfig::files(c, k)),
        insecure: args.insecure_plaintext,
    };
    let metrics = match &args.metrics {
        Some(addr) => match serve_metrics(&rt, addr, args.metrics_token.as_deref(), &tls, headless)
        {
            Ok(m) => Some(m),
            Err(msg) => {
                eprintln!("demo: {msg}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };

    let endpoint = match &args.serve {
        Some(addr) => match serve(&rt, addr, args.token.as_deref(), args.read_only, &tls) {
            Ok(e) => Some(e),
            Err(msg) => {
                eprintln!("demo: {msg}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };

    let started = match args.scenario {
        Some(s) => workload::start_scenario(&rt, s).await,
        None => workload::start(&rt, Workload::default()).await,
    };
    if let Err(e) = started {
        eprintln!("demo: the workload did not start: {e}");
        rt.shutdown().await;
        return ExitCode::FAILURE;
    }

    let deadline = async {
        match args.duration {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s.max(0.0))).await,
            None => std::future::pending().await,
        }
    };

    let code = if let Some(endpoint) = &endpoint {
        let at = match (endpoint.local_addr(), endpoint.path()) {
            (Some(a), _) if tls.config.is_some() => format!("tls://{a}"),
            (Some(a), _) => a.to_string(),
            (None, Some(p)) => format!("unix:{}", p.display()),
            (None, None) => args.serve.clone().unwrap_or_default(),
        };
        let what = args
            .scenario
            .map_or("the default workload".to_string(), |s| {
                format!("scenario {s}")
            });
        println!("demo: running {what}; observe it with: observer --attach {at}");
        tokio::select! {
            _ = deadline => {}
            _ = beamline::runtime::wait_for_signal() => {}
        }
        ExitCode::SUCCESS
    } else {
        // `watch` also keeps panics inside processes (the crash scenario makes them on purpose)
        // from restoring the terminal under the observer's feet.
        let observer = beamline_observer::watch(&rt, beamline_observer::Options::default());
        tokio::select! {
            _ = deadline => ExitCode::SUCCESS,
            r = observer => match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("demo: the observer could not run in this terminal: {e} (try --serve)");
                    ExitCode::FAILURE
                }
            },
        }
    };
    drop(endpoint);
    drop(metrics);
    // Processes inside long callbacks (the bottleneck's slow stage, a blocked call) each get a
    // grace period before they are killed; whoever quit should not wait for all of them.
    if tokio::time::timeout(QUIT_GRACE, rt.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("shutdown cut short after {QUIT_GRACE:?}");
    }
    code
}

/// How long the demo waits for its processes to stop once asked to end (`q`, a signal,
/// `--duration`): the exit must feel immediate.
const QUIT_GRACE: Duration = Duration::from_millis(300);

/// Serve the metrics endpoint, saying where when headless (embedded, the screen is the
/// observer's). As with `--serve`, a non-loopback address on the command line is allowed, and
/// the runtime still refuses it without a token.
fn serve_metrics(
    rt: &Runtime,
    addr: &str,
    token: Option<&str>,
    tls: &Tls,
    headless: bool,
) -> Result<beamline::metrics::MetricsEndpoint, String> {
    use beamline::metrics::{MetricsConfig, MetricsError};
    let mut config = MetricsConfig::parse(addr)
        .map_err(|e| e.to_string())?
        .allow_remote(true)
        .insecure_plaintext(tls.insecure);
    if let Some(t) = &tls.config {
        config = config.tls(t.clone());
    }
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        config = config.token(t);
    }
    let m = rt.serve_metrics(config).map_err(|e| match e {
        MetricsError::TokenRequired(_) => format!("{e} (demo: pass --metrics-token TOKEN)"),
        MetricsError::TlsRequired(_) => format!("{e} (demo: pass --tls-cert and --tls-key)"),
        e => e.to_string(),
    })?;
    if headless {
        let scheme = if tls.config.is_some() {
            "https"
        } else {
            "http"
        };
        println!("demo: metrics at {scheme}://{}/metrics", m.local_addr());
    }
    Ok(m)
}

/// Serve the endpoint. A non-loopback address was asked for explicitly on the command line, so
/// it is allowed, but the runtime still refuses it without a token, with its own message.
fn serve(
    rt: &Runtime,
    addr: &str,
    token: Option<&str>,
    read_only: bool,
    tls: &Tls,
) -> Result<beamline::endpoint::Endpoint, String> {
    let mut config = EndpointConfig::parse(addr)
        .map_err(|e| e.to_string())?
        .allow_remote(true)
        .read_only(read_only)
        .insecure_plaintext(tls.insecure);
    if let Some(t) = &tls.config {
        config = config.tls(t.clone());
    }
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        config = config.token(t);
    }
    rt.serve(config).map_err(|e| match e {
        beamline::endpoint::ServeError::TokenRequired(_) => {
            format!("{e} (demo: pass --token TOKEN)")
        }
        beamline::endpoint::ServeError::TlsRequired(_) => {
            format!("{e} (demo: pass --tls-cert and --tls-key, or --insecure-plaintext)")
        }
        e => e.to_string(),
    })
}

/// `--tls-cert`/`--tls-key` and `--insecure-plaintext`, for both listeners.
struct Tls {
    config: Option<beamline::endpoint::TlsConfig>,
    insecure: bool,
}
