//! The [`Runtime`] value: a handle to one node's state (process table, names, counters) and
//! its publishing, and what only reads or sets them. Processes, supervisors and the attach
//! endpoint hold it; what starts processes is in `spawn.rs`, and what the runtime does above
//! everything (builder, observe, serve, root supervisor, shutdown) in `runtime.rs`.

use crate::error::{CallError, CastError};
use crate::handle::{ProcessRef, ServerRef};
use crate::info::ProcessInfo;
use crate::process::{ProcessCell, Shared};
use crate::publish::hub::Publish;
use crate::publish::interval;
use crate::registry::Name;
use crate::server::GenServer;
use crate::trace::{Trace, TraceRefused, TraceSpec, TraceTarget};
use beamline_wire::Pid;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// A Beamline runtime: the processes, their names and their counters. Cheap to clone; every
/// clone is the same runtime. Build it inside a tokio runtime.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) shared: Arc<Shared>,
    /// The sampler, subscribers and task monitors (see [`crate::publish`]).
    pub(crate) publish: Arc<Publish>,
    /// The root supervisor's process, started on first use (`Runtime::root`). A process
    /// handle rather than a `Supervisor`, so that this file sits below the supervisors that
    /// hold a `Runtime`.
    pub(crate) root: Arc<tokio::sync::OnceCell<ProcessRef>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("node", &self.shared.node)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime over fresh node state (see `Builder::build`).
    pub(crate) fn from_parts(shared: Arc<Shared>, publish: Arc<Publish>) -> Runtime {
        Runtime {
            shared,
            publish,
            root: Arc::default(),
        }
    }

    /// The node name.
    pub fn node(&self) -> &str {
        &self.shared.node
    }

    /// Whether per-process instrumentation is on.
    pub fn is_instrumented(&self) -> bool {
        self.shared.instrument
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

    /// Trace one process's messages (see [`crate::trace`] for the limits that keep it safe):
    /// `TraceSpec::default()` takes the defaults, 1000 events or 30 s. Read the events with
    /// [`Trace::next`]; dropping the handle stops the trace. A process busy with a batch of
    /// messages when the trace starts is traced at most 8 messages on; messages already queued
    /// when it started (they carry no sender) are left out, with their replies.
    ///
    /// Errors: [`TraceTarget::All`] is refused, as are a process that is not running and one
    /// already traced.
    pub fn trace(&self, target: TraceTarget, spec: TraceSpec) -> Result<Trace, TraceRefused> {
        let wake = Arc::new(tokio::sync::Notify::new());
        crate::trace::start(&self.shared, target, spec, wake).map_err(TraceRefused)
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
    pub(crate) fn live_cells(&self) -> Vec<Arc<ProcessCell>> {
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
}
