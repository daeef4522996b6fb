//! The hub: where the sampler publishes each tick and where subscriptions pick it up, plus the
//! runtime's publishing state that holds it ([`Publish`]).
//!
//! A subscription never slows the runtime down: each tick is published once, into a ring of
//! [`TICK_BACKLOG`] ticks, and the sampler never waits for anyone.

use super::frames::Tick;
use super::interval::Asks;
use super::task_monitors::TaskMonitors;
use crate::process::Shared;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use tokio::sync::{Notify, broadcast};

/// Ticks kept for subscribers. A subscriber further behind is skipped ahead to a fresh snapshot
/// and told how many updates it missed.
pub const TICK_BACKLOG: usize = 8;

/// Publishing state of one runtime: lives in [`crate::Runtime`], shared by its clones. The
/// sampler and its subscribers reach the processes through `shared`, never through `Runtime`.
pub(crate) struct Publish {
    pub(crate) shared: Arc<Shared>,
    /// Per-process tokio-metrics monitors (opt-in).
    pub(crate) task_monitors: TaskMonitors,
    /// Set when the sampler starts (see `sampler::hub`).
    pub(crate) hub: OnceLock<Arc<Hub>>,
    /// The last minutes of samples, for subscribers that come later (`flight.rs`).
    pub(crate) flight: super::flight::FlightRecorder,
    /// The names samples' hot types refer to (`type_names.rs`).
    pub(crate) type_names: super::type_names::TypeNames,
}

impl Publish {
    pub(crate) fn new(
        shared: Arc<Shared>,
        task_metrics: bool,
        flight: super::flight::FlightConfig,
        black_box: Option<super::flight::black_box::BlackBox>,
    ) -> Self {
        Publish {
            shared,
            task_monitors: TaskMonitors::new(task_metrics),
            hub: OnceLock::new(),
            flight: super::flight::FlightRecorder::new(flight, black_box),
            type_names: Default::default(),
        }
    }

    /// A monitor for a process being spawned, when task metrics are on.
    pub(crate) fn task_monitor(
        &self,
        shared: &Shared,
        pid: beamline_wire::Pid,
    ) -> Option<tokio_metrics::TaskMonitor> {
        self.task_monitors.for_new_process(&shared.table, pid)
    }

    /// The runtime's own interval (what a subscriber that never asked wants), in ms.
    pub(crate) fn runtime_interval_ms(&self) -> u64 {
        self.shared.interval_ms.load(Relaxed)
    }

    /// The interval the sampler ticks at now, in ms (see `interval.rs` for the rule).
    pub(crate) fn interval_ms(&self) -> u64 {
        let own = self.runtime_interval_ms();
        match self.hub.get() {
            Some(hub) => hub.asks.effective_ms(own),
            None => super::interval::clamp_ms(own),
        }
    }

    /// Tell a running sampler that the interval may have changed.
    pub(crate) fn interval_changed(&self) {
        if let Some(hub) = self.hub.get() {
            hub.wake.notify_one();
        }
    }
}

/// Where ticks are published; subscribers hold a receiver.
pub(crate) struct Hub {
    /// Only the sampler holds the channel's sender, so subscribers see the stream end if the
    /// sampler's task is dropped (its tokio runtime shut down).
    tx: broadcast::WeakSender<Arc<Tick>>,
    /// Wakes the sampler: a subscriber arrived, left or wants a snapshot, or the interval
    /// changed.
    pub(crate) wake: Notify,
    want_snapshot: AtomicBool,
    /// Updates skipped by all subscribers since start (reported in the system sample).
    pub(crate) missed_total: AtomicU64,
    /// The interval each subscription wants.
    pub(crate) asks: Asks,
    /// Subscriptions that take encoded frames (endpoint connections): while there are any, the
    /// sampler encodes each tick's deltas once for all of them.
    pub(crate) wire_subscribers: AtomicUsize,
    /// Processes the sampler has read (visited) since it started, for tests.
    #[cfg(test)]
    pub(crate) reads: AtomicU64,
    /// Yields of the first scan between batches of measure requests, for tests.
    #[cfg(test)]
    pub(crate) measure_yields: AtomicU64,
}

impl Hub {
    /// A hub, and the sender its sampler publishes with.
    pub(crate) fn new() -> (Arc<Hub>, broadcast::Sender<Arc<Tick>>) {
        let (tx, _) = broadcast::channel(TICK_BACKLOG);
        let hub = Arc::new(Hub {
            tx: tx.downgrade(),
            wake: Notify::new(),
            want_snapshot: AtomicBool::new(false),
            missed_total: AtomicU64::new(0),
            asks: Asks::default(),
            wire_subscribers: AtomicUsize::new(0),
            #[cfg(test)]
            reads: AtomicU64::new(0),
            #[cfg(test)]
            measure_yields: AtomicU64::new(0),
        });
        (hub, tx)
    }

    /// A receiver of the ticks published from now on; one that is already closed if the
    /// sampler is gone.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Tick>> {
        match self.tx.upgrade() {
            Some(tx) => tx.subscribe(),
            None => broadcast::channel(1).1,
        }
    }

    /// Ask for a full snapshot on the next tick (brought forward to at most
    /// [`super::interval::MIN_INTERVAL`] after the last one).
    pub(crate) fn request_snapshot(&self) {
        self.want_snapshot.store(true, Relaxed);
        self.wake.notify_one();
    }

    /// Whether a snapshot is wanted.
    pub(crate) fn snapshot_requested(&self) -> bool {
        self.want_snapshot.load(Relaxed)
    }

    /// Whether a snapshot is wanted, clearing the request (the sampler, as it starts a tick).
    pub(crate) fn take_snapshot_request(&self) -> bool {
        self.want_snapshot.swap(false, Relaxed)
    }
}
