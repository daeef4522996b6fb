//! [`Runtime`] from above: [`Builder`], and what the runtime does on top of everything else:
//! subscribe and serve observers, record, the root supervisor, shutdown. The `Runtime` value
//! and what only reads it are in `runtime/base.rs` (below the processes and supervisors that
//! hold it); `Runtime::start` is in `spawn.rs`.

use crate::endpoint::{self, Endpoint, EndpointConfig, ServeError};
use crate::error::StartError;
use crate::exit::ExitReason;
use crate::handle::ProcessRef;
use crate::process::Shared;
use crate::publish::hub::Publish;
use crate::publish::interval;
use crate::publish::observe::Observation;
use crate::publish::record::Recording;
use crate::spawn::SpawnOpts;
use crate::supervisor::{ChildSpec, Strategy, Supervisor, SupervisorError, SupervisorSpec};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

mod base;
mod signal;
pub use base::Runtime;
pub use signal::wait_for_signal;

/// The default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

/// Configures a [`Runtime`].
#[derive(Clone, Debug)]
pub struct Builder {
    node: String,
    instrument: bool,
    interval: Duration,
    quiet_panics: bool,
    task_metrics: bool,
    flight: crate::publish::flight::FlightConfig,
    black_box: Option<crate::publish::flight::black_box::BlackBox>,
    endpoint: Option<EndpointConfig>,
    from_env: bool,
    /// The metrics endpoint's settings (`Builder::metrics_at`, in `metrics.rs`).
    #[cfg(feature = "metrics")]
    pub(crate) metrics: crate::metrics::BuilderMetrics,
}

impl Default for Builder {
    fn default() -> Self {
        let node = std::env::args()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "beamline".to_string());
        Builder {
            node,
            instrument: true,
            interval: DEFAULT_INTERVAL,
            quiet_panics: true,
            task_metrics: false,
            flight: Default::default(),
            black_box: None,
            endpoint: None,
            from_env: true,
            #[cfg(feature = "metrics")]
            metrics: Default::default(),
        }
    }
}

impl Builder {
    /// The node name observers show (defaults to the program's name).
    pub fn node(mut self, name: impl Into<String>) -> Self {
        self.node = name.into();
        self
    }

    /// Turn per-process instrumentation on (default) or off. Off, the message path touches no
    /// counters; it exists to measure what instrumentation costs.
    pub fn instrument(mut self, on: bool) -> Self {
        self.instrument = on;
        self
    }

    /// The sampling interval (default 1 s, clamped to 100 ms ..= 1 h).
    pub fn interval(mut self, every: Duration) -> Self {
        self.interval = interval::clamp(every);
        self
    }

    /// Keep panics inside process callbacks off stderr (default on): they become exit reasons
    /// and `tracing` events, and do not tear an embedded observer's screen. Other panics are
    /// printed as usual.
    pub fn quiet_panics(mut self, on: bool) -> Self {
        self.quiet_panics = on;
        self
    }

    /// Wrap every process's task in a tokio-metrics `TaskMonitor` so that samples carry mean
    /// poll time, scheduling delay and slow polls (default off: it costs a few hundred bytes and
    /// some time per poll, per process).
    pub fn task_metrics(mut self, on: bool) -> Self {
        self.task_metrics = on;
        self
    }

    /// How much history the runtime keeps while an endpoint serves, so that an observer that
    /// attaches late sees the last minutes at once (see [`crate::publish::flight`]; default:
    /// ten minutes, at most 250,000 process points; [`FlightConfig::off`] for none).
    ///
    /// [`FlightConfig::off`]: crate::publish::flight::FlightConfig::off
    pub fn flight_recorder(mut self, config: crate::publish::flight::FlightConfig) -> Self {
        self.flight = config;
        self
    }

    /// Write the runtime's recent history to a file by itself when its root supervisor gives
    /// up or another trigger of `config` fires (see [`crate::flight::black_box`]); it then
    /// records from the start, observed or not. `BEAMLINE_BLACKBOX=PATH` does the same with no
    /// code change (see [`Builder::observe_from_env`]).
    pub fn black_box(mut self, config: crate::publish::flight::black_box::BlackBox) -> Self {
        self.black_box = Some(config);
        self
    }

    /// Serve the attach endpoint once built (see [`crate::endpoint`]). A bind failure is logged
    /// as a `tracing` error and the runtime runs unobserved; use [`Runtime::serve`] to handle it.
    pub fn observe_at(mut self, config: EndpointConfig) -> Self {
        self.endpoint = Some(config);
        self
    }

    /// Whether `BEAMLINE_OBSERVE` (and `BEAMLINE_OBSERVE_TOKEN`) may enable the endpoint, and
    /// `BEAMLINE_BLACKBOX` the black box, with no code change (default on). An
    /// [`Builder::observe_at`] address and a [`Builder::black_box`] take precedence.
    pub fn observe_from_env(mut self, on: bool) -> Self {
        self.from_env = on;
        self
    }

    /// Build the runtime. With an endpoint configured (by [`Builder::observe_at`] or the
    /// environment), this must run inside a tokio runtime.
    pub fn build(self) -> Runtime {
        if self.quiet_panics {
            crate::panic::install_quiet_hook();
        }
        let shared = Arc::new(Shared::new(
            self.node,
            self.instrument,
            self.interval.as_millis() as u64,
        ));
        let black_box = self.black_box.or_else(|| match self.from_env {
            true => match crate::publish::flight::black_box::BlackBox::from_env()? {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::error!(error = %e, "black box not armed");
                    None
                }
            },
            false => None,
        });
        let publish = Arc::new(Publish::new(
            shared.clone(),
            self.task_metrics,
            self.flight,
            black_box,
        ));
        crate::publish::flight::keep::arm(&publish);
        let rt = Runtime::from_parts(shared, publish);
        let config = match self.endpoint {
            Some(c) => Some(Ok(c)),
            None if self.from_env => EndpointConfig::from_env(),
            None => None,
        };
        #[cfg(feature = "metrics")]
        self.metrics.start(&rt);
        if config.is_some() && tokio::runtime::Handle::try_current().is_err() {
            tracing::error!(
                "observe endpoint not started: build the runtime inside a tokio runtime"
            );
            return rt;
        }
        match config.map(|c| c.and_then(|c| rt.serve(c))) {
            Some(Ok(endpoint)) => endpoint.detach(),
            Some(Err(e)) => tracing::error!(error = %e, "observe endpoint not started"),
            None => {}
        }
        rt
    }
}

impl Runtime {
    /// A runtime with default settings.
    pub fn new() -> Runtime {
        Builder::default().build()
    }

    /// Configure a runtime.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// What the flight recorder holds now: to check its memory against
    /// [`crate::FlightConfig::max_points`] (about 120 bytes a point plus the strings of each
    /// process named; `BENCHMARKS.md` has measured figures).
    pub fn flight_held(&self) -> crate::flight::FlightHeld {
        self.publish.flight.report()
    }

    /// Subscribe to this runtime's samples (starting the sampler if nobody observed yet): a
    /// `Welcome`, a `Snapshot`, then a `Delta` per interval. A subscriber that falls behind
    /// never slows the runtime; it skips ahead to a fresh snapshot (see
    /// [`Observation::missed`]). Must be called inside a tokio runtime.
    pub fn observe(&self) -> Observation {
        Observation::new(&self.publish, true)
    }

    /// Serve the attach endpoint (Unix socket or TCP) so that an observer in another process can
    /// attach. Binding happens now; connections are handled on tokio tasks until the returned
    /// [`crate::endpoint::Endpoint`] is dropped or detached. Must be called inside a tokio
    /// runtime.
    pub fn serve(&self, config: EndpointConfig) -> Result<Endpoint, ServeError> {
        endpoint::serve(self, config)
    }

    /// Record this runtime's sample stream to a file (the versioned format of
    /// `beamline_wire::record`), until the returned [`Recording`] is stopped or dropped. Must be
    /// called inside a tokio runtime.
    pub fn record_to(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<Recording> {
        Recording::start(self.observe(), path.as_ref())
    }

    /// The root supervisor (one_for_one, started on first use). Put your application's tree
    /// under it with [`Runtime::supervise`] so that [`Runtime::shutdown`] stops it in order.
    pub async fn root(&self) -> Result<Supervisor, StartError> {
        let root = self
            .root
            .get_or_try_init(|| async {
                let spec = SupervisorSpec::new(Strategy::OneForOne).name("root");
                let opts = SpawnOpts::new();
                // Started outside any process so that it has no parent.
                tokio::spawn({
                    let rt = self.clone();
                    async move { Supervisor::start_with(&rt, spec, opts).await }
                })
                .await
                .map_err(|_| StartError::ShuttingDown)?
                .map(|sup| sup.process())
            })
            .await?;
        Ok(Supervisor::from_process(root).expect("the root is a supervisor"))
    }

    /// Start a child under the root supervisor.
    pub async fn supervise(&self, child: ChildSpec) -> Result<Option<ProcessRef>, SupervisorError> {
        let root = self
            .root()
            .await
            .map_err(|e| SupervisorError::Start(e.to_string()))?;
        root.start_child(child).await
    }

    /// Shut everything down gracefully: the root supervisor's tree in reverse start order (each
    /// child by its shutdown policy, `terminate` callbacks run), then any process started
    /// outside the tree, newest first, with a 5 s timeout each. New top-level starts fail with
    /// [`StartError::ShuttingDown`] from now on.
    ///
    /// Cancel safety: if the future is dropped, processes already asked to stop still stop; the
    /// rest keep running.
    pub async fn shutdown(&self) {
        self.shared.shutting_down.store(true, Relaxed);
        if let Some(root) = self.root.get().and_then(Supervisor::from_process) {
            let _ = root.stop().await;
        }
        for cell in self.live_cells().into_iter().rev() {
            let p = ProcessRef { cell, typed: None };
            // Gone meanwhile, or the caller itself: nothing to wait for.
            let _ = p
                .stop(ExitReason::Shutdown, Some(Duration::from_secs(5)))
                .await;
        }
    }

    /// Wait for ctrl-c (SIGINT) or SIGTERM, then [`Runtime::shutdown`]. Typical end of `main`.
    ///
    /// Cancel safety: cancel safe until a signal arrives; see [`Runtime::shutdown`] after.
    pub async fn run_until_signal(&self) {
        wait_for_signal().await;
        tracing::info!("signal received; shutting down");
        self.shutdown().await;
    }
}

#[cfg(feature = "metrics")]
impl Builder {
    /// Serve `GET /metrics` once built (see [`crate::metrics`]). A bind failure is logged as a
    /// `tracing` error and the runtime runs without it; use [`Runtime::serve_metrics`] to
    /// handle it. Needs the feature `metrics` (default on).
    pub fn metrics_at(mut self, config: crate::metrics::MetricsConfig) -> Self {
        self.metrics.set_config(config);
        self
    }

    /// Whether `BEAMLINE_METRICS` (and `BEAMLINE_METRICS_TOKEN`) may open the metrics endpoint
    /// with no code change (default on). A [`Builder::metrics_at`] config takes precedence.
    pub fn metrics_from_env(mut self, on: bool) -> Self {
        self.metrics.set_from_env(on);
        self
    }
}
