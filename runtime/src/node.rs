//! The runtime-wide state every process cell points to: the process table, the name registry,
//! the sampler's dirty list, runtime-wide counters and settings. `Runtime` is a handle to it.
//!
//! [`Node`] is generic over the cell type only so that this file need not name the cell, which
//! points back here: `process.rs` fixes it as `Shared = Node<ProcessCell>`.

use crate::publish::dirty::DirtyList;
use crate::registry::{Holder, Registry};
use crate::table::Table;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

/// State shared by everything in one runtime.
pub(crate) struct Node<C> {
    /// Where `now_ns` reads its nanoseconds (`clock.rs`): the CPU's counter, or tokio's clock
    /// when the runtime was built on a paused one.
    pub clock: crate::clock::Clock,
    pub started_unix_ms: u64,
    pub incarnation: u64,
    pub node: String,
    pub instrument: bool,
    pub next_pid: AtomicU64,
    pub next_ref: AtomicU64,
    pub table: Table<C>,
    pub registry: Registry<C>,
    pub dead_letters: AtomicU64,
    /// Messages dropped anywhere since start: overflow policies and crashes.
    pub dropped_total: AtomicU64,
    /// Whether a sampler is running; only then do processes put themselves on `dirty`.
    pub sampling: AtomicBool,
    /// Processes that changed since the last tick.
    pub dirty: DirtyList<C>,
    pub spawned_total: AtomicU64,
    pub exited_total: AtomicU64,
    pub shutting_down: AtomicBool,
    /// The runtime's own sampling interval in milliseconds (what a subscriber that has not asked
    /// for another wants; see `publish/interval.rs`).
    pub interval_ms: AtomicU64,
    /// Calls waiting for a reply, for their timeouts.
    pub deadlines: Arc<crate::deadline::Deadlines>,
    /// Active message traces (`trace.rs`); the message paths read only its count.
    pub traces: crate::trace::registry::Registry,
    /// Whether each message runs in a span of its own (`Builder::message_spans`; set before
    /// any process starts).
    #[cfg(feature = "otlp")]
    pub message_spans: AtomicBool,
}

impl<C: Holder> Node<C> {
    pub(crate) fn new(node: String, instrument: bool, interval_ms: u64) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Node {
            clock: crate::clock::Clock::start(),
            started_unix_ms: started.as_millis() as u64,
            incarnation: started.as_nanos() as u64 ^ ((std::process::id() as u64) << 32),
            node,
            instrument,
            next_pid: AtomicU64::new(1),
            next_ref: AtomicU64::new(1),
            table: Table::new(),
            registry: Registry::new(),
            dead_letters: AtomicU64::new(0),
            dropped_total: AtomicU64::new(0),
            sampling: AtomicBool::new(false),
            dirty: DirtyList::new(),
            spawned_total: AtomicU64::new(0),
            exited_total: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            interval_ms: AtomicU64::new(interval_ms),
            deadlines: Default::default(),
            traces: Default::default(),
            #[cfg(feature = "otlp")]
            message_spans: AtomicBool::new(false),
        }
    }
}

impl<C> Node<C> {
    /// Nanoseconds since the runtime started, never 0 (0 means "not set" in the counters).
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }
}
