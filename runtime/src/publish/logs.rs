//! Per-process log lines: a `tracing` layer that keeps the last lines emitted inside each
//! process, so an observer can show them next to its stats ([`beamline_wire::ControlRequest::Logs`]).
//!
//! ```
//! use tracing_subscriber::prelude::*;
//! tracing_subscriber::registry()
//!     .with(beamline::logs::ProcessLogs::new())
//!     .init();
//! ```
//!
//! Events outside any process are ignored. Each process keeps at most
//! [`ProcessLogs::with_lines`] lines (default [`DEFAULT_LINES`]), each cut to [`MAX_LINE`] bytes,
//! so the memory is bounded by processes x lines x line length; the lines go when the process
//! is forgotten.

use crate::current;
use std::fmt::Write as _;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Lines kept per process by default.
pub const DEFAULT_LINES: usize = 64;
/// A line is cut to this many bytes.
pub const MAX_LINE: usize = 512;

/// The layer. Add it to a `tracing_subscriber::registry()` next to your usual output layer.
#[derive(Clone, Debug)]
pub struct ProcessLogs {
    lines: usize,
}

impl Default for ProcessLogs {
    fn default() -> Self {
        ProcessLogs::new()
    }
}

impl ProcessLogs {
    /// Keep [`DEFAULT_LINES`] lines per process.
    pub fn new() -> Self {
        ProcessLogs {
            lines: DEFAULT_LINES,
        }
    }

    /// Keep this many lines per process (at least 1).
    pub fn with_lines(lines: usize) -> Self {
        ProcessLogs {
            lines: lines.max(1),
        }
    }
}

/// Writes `message` first, then the other fields as `name=value`.
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

impl<S: Subscriber> Layer<S> for ProcessLogs {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        current::with(|cell| {
            let meta = event.metadata();
            let mut line = Line {
                message: String::new(),
                fields: String::new(),
            };
            event.record(&mut line);
            let at_ms = cell.now_ns() / 1_000_000;
            let text = format!(
                "{at_ms:>8}ms {:<5} {}: {}{}",
                meta.level(),
                meta.target(),
                line.message,
                line.fields
            );
            let text = super::to_wire::cut(&text, MAX_LINE);
            let logs = cell.logs.get_or_init(Box::default);
            let mut logs = logs.lock().unwrap_or_else(|p| p.into_inner());
            while logs.len() >= self.lines {
                logs.pop_front();
            }
            logs.push_back(text);
        });
    }
}
