//! How the metrics endpoint is configured: where it listens, who may scrape it, and which
//! processes get series of their own (see `docs/METRICS.md` for the cardinality rules).

use crate::endpoint::{TlsConfig, TlsError};
use beamline_wire::ProcessSample;
use std::net::SocketAddr;
use std::sync::Arc;

/// The usual value of `BEAMLINE_METRICS` (9464 is the port OpenTelemetry's Prometheus exporter
/// registered, so scrape configs for it are common).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9464";
/// Environment variable that opens the metrics endpoint with no code change, e.g.
/// `BEAMLINE_METRICS=127.0.0.1:9464`.
pub const ENV_ADDR: &str = "BEAMLINE_METRICS";
/// Environment variable holding the bearer token (required for a non-loopback address).
pub const ENV_TOKEN: &str = "BEAMLINE_METRICS_TOKEN";

/// Processes with series of their own, at most, by default ([`MetricsConfig::per_process_cap`]).
pub const DEFAULT_PER_PROCESS_CAP: usize = 100;
/// Distinct behaviours labelled, at most, by default; the rest are counted under `_other`.
pub const DEFAULT_MAX_BEHAVIOURS: usize = 500;
/// Distinct supervisor/child slots labelled, at most, by default; the rest under `_other`.
pub const DEFAULT_MAX_SLOTS: usize = 2_000;

/// Series per behaviour, at most: processes by 8 statuses, mailbox sum and max, handled by 4
/// kinds, dropped, and two histograms of 12 buckets + `+Inf` + sum + count.
const PER_BEHAVIOUR: usize = 8 + 2 + 4 + 1 + 2 * 15;
/// Series per supervisor/child slot label: restarts, and escalations of a supervisor label.
const PER_SLOT: usize = 2;
/// Series per process with series of its own: mailbox, handled, busy.
const PER_PROCESS: usize = 3;
/// Series with no label but the node: build info, spawned, exited, dead letters, 5 tokio
/// figures, 3 of the sampler, 3 capped counters and 4 of the exporter's own.
const RUNTIME_WIDE: usize = 1 + 3 + 5 + 3 + 3 + 4;

/// Which processes get per-process series (beyond the aggregates by behaviour every process is
/// counted in). Whatever it says, at most [`MetricsConfig::per_process_cap`] processes do.
#[derive(Clone, Default)]
pub enum PerProcess {
    /// None: only aggregates.
    None,
    /// Processes with a registered name (the default; as telemetry_poller measures registered
    /// processes only). Names under a `Via` registry count too, so the cap matters.
    #[default]
    Named,
    /// Processes for which this returns `true`, looked at once, in their first sample.
    Matching(Arc<dyn Fn(&ProcessSample) -> bool + Send + Sync>),
}

impl std::fmt::Debug for PerProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PerProcess::None => f.write_str("None"),
            PerProcess::Named => f.write_str("Named"),
            PerProcess::Matching(_) => f.write_str("Matching(..)"),
        }
    }
}

impl PerProcess {
    /// Whether `p` asks for series of its own.
    pub(crate) fn wants(&self, p: &ProcessSample) -> bool {
        match self {
            PerProcess::None => false,
            PerProcess::Named => p.name.is_some(),
            PerProcess::Matching(f) => f(p),
        }
    }
}

/// How to serve `GET /metrics`.
#[derive(Clone, Debug)]
pub struct MetricsConfig {
    pub(crate) addr: SocketAddr,
    pub(crate) token: Option<String>,
    pub(crate) allow_remote: bool,
    pub(crate) per_process: PerProcess,
    pub(crate) per_process_cap: usize,
    pub(crate) max_behaviours: usize,
    pub(crate) max_slots: usize,
    pub(crate) max_connections: usize,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) insecure_plaintext: bool,
}

impl MetricsConfig {
    /// Serve at `addr` (loopback unless [`MetricsConfig::allow_remote`]), no token, named
    /// processes with series of their own up to [`DEFAULT_PER_PROCESS_CAP`].
    pub fn new(addr: SocketAddr) -> Self {
        MetricsConfig {
            addr,
            token: None,
            allow_remote: false,
            per_process: PerProcess::default(),
            per_process_cap: DEFAULT_PER_PROCESS_CAP,
            max_behaviours: DEFAULT_MAX_BEHAVIOURS,
            max_slots: DEFAULT_MAX_SLOTS,
            max_connections: 16,
            tls: None,
            insecure_plaintext: false,
        }
    }

    /// Parse an address as users write it: `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`.
    pub fn parse(addr: &str) -> Result<Self, MetricsError> {
        let s = addr.trim();
        let bad = || MetricsError::BadAddress(s.to_string());
        let addr = match s.strip_prefix("localhost:") {
            Some(port) => SocketAddr::from(([127, 0, 0, 1], port.parse().map_err(|_| bad())?)),
            None => s.parse().map_err(|_| bad())?,
        };
        Ok(MetricsConfig::new(addr))
    }

    /// The configuration `BEAMLINE_METRICS` asks for, if set (and not empty, `off` or `0`). As
    /// with `BEAMLINE_OBSERVE`, a non-loopback address there counts as explicitly allowed but
    /// still needs `BEAMLINE_METRICS_TOKEN`, and TLS (`BEAMLINE_TLS_CERT`, `BEAMLINE_TLS_KEY`)
    /// unless `BEAMLINE_INSECURE_PLAINTEXT=1`.
    pub fn from_env() -> Option<Result<Self, MetricsError>> {
        let addr = std::env::var(ENV_ADDR).ok()?;
        let addr = addr.trim();
        if addr.is_empty() || addr == "off" || addr == "0" {
            return None;
        }
        let token = std::env::var(ENV_TOKEN).ok().filter(|t| !t.is_empty());
        let tls = match TlsConfig::from_env().transpose() {
            Ok(tls) => tls,
            Err(e) => return Some(Err(MetricsError::Tls(e))),
        };
        Some(MetricsConfig::parse(addr).map(|c| {
            let mut c = c
                .allow_remote(true)
                .insecure_plaintext(TlsConfig::insecure_from_env());
            c.tls = tls;
            match token {
                Some(t) => c.token(t),
                None => c,
            }
        }))
    }

    /// Require `Authorization: Bearer TOKEN` on every scrape (required for non-loopback
    /// addresses; Prometheus sends it with `authorization: {credentials: TOKEN}`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Allow a non-loopback address (a token is still required), as the attach endpoint does.
    pub fn allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// Serve HTTPS with this certificate and key. Required off loopback (unless
    /// [`MetricsConfig::insecure_plaintext`]); allowed on loopback too.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Serve a non-loopback address over plain HTTP: the token and the series cross the
    /// network in clear. For trusted networks only (default false).
    pub fn insecure_plaintext(mut self, insecure: bool) -> Self {
        self.insecure_plaintext = insecure;
        self
    }

    /// Which processes get series of their own (default: named ones).
    pub fn per_process(mut self, which: PerProcess) -> Self {
        self.per_process = which;
        self
    }

    /// At most this many processes have series of their own at once (default
    /// [`DEFAULT_PER_PROCESS_CAP`]); the ones refused are counted by
    /// `beamline_metrics_capped_total{family="process"}`.
    pub fn per_process_cap(mut self, cap: usize) -> Self {
        self.per_process_cap = cap;
        self
    }

    /// At most this many behaviour label values (default [`DEFAULT_MAX_BEHAVIOURS`]); a
    /// runtime's behaviours are its Rust types, so only generated code comes near it.
    pub fn max_behaviours(mut self, n: usize) -> Self {
        self.max_behaviours = n.max(1);
        self
    }

    /// At most this many supervisor/child label pairs (default [`DEFAULT_MAX_SLOTS`]).
    pub fn max_slots(mut self, n: usize) -> Self {
        self.max_slots = n.max(1);
        self
    }

    /// Scrapes served at once; further connections are closed at once (default 16).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// The most series one scrape can hold with these caps (docs/METRICS.md explains each
    /// term): 45 per behaviour, 2 per supervisor/child slot (restarts, escalations), 3 per
    /// process with series of its own, and 19 runtime-wide; each label family one `_other`
    /// value over its cap. 26,866 with the defaults.
    pub fn series_bound(&self) -> usize {
        PER_BEHAVIOUR * (self.max_behaviours + 1)
            + PER_SLOT * (self.max_slots + 1)
            + PER_PROCESS * self.per_process_cap
            + RUNTIME_WIDE
    }

    /// The configured address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The attach endpoint's rule: loopback always; anything else only when allowed
    /// explicitly, and then only with a token and TLS (or an explicit opt-out of TLS).
    pub(crate) fn check_address(&self) -> Result<(), MetricsError> {
        if self.addr.ip().is_loopback() {
            return Ok(());
        }
        if !self.allow_remote {
            return Err(MetricsError::RemoteNotAllowed(self.addr));
        }
        if self.token.is_none() {
            return Err(MetricsError::TokenRequired(self.addr));
        }
        if self.tls.is_none() && !self.insecure_plaintext {
            return Err(MetricsError::TlsRequired(self.addr));
        }
        Ok(())
    }
}

/// Why the metrics endpoint could not be served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The address could not be understood.
    #[error("not a metrics address: {0:?} (expected host:port, e.g. 127.0.0.1:9464)")]
    BadAddress(String),
    /// A non-loopback address without [`MetricsConfig::allow_remote`].
    #[error(
        "refusing to serve metrics on {0}: not a loopback address; allow it explicitly (MetricsConfig::allow_remote, or BEAMLINE_METRICS) and set a token"
    )]
    RemoteNotAllowed(SocketAddr),
    /// A non-loopback address without a token.
    #[error(
        "refusing to serve metrics on {0} without a token: anyone who can reach it would read the names of your processes; set one with MetricsConfig::token or BEAMLINE_METRICS_TOKEN"
    )]
    TokenRequired(SocketAddr),
    /// A non-loopback address without TLS (and without
    /// [`MetricsConfig::insecure_plaintext`]).
    #[error(
        "refusing to serve metrics on {0} without TLS: the token and the series would cross the network in clear; set a certificate and key (MetricsConfig::tls, or BEAMLINE_TLS_CERT and BEAMLINE_TLS_KEY), or opt out explicitly with MetricsConfig::insecure_plaintext (BEAMLINE_INSECURE_PLAINTEXT=1)"
    )]
    TlsRequired(SocketAddr),
    /// The certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// Binding failed.
    #[error("cannot serve metrics on {addr}: {source}")]
    Io {
        /// What we tried.
        addr: SocketAddr,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Not called inside a tokio runtime.
    #[error("the metrics endpoint must be started inside a tokio runtime")]
    NoTokio,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_users_type_them() {
        let c = MetricsConfig::parse("localhost:9464").unwrap();
        assert_eq!(c.addr(), "127.0.0.1:9464".parse().unwrap());
        assert!(MetricsConfig::parse("[::1]:1").is_ok());
        assert!(matches!(
            MetricsConfig::parse("unix:/tmp/x"),
            Err(MetricsError::BadAddress(_))
        ));
        assert!(MetricsConfig::parse("localhost:port").is_err());
    }

    #[test]
    fn the_default_series_bound_is_the_documented_one() {
        let c = MetricsConfig::parse("127.0.0.1:0").unwrap();
        assert_eq!(c.series_bound(), 26_866);
    }

    #[test]
    fn other_addresses_need_explicit_consent_and_a_token() {
        let c = MetricsConfig::parse("0.0.0.0:9464").unwrap();
        assert!(matches!(
            c.check_address(),
            Err(MetricsError::RemoteNotAllowed(_))
        ));
        let c = c.allow_remote(true);
        assert!(matches!(
            c.check_address(),
            Err(MetricsError::TokenRequired(_))
        ));
        let c = c.token("t");
        assert!(matches!(
            c.check_address(),
            Err(MetricsError::TlsRequired(_))
        ));
        assert!(c.clone().insecure_plaintext(true).check_address().is_ok());
        let tls = TlsConfig::files("cert.pem", "key.pem");
        assert!(c.tls(tls).check_address().is_ok());
        let lo = MetricsConfig::parse("127.0.0.1:0").unwrap();
        assert!(lo.check_address().is_ok());
    }
}
