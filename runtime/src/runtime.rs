//! [`Runtime`]: one node's processes, names and counters, and the handle to reach them.

use crate::process::Shared;
use crate::registry::Name;
use crate::spawn::{self, SpawnOpts};
use crate::{CallError, CastError, GenServer, ProcessInfo, ProcessRef, ServerRef, StartError};
use beamline_wire::Pid;
use std::sync::Arc;
use std::time::Duration;

/// The default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// A Beamline runtime: the processes, their names and their counters. Cheap to clone; every
/// clone is the same runtime. Build it inside a tokio runtime.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) shared: Arc<Shared>,
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

    /// The sampling interval (default 1 s, at least 100 ms).
    pub fn interval(mut self, every: Duration) -> Self {
        self.interval = every.max(Duration::from_millis(100));
        self
    }

    /// Keep panics inside process callbacks off stderr (default on): they become exit reasons
    /// and `tracing` events, and do not tear an embedded observer's screen. Other panics are
    /// printed as usual.
    pub fn quiet_panics(mut self, on: bool) -> Self {
        self.quiet_panics = on;
        self
    }

    /// Build the runtime.
    pub fn build(self) -> Runtime {
        if self.quiet_panics {
            crate::panic::install_quiet_hook();
        }
        Runtime {
            shared: Arc::new(Shared::new(
                self.node,
                self.instrument,
                self.interval.as_millis() as u64,
            )),
        }
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
                self.shared
                    .dead_letters
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
        let mut out: Vec<ProcessInfo> = self
            .shared
            .table
            .cells()
            .iter()
            .filter(|c| !c.has_exited())
            .map(|c| ProcessInfo::read(c))
            .collect();
        out.sort_by_key(|p| p.pid);
        out
    }

    /// Casts and sends that found no live process, since start.
    pub fn dead_letters(&self) -> u64 {
        self.shared
            .dead_letters
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}
