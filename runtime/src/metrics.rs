//! Prometheus/OpenMetrics export: `GET /metrics` on a listener of its own (feature `metrics`,
//! on by default), opened by `BEAMLINE_METRICS=127.0.0.1:9464`, by
//! [`crate::Builder::metrics_at`] or by [`Runtime::serve_metrics`].
//!
//! It is one more subscriber of [`Runtime::observe`]: a task folds each tick's samples into
//! aggregates, and a scrape writes them out. Nothing here touches the message path, and a
//! scrape never reaches a process. Every metric, its labels and the bound on its series are in
//! `docs/METRICS.md`; in short, series are labelled by node, behaviour (the Rust type) and
//! supervisor/child id, which the code bounds, not the data; per-process series exist only for
//! processes that opt in (registered names by default), at most
//! [`MetricsConfig::per_process_cap`] of them; and every label family has a hard cap past
//! which values share `_other`, counted by `beamline_metrics_capped_total`.
//!
//! Parts: `config.rs` (address, rules, opt-in), `track.rs` (folding samples, with `slots.rs`
//! for restarts and escalations, `labels.rs` for capped label values and `histogram.rs` for
//! weighted histograms), `exposition.rs` (the families), `http.rs` (the server).

mod config;
mod exposition;
mod histogram;
mod http;
mod labels;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "otlp")]
mod otlp_http;
#[cfg(feature = "otlp")]
mod otlp_instruments;
mod slots;
mod track;

pub use config::{
    DEFAULT_ADDR, DEFAULT_MAX_BEHAVIOURS, DEFAULT_MAX_SLOTS, DEFAULT_PER_PROCESS_CAP, ENV_ADDR,
    ENV_TOKEN, MetricsConfig, MetricsError, PerProcess,
};
pub use histogram::BUCKETS as HISTOGRAM_BUCKETS;

use crate::Runtime;
use crate::observe::Observation;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, watch};
use track::Tracker;

/// A running metrics endpoint. Dropping it stops serving and unsubscribes;
/// [`MetricsEndpoint::detach`] keeps it for the life of the tokio runtime.
#[derive(Debug)]
pub struct MetricsEndpoint {
    local: SocketAddr,
    site: Arc<http::Site>,
    ticks: watch::Receiver<u64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl MetricsEndpoint {
    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The exposition a scrape would get now: OpenMetrics text when `openmetrics`, else
    /// Prometheus text 0.0.4. For tests and for serving it from an HTTP server of your own.
    pub fn render(&self, openmetrics: bool) -> String {
        http::render(&self.site.registry, openmetrics).unwrap_or_default()
    }

    /// Sampler ticks folded in so far.
    pub fn ticks(&self) -> u64 {
        *self.ticks.borrow()
    }

    /// Wait until at least `n` ticks have been folded in (e.g. `ticks() + 1` for the next one).
    ///
    /// Cancel safety: cancel safe.
    pub async fn wait_ticks(&self, n: u64) {
        let mut rx = self.ticks.clone();
        let _ = rx.wait_for(|&t| t >= n).await;
    }

    /// Keep serving after this handle is dropped.
    pub fn detach(mut self) {
        self.tasks.clear();
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Runtime {
    /// Serve `GET /metrics` as `config` says. Binding happens now; the endpoint runs on tokio
    /// tasks until the returned handle is dropped or detached. Must be called inside a tokio
    /// runtime.
    pub fn serve_metrics(&self, config: MetricsConfig) -> Result<MetricsEndpoint, MetricsError> {
        config.check_address()?;
        let tls = config
            .tls
            .as_ref()
            .map(crate::endpoint::TlsConfig::acceptor)
            .transpose()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MetricsError::NoTokio);
        }
        let io = |source| MetricsError::Io {
            addr: config.addr,
            source,
        };
        let std = std::net::TcpListener::bind(config.addr).map_err(io)?;
        std.set_nonblocking(true).map_err(io)?;
        let local = std.local_addr().map_err(io)?;
        let listener = tokio::net::TcpListener::from_std(std).map_err(io)?;
        let (registry, ticks, collector) = self.aggregate(&config);
        let site = Arc::new(http::Site {
            registry,
            token: config.token.clone(),
            slots: Semaphore::new(config.max_connections),
            tls,
        });
        let server = tokio::spawn(http::accept_loop(listener, site.clone()));
        tracing::info!(addr = %local, tls = site.tls.is_some(), "metrics endpoint listening");
        Ok(MetricsEndpoint {
            local,
            site,
            ticks,
            tasks: vec![collector, server],
        })
    }
}

impl Runtime {
    /// The aggregates every exporter reads (the `/metrics` listener, the OTLP push): a registry
    /// written from a tracker that a task keeps folding the sample stream into.
    pub(crate) fn aggregate(
        &self,
        config: &MetricsConfig,
    ) -> (
        Arc<prometheus_client::registry::Registry>,
        watch::Receiver<u64>,
        tokio::task::JoinHandle<()>,
    ) {
        let state = Arc::new(Mutex::new(Tracker::new(config)));
        let (tx, ticks) = watch::channel(0);
        let collector = tokio::spawn(collect(self.observe(), state.clone(), tx));
        let registry = Arc::new(exposition::registry(self.node(), state));
        (registry, ticks, collector)
    }
}

/// Fold the sample stream into `state` until it ends.
async fn collect(mut obs: Observation, state: Arc<Mutex<Tracker>>, ticks: watch::Sender<u64>) {
    while let Some(msg) = obs.recv().await {
        let started = std::time::Instant::now();
        let folded = {
            let mut t = state.lock().unwrap_or_else(|p| p.into_inner());
            t.apply(&msg);
            t.missed_ticks = obs.missed();
            t.collect_seconds += started.elapsed().as_secs_f64();
            t.ticks
        };
        ticks.send_if_modified(|t| std::mem::replace(t, folded) != folded);
    }
}

/// What a [`crate::Builder`] holds for the metrics endpoint.
#[derive(Clone, Debug)]
pub(crate) struct BuilderMetrics {
    config: Option<MetricsConfig>,
    from_env: bool,
    /// [`crate::Builder::otlp`].
    #[cfg(feature = "otlp")]
    pub(crate) otlp: Option<otlp::OtlpConfig>,
    /// [`crate::Builder::message_spans`].
    #[cfg(feature = "otlp")]
    pub(crate) message_spans: bool,
}

impl Default for BuilderMetrics {
    fn default() -> Self {
        BuilderMetrics {
            config: None,
            from_env: true,
            #[cfg(feature = "otlp")]
            otlp: None,
            #[cfg(feature = "otlp")]
            message_spans: false,
        }
    }
}

impl BuilderMetrics {
    /// What [`crate::Builder::build`] does: serve the configured endpoint, or the one
    /// `BEAMLINE_METRICS` asks for, logging (not failing) when it cannot.
    pub(crate) fn start(self, rt: &Runtime) {
        #[cfg(feature = "otlp")]
        {
            otlp::set_message_spans(rt, self.message_spans);
            if let Some(c) = self.otlp {
                otlp::start(c, rt);
            }
        }
        let config = match self.config {
            Some(c) => Ok(c),
            None if self.from_env => match MetricsConfig::from_env() {
                Some(c) => c,
                None => return,
            },
            None => return,
        };
        match config.and_then(|c| rt.serve_metrics(c)) {
            Ok(endpoint) => endpoint.detach(),
            Err(e) => tracing::error!(error = %e, "metrics endpoint not started"),
        }
    }
}

impl BuilderMetrics {
    /// [`crate::Builder::metrics_at`]: serve this configuration.
    pub(crate) fn set_config(&mut self, config: MetricsConfig) {
        self.config = Some(config);
    }

    /// [`crate::Builder::metrics_from_env`].
    pub(crate) fn set_from_env(&mut self, on: bool) {
        self.from_env = on;
    }
}

#[cfg(test)]
mod tests;
