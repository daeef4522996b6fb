//! [`Runtime`]: one node's processes, names and counters, and the handle to reach them.

use crate::process::{ProcessCell, Shared};
use crate::publish::hub::Publish;
use crate::publish::interval;
use crate::publish::observe::Observation;
use crate::publish::record::Recording;
use crate::registry::Name;
use crate::spawn::{self, SpawnOpts};
use crate::supervisor::{ChildSpec, Strategy, Supervisor, SupervisorError, SupervisorSpec};
use crate::{
    CallError, CastError, ExitReason, GenServer, ProcessInfo, ProcessRef, ServerRef, StartError,
};
use beamline_wire::Pid;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

mod signal;
pub use signal::wait_for_signal;

/// The default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// A Beamline runtime: the processes, their names and their counters. Cheap to clone; every
/// clone is the same runtime. Build it inside a tokio runtime.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) shared: Arc<Shared>,
    /// The sampler, subscribers and task monitors (see [`crate::publish`]).
    pub(crate) publish: Arc<Publish>,
    /// The root supervisor, started on first use. (Here rather than in `shared`, which the
    /// supervisors' own files reach: the runtime is above them.)
    root: Arc<tokio::sync::OnceCell<Supervisor>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("node", &self.shared.node)
            .finish_non_exhaustive()
    }
}

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
    endpoint: Option<crate::endpoint::EndpointConfig>,
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

    /// Serve the attach endpoint once built (see [`crate::endpoint`]). A bind failure is logged
    /// as a `tracing` error and the runtime runs unobserved; use [`Runtime::serve`] to handle it.
    pub fn observe_at(mut self, config: crate::endpoint::EndpointConfig) -> Self {
        self.endpoint = Some(config);
        self
    }

    /// Whether `BEAMLINE_OBSERVE` (and `BEAMLINE_OBSERVE_TOKEN`) may enable the endpoint with no
    /// code change (default on). An [`Builder::observe_at`] address takes precedence.
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
        let rt = Runtime {
            publish: Arc::new(Publish::new(shared.clone(), self.task_metrics)),
            shared,
            root: Arc::default(),
        };
        let config = match self.endpoint {
            Some(c) => Some(Ok(c)),
            None if self.from_env => crate::endpoint::EndpointConfig::from_env(),
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

    /// The node name.
    pub fn node(&self) -> &str {
        &self.shared.node
    }

    /// Whether per-process instrumentation is on.
    pub fn is_instrumented(&self) -> bool {
        self.shared.instrument
    }

    /// Subscribe to this runtime's samples (starting the sampler if nobody observed yet): a
    /// `Welcome`, a `Snapshot`, then a `Delta` per interval. A subscriber that falls behind
    /// never slows the runtime; it skips ahead to a fresh snapshot (see
    /// [`Observation::missed`]). Must be called inside a tokio runtime.
    pub fn observe(&self) -> Observation {
        Observation::new(&self.publish, true)
    }

    /// Change the runtime's own sampling interval (clamped to 100 ms ..= 1 h); takes effect at
    /// once. Subscribers that asked for an interval of their own keep it; the sampler ticks at
    /// the shortest wanted (see `docs/PUBLISHING.md`).
    pub fn set_interval(&self, every: Duration) {
        let ms = interval::clamp(every).as_millis() as u64;
        self.shared.interval_ms.store(ms, Relaxed);
        self.publish.interval_changed();
    }

    /// The interval the sampler ticks at now: the runtime's own, or a shorter one a subscriber
    /// asked for.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.publish.interval_ms())
    }

    /// Serve the attach endpoint (Unix socket or TCP) so that an observer in another process can
    /// attach. Binding happens now; connections are handled on tokio tasks until the returned
    /// [`crate::endpoint::Endpoint`] is dropped or detached. Must be called inside a tokio
    /// runtime.
    pub fn serve(
        &self,
        config: crate::endpoint::EndpointConfig,
    ) -> Result<crate::endpoint::Endpoint, crate::endpoint::ServeError> {
        crate::endpoint::serve(self, config)
    }

    /// Record this runtime's sample stream to a file (the versioned format of
    /// `beamline_wire::record`), until the returned [`Recording`] is stopped or dropped. Must be
    /// called inside a tokio runtime.
    pub fn record_to(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<Recording> {
        Recording::start(self.observe(), path.as_ref())
    }

    /// Start a `GenServer` and wait for its `init` to finish (OTP's `start`; inside a process,
    /// the new one's parent is the caller).
    ///
    /// Cancel safety: if the future is dropped while `init` runs, the process still starts.
    pub async fn start<S: GenServer>(&self, args: S::Args) -> Result<ServerRef<S>, StartError> {
        spawn::start(self, args, SpawnOpts::new()).await
    }

    /// Start with options: a name, a bounded mailbox, a link to the caller.
    ///
    /// Cancel safety: as [`Runtime::start`].
    pub async fn start_with<S: GenServer>(
        &self,
        args: S::Args,
        opts: SpawnOpts,
    ) -> Result<ServerRef<S>, StartError> {
        spawn::start(self, args, opts).await
    }

    /// The typed handle of the process registered under `name`, if it is alive and a `S`.
    pub fn whereis<S: GenServer>(&self, name: impl Into<Name>) -> Option<ServerRef<S>> {
        self.whereis_process(name)?.downcast()
    }

    /// The process registered under `name`, whatever its type.
    pub fn whereis_process(&self, name: impl Into<Name>) -> Option<ProcessRef> {
        self.shared
            .registry
            .lookup(&name.into())
            .map(|e| ProcessRef {
                cell: e.cell,
                typed: Some(e.typed),
            })
    }

    /// The keys registered under a [`Name::Via`] registry, sorted.
    pub fn registered_keys(&self, registry: &str) -> Vec<String> {
        self.shared.registry.keys(registry)
    }

    /// Call the process registered under `name` (default timeout). A call to oneself by name
    /// returns [`CallError::CallingSelf`] at once.
    pub async fn call<S: GenServer>(
        &self,
        name: impl Into<Name>,
        msg: S::Call,
    ) -> Result<S::Reply, CallError> {
        match self.whereis::<S>(name) {
            Some(server) => server.call(msg).await,
            None => Err(CallError::NoProcess),
        }
    }

    /// Cast to the process registered under `name`. An unregistered name is a dead letter, not
    /// an error, as in OTP.
    pub async fn cast<S: GenServer>(
        &self,
        name: impl Into<Name>,
        msg: S::Cast,
    ) -> Result<(), CastError<S::Cast>> {
        match self.whereis::<S>(name) {
            Some(server) => server.cast(msg).await,
            None => {
                self.shared.dead_letters.fetch_add(1, Relaxed);
                Ok(())
            }
        }
    }

    /// A process by pid, while it is alive or recently exited.
    pub fn process(&self, pid: Pid) -> Option<ProcessRef> {
        self.shared
            .table
            .get(pid)
            .map(|cell| ProcessRef { cell, typed: None })
    }

    /// Readings of every live process, ordered by pid.
    pub fn processes(&self) -> Vec<ProcessInfo> {
        self.live_cells()
            .iter()
            .map(|c| ProcessInfo::read(c))
            .collect()
    }

    /// The cells of every live process, ordered by pid.
    fn live_cells(&self) -> Vec<Arc<ProcessCell>> {
        let mut cells = self.shared.table.cells();
        cells.retain(|c| !c.has_exited());
        cells.sort_by_key(|c| c.pid);
        cells
    }

    /// Casts and sends that found no live process, since start.
    pub fn dead_letters(&self) -> u64 {
        self.shared.dead_letters.load(Relaxed)
    }

    /// Messages dropped since start: by a bounded mailbox's overflow policy, or still queued
    /// when their process exited (crash, stop or kill). With [`Runtime::dead_letters`] this
    /// accounts for every message sent that was not handled.
    pub fn dropped_total(&self) -> u64 {
        self.shared.dropped_total.load(Relaxed)
    }

    /// The root supervisor (one_for_one, started on first use). Put your application's tree
    /// under it with [`Runtime::supervise`] so that [`Runtime::shutdown`] stops it in order.
    pub async fn root(&self) -> Result<Supervisor, StartError> {
        self.root
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
            })
            .await
            .cloned()
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
        if let Some(root) = self.root.get() {
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
