//! One trace's buffer and limits: a bounded ring of events (the oldest dropped and counted when
//! full), a token bucket, an event budget and a deadline. Everything happens under one short
//! lock taken only by the traced process's own messages and the consumer's drain.

use beamline_wire::Pid;
use beamline_wire::trace::{TraceBatch, TraceEvent, TraceSpec};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};

/// Defaults and hard caps for [`TraceSpec`]: small, as recon_trace teaches, so a forgotten trace
/// ends by itself.
pub mod limits {
    /// Events before a trace stops, by default.
    pub const DEFAULT_EVENTS: u64 = 1000;
    /// At most this many events, whatever is asked.
    pub const MAX_EVENTS: u64 = 100_000;
    /// Milliseconds before a trace stops, by default.
    pub const DEFAULT_MS: u64 = 30_000;
    /// At most ten minutes.
    pub const MAX_MS: u64 = 600_000;
    /// Events per second before the rate limit trips, by default.
    pub const DEFAULT_RATE: u32 = 500;
    /// At most this rate, whatever is asked.
    pub const MAX_RATE: u32 = 10_000;
    /// Events kept for the consumer; beyond, the oldest are dropped and counted.
    pub const RING: usize = 1024;
}

/// `spec` with defaults for zeros and each field clamped to its cap.
pub(crate) fn clamp(spec: TraceSpec) -> TraceSpec {
    let pick = |v: u64, default: u64, max: u64| if v == 0 { default } else { v.min(max) };
    TraceSpec {
        max_events: pick(spec.max_events, limits::DEFAULT_EVENTS, limits::MAX_EVENTS),
        max_ms: pick(spec.max_ms, limits::DEFAULT_MS, limits::MAX_MS),
        rate_per_s: pick(
            spec.rate_per_s.into(),
            limits::DEFAULT_RATE.into(),
            limits::MAX_RATE.into(),
        ) as u32,
    }
}

/// Why a trace ended.
pub(crate) const EVENT_LIMIT: &str = "event limit reached";
pub(crate) const TIME_LIMIT: &str = "time limit reached";
pub(crate) const STOPPED: &str = "stopped";
pub(crate) const EXITED: &str = "process exited";

/// A received message whose handling has begun, completed when its callback returns.
pub(crate) struct Handling {
    pub event: TraceEvent,
    pub started_ns: u64,
}

/// One trace.
pub(crate) struct Session {
    pub id: u64,
    pub pid: Pid,
    pub spec: TraceSpec,
    pub deadline: Instant,
    /// Told when there is something to drain (shared by all traces of one subscriber).
    pub wake: Arc<Notify>,
    inner: Mutex<Inner>,
}

struct Inner {
    ring: VecDeque<TraceEvent>,
    dropped: u64,
    recorded: u64,
    tokens: f64,
    refilled: Instant,
    ended: Option<String>,
    /// Whether the end was handed to the consumer.
    told: bool,
    handling: Option<Handling>,
}

/// What recording an event did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// Kept (or the trace had already ended).
    Kept,
    /// This event ended the trace: the caller unregisters it.
    Ended,
}

impl Session {
    pub(crate) fn new(id: u64, pid: Pid, spec: TraceSpec, wake: Arc<Notify>) -> Session {
        let now = Instant::now();
        Session {
            id,
            pid,
            spec,
            deadline: now + Duration::from_millis(spec.max_ms),
            wake,
            inner: Mutex::new(Inner {
                ring: VecDeque::new(),
                dropped: 0,
                recorded: 0,
                tokens: spec.rate_per_s as f64,
                refilled: now,
                ended: None,
                told: false,
                handling: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the trace has ended.
    pub(crate) fn has_ended(&self) -> bool {
        self.lock().ended.is_some()
    }

    /// Record one event, applying the limits in order: time, rate, then the event budget (the
    /// event that reaches it is kept).
    pub(crate) fn record(&self, event: TraceEvent) -> Recorded {
        let mut inner = self.lock();
        if inner.ended.is_some() {
            return Recorded::Kept;
        }
        let now = Instant::now();
        let ended = if now >= self.deadline {
            Some(TIME_LIMIT.to_string())
        } else if !inner.take_token(now, self.spec.rate_per_s) {
            Some(format!(
                "rate limit tripped: more than {} events/s",
                self.spec.rate_per_s
            ))
        } else {
            if inner.ring.len() >= limits::RING {
                inner.ring.pop_front();
                inner.dropped += 1;
            }
            inner.ring.push_back(event);
            inner.recorded += 1;
            (inner.recorded >= self.spec.max_events).then(|| EVENT_LIMIT.to_string())
        };
        let done = ended.is_some();
        if done {
            inner.ended = ended;
        }
        drop(inner);
        self.wake.notify_one();
        if done {
            Recorded::Ended
        } else {
            Recorded::Kept
        }
    }

    /// End the trace for `why`; `false` if it had already ended.
    pub(crate) fn end(&self, why: &str) -> bool {
        let mut inner = self.lock();
        if inner.ended.is_some() {
            return false;
        }
        inner.ended = Some(why.to_string());
        drop(inner);
        self.wake.notify_one();
        true
    }

    /// Keep a received message until its callback returns.
    pub(crate) fn begin(&self, handling: Handling) {
        self.lock().handling = Some(handling);
    }

    /// The message whose handling began, if any.
    pub(crate) fn take_handling(&self) -> Option<Handling> {
        self.lock().handling.take()
    }

    /// The peer of the message being handled (the caller a reply goes to); `None` when no
    /// message is noted as being handled.
    pub(crate) fn handling_peer(&self) -> Option<(Option<Pid>, Option<String>)> {
        let inner = self.lock();
        let h = inner.handling.as_ref()?;
        Some((h.event.peer, h.event.peer_name.clone()))
    }

    /// What happened since the last drain; `None` when nothing did (the final batch, with
    /// `ended`, is handed out once).
    pub(crate) fn drain(&self) -> Option<TraceBatch> {
        let mut inner = self.lock();
        let tell_end = inner.ended.is_some() && !inner.told;
        if inner.ring.is_empty() && inner.dropped == 0 && !tell_end {
            return None;
        }
        inner.told |= tell_end;
        Some(TraceBatch {
            trace: self.id,
            pid: self.pid,
            events: inner.ring.drain(..).collect(),
            dropped: std::mem::take(&mut inner.dropped),
            ended: if tell_end { inner.ended.clone() } else { None },
        })
    }

    /// Whether the consumer has been handed the final batch.
    pub(crate) fn finished(&self) -> bool {
        let inner = self.lock();
        inner.told && inner.ring.is_empty()
    }
}

impl Inner {
    /// The token bucket: refills at `rate` per second up to one second's worth.
    fn take_token(&mut self, now: Instant, rate: u32) -> bool {
        let rate = rate as f64;
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
