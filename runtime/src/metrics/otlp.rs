//! OpenTelemetry export (cargo feature `otlp`, off by default; nothing runs until asked):
//!
//! - **Metrics**: the same series as `GET /metrics` (same names, labels as attributes, same
//!   cardinality caps; see `docs/METRICS.md`), pushed to a collector with `opentelemetry-otlp`
//!   over OTLP/HTTP with protobuf bodies, every [`OtlpConfig::interval`]. Started by
//!   [`Runtime::push_otlp`] or [`crate::Builder::otlp`]. The endpoint is
//!   [`OtlpConfig::endpoint`], else `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, else
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` plus `/v1/metrics`, else `http://localhost:4318/v1/metrics`
//!   (the OpenTelemetry rules, applied by the exporter).
//! - **Spans per message**: with [`crate::Builder::message_spans`], every message a process
//!   handles runs in a `tracing` span of its own (`beamline.message`), a root span that
//!   *follows from* its process's `beamline.process` span instead of being its child, so a trace
//!   holds one message and never grows with the life of a long-lived process (kameo's issue
//!   #381). Exported by whatever `tracing` layer the application installs (for OTLP traces,
//!   `tracing-opentelemetry`, which turns follows-from into span links).
//!
//! Parts: this file (configuration, the running exporter), `otlp_instruments.rs` (the
//! exposition as OpenTelemetry instruments), `otlp_http.rs` (the HTTP client), and
//! `spawn/spans.rs` (the message spans).

use super::otlp_instruments::{Snapshot, register};
use super::{MetricsConfig, otlp_http};
use crate::Runtime;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use std::sync::Arc;
use std::time::Duration;

/// How often metrics are pushed unless configured (the OpenTelemetry default; the SDK also
/// honours `OTEL_METRIC_EXPORT_INTERVAL` in milliseconds when no interval is configured).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// What to push and where.
#[derive(Clone, Debug)]
pub struct OtlpConfig {
    endpoint: Option<String>,
    interval: Option<Duration>,
    rules: MetricsConfig,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig::new()
    }
}

impl OtlpConfig {
    /// Push to the endpoint the environment names (see the module docs), every
    /// `OTEL_METRIC_EXPORT_INTERVAL` or 60 s, with the `/metrics` endpoint's default caps.
    pub fn new() -> Self {
        OtlpConfig {
            endpoint: None,
            interval: None,
            rules: MetricsConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        }
    }

    /// Push to this URL, used as given: the full path, e.g.
    /// `http://collector:4318/v1/metrics`. Overrides the environment.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Push this often (overrides `OTEL_METRIC_EXPORT_INTERVAL`).
    pub fn interval(mut self, every: Duration) -> Self {
        self.interval = Some(every);
        self
    }

    /// Which processes get series of their own and the label caps, as for `/metrics` (the
    /// address, token and TLS settings of `rules` are not used).
    pub fn rules(mut self, rules: MetricsConfig) -> Self {
        self.rules = rules;
        self
    }
}

/// Why the OTLP exporter could not start or flush.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// The exporter refused its configuration (e.g. a malformed endpoint).
    #[error("OTLP exporter: {0}")]
    Build(String),
    /// A flush failed (collector unreachable, or it refused the data).
    #[error("OTLP export failed: {0}")]
    Export(String),
    /// Not called inside a tokio runtime.
    #[error("the OTLP exporter must be started inside a tokio runtime")]
    NoTokio,
}

/// A running OTLP push. Dropping it stops the pushes (with a last one, on a thread of its own);
/// [`OtlpExporter::detach`] keeps it for the life of the process.
#[derive(Debug)]
pub struct OtlpExporter {
    provider: Option<SdkMeterProvider>,
    collector: Option<tokio::task::JoinHandle<()>>,
    ticks: tokio::sync::watch::Receiver<u64>,
}

impl OtlpExporter {
    /// Export now and wait for the collector's answer. Blocks the calling thread (the export
    /// runs on the SDK's own thread): call it from `spawn_blocking` inside async code.
    pub fn force_flush(&self) -> Result<(), OtlpError> {
        match &self.provider {
            Some(p) => p
                .force_flush()
                .map_err(|e| OtlpError::Export(e.to_string())),
            None => Ok(()),
        }
    }

    /// Wait until at least `n` sampler ticks have been folded into the aggregates.
    ///
    /// Cancel safety: cancel safe.
    pub async fn wait_ticks(&self, n: u64) {
        let mut rx = self.ticks.clone();
        let _ = rx.wait_for(|&t| t >= n).await;
    }

    /// Keep pushing after this handle is dropped.
    pub fn detach(mut self) {
        if let Some(p) = self.provider.take() {
            std::mem::forget(p);
        }
        self.collector = None;
    }
}

impl Drop for OtlpExporter {
    fn drop(&mut self) {
        if let Some(c) = self.collector.take() {
            c.abort();
        }
        if let Some(p) = self.provider.take() {
            // The last push blocks until the collector answers: never on an async worker.
            let _ = std::thread::Builder::new()
                .name("beamline-otlp-shutdown".into())
                .spawn(move || {
                    let _ = p.shutdown();
                });
        }
    }
}

impl Runtime {
    /// Push this runtime's metrics to an OpenTelemetry collector as `config` says. The
    /// aggregates are folded on a tokio task from now on; pushes run on the OpenTelemetry
    /// SDK's own thread. Must be called inside a tokio runtime.
    pub fn push_otlp(&self, config: OtlpConfig) -> Result<OtlpExporter, OtlpError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(OtlpError::NoTokio);
        }
        let mut exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_http_client(otlp_http::Client);
        if let Some(url) = &config.endpoint {
            exporter = exporter.with_endpoint(url.clone());
        }
        let exporter = exporter
            .build()
            .map_err(|e| OtlpError::Build(e.to_string()))?;
        let mut reader = PeriodicReader::builder(exporter);
        if let Some(every) = config.interval {
            reader = reader.with_interval(every);
        }
        let resource = opentelemetry_sdk::Resource::builder()
            .with_attribute(opentelemetry::KeyValue::new(
                "beamline.node",
                self.node().to_string(),
            ))
            .build();
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.build())
            .with_resource(resource)
            .build();
        let (registry, ticks, collector) = self.aggregate(&config.rules);
        register(
            &provider.meter("beamline"),
            &Arc::new(Snapshot::new(registry)),
        );
        tracing::info!(
            endpoint = config
                .endpoint
                .as_deref()
                .unwrap_or("(from the environment)"),
            "OTLP metrics push started"
        );
        Ok(OtlpExporter {
            provider: Some(provider),
            collector: Some(collector),
            ticks,
        })
    }
}

impl crate::Builder {
    /// Run every message a process handles in a `tracing` span of its own,
    /// `beamline.message` (fields `pid`, `behaviour`, `kind`), a root span that follows from
    /// its process's `beamline.process` span (feature `otlp`; default off). Export them with
    /// the application's `tracing` layer, e.g. `tracing-opentelemetry` to OTLP.
    pub fn message_spans(mut self, on: bool) -> Self {
        self.metrics.message_spans = on;
        self
    }

    /// Push metrics to an OpenTelemetry collector once built (feature `otlp`; off unless
    /// called). A failure to start is logged as a `tracing` error; the runtime runs without.
    /// Must be built inside a tokio runtime.
    pub fn otlp(mut self, config: OtlpConfig) -> Self {
        self.metrics.otlp = Some(config);
        self
    }
}

/// What [`crate::Builder::build`] does for [`crate::Builder::message_spans`], before any
/// process starts.
pub(crate) fn set_message_spans(rt: &Runtime, on: bool) {
    rt.shared
        .message_spans
        .store(on, std::sync::atomic::Ordering::Relaxed);
}

/// What [`crate::Builder::build`] does for [`crate::Builder::otlp`].
pub(crate) fn start(config: OtlpConfig, rt: &Runtime) {
    match rt.push_otlp(config) {
        Ok(exporter) => exporter.detach(),
        Err(e) => tracing::error!(error = %e, "OTLP metrics push not started"),
    }
}
