//! `--json`: one object per line per sample, with keys that are part of the observer's interface
//! (documented in the README; a test decodes them with unknown fields denied). These types are
//! the observer's own: wire structs are converted here, never serialised as they are, so the
//! protocol can evolve without breaking scripts.

use crate::model::Model;
use crate::model::diagnosis::Alert;
use beamline_wire::{ProcessSample, ProcessTable};
use serde::Serialize;

/// One line of `--json` output.
#[derive(Clone, Debug, Serialize)]
pub struct JsonSample {
    /// Sample number.
    pub seq: u64,
    /// Milliseconds since the runtime started.
    pub at_ms: u64,
    /// Sampling interval, milliseconds.
    pub interval_ms: u64,
    /// The runtime's node name, if the handshake said.
    pub node: Option<String>,
    /// The runtime's incarnation: changes when the runtime restarts.
    pub incarnation: Option<u64>,
    /// Updates the observer did not receive (gaps plus the source's own count).
    pub missed: u64,
    /// Runtime-wide figures.
    pub system: JsonSystem,
    /// Every process, by pid.
    pub processes: Vec<JsonProcess>,
    /// Diagnosis findings, most important first.
    pub alerts: Vec<JsonAlert>,
    /// Alerts that cleared in the last five minutes, most recently resolved first.
    pub resolved: Vec<JsonAlert>,
}

/// Runtime-wide figures.
#[derive(Clone, Debug, Serialize)]
pub struct JsonSystem {
    /// Live processes.
    pub processes: u64,
    /// Messages handled per second.
    pub msgs_per_s: f64,
    /// tokio worker threads.
    pub workers: u64,
    /// Fraction of the interval workers were busy, 0..1.
    pub worker_busy: f64,
    /// Tasks in tokio's global queue.
    pub global_queue_depth: u64,
    /// Messages dropped since start.
    pub dropped_total: u64,
    /// Sends that found no live process, since start.
    pub dead_letters: u64,
    /// Updates the runtime dropped for slow local subscribers.
    pub missed_updates: u64,
}

/// One process.
#[derive(Clone, Debug, Serialize)]
pub struct JsonProcess {
    /// Numeric pid (`<0.N.0>` is `N`).
    pub id: u64,
    /// Registered name, or null.
    pub name: Option<String>,
    /// Parent pid, or null for roots.
    pub parent: Option<u64>,
    /// `server`, `supervisor`, `agent` or `task`.
    pub kind: &'static str,
    /// The Rust type behind it.
    pub behaviour: String,
    /// `idle`, `handling_call`, `waiting`, … (see the README).
    pub status: &'static str,
    /// The pid it is blocked on in a call, or null.
    pub waiting_on: Option<u64>,
    /// Messages waiting now.
    pub mailbox_len: u64,
    /// Deepest the mailbox got in the interval.
    pub mailbox_peak: u64,
    /// Capacity of a bounded mailbox, or null.
    pub mailbox_capacity: Option<u64>,
    /// Arrivals per second.
    pub in_per_s: f64,
    /// Sends per second.
    pub out_per_s: f64,
    /// Fraction of the interval inside callbacks, 0..1.
    pub busy: f64,
    /// State size in bytes.
    pub state_bytes: u64,
    /// Restarts of its child slot.
    pub restarts: u32,
}

/// One diagnosis finding.
#[derive(Clone, Debug, Serialize)]
pub struct JsonAlert {
    /// `overflow`, `bottleneck`, `deadlock`, `long_wait`, `restart_storm` or `state_growth`.
    pub kind: &'static str,
    /// `warning` or `critical`.
    pub severity: &'static str,
    /// Pids involved, culprit first.
    pub processes: Vec<u64>,
    /// One line in plain words.
    pub message: String,
    /// When it started, milliseconds since runtime start.
    pub since_ms: u64,
    /// Stable while the condition lasts; a new occurrence gets a new id.
    pub id: u64,
    /// Severity over time, oldest first: when raised and at each change.
    pub severity_log: Vec<JsonSeverityChange>,
    /// When the condition cleared, milliseconds since runtime start; null while active.
    pub resolved_at_ms: Option<u64>,
}

/// An alert's severity from `at_ms` on.
#[derive(Clone, Debug, Serialize)]
pub struct JsonSeverityChange {
    /// Milliseconds since runtime start.
    pub at_ms: u64,
    /// `warning` or `critical`.
    pub severity: &'static str,
}

impl From<&ProcessSample> for JsonProcess {
    fn from(p: &ProcessSample) -> Self {
        JsonProcess {
            id: p.id.0,
            name: p.name.clone(),
            parent: p.parent.map(|p| p.0),
            kind: p.kind.as_str(),
            behaviour: p.behaviour.clone(),
            status: p.status.as_str(),
            waiting_on: p.status.waiting_on().map(|p| p.0),
            mailbox_len: p.mailbox_len,
            mailbox_peak: p.mailbox_peak,
            mailbox_capacity: p.mailbox_capacity,
            in_per_s: p.in_per_s,
            out_per_s: p.out_per_s,
            busy: p.busy,
            state_bytes: p.state_bytes,
            restarts: p.restarts,
        }
    }
}

impl From<&Alert> for JsonAlert {
    fn from(a: &Alert) -> Self {
        JsonAlert {
            kind: a.kind.as_str(),
            severity: a.severity.as_str(),
            processes: a.processes.iter().map(|p| p.0).collect(),
            message: a.message.clone(),
            since_ms: a.since_ms,
            id: a.id,
            severity_log: a
                .severity_log
                .iter()
                .map(|(at_ms, s)| JsonSeverityChange {
                    at_ms: *at_ms,
                    severity: s.as_str(),
                })
                .collect(),
            resolved_at_ms: a.resolved_at_ms,
        }
    }
}

impl JsonSample {
    /// The line for moment `m` of `model`.
    pub fn new(model: &Model, m: &ProcessTable, source_missed: u64) -> Self {
        let s = &m.system;
        JsonSample {
            seq: m.seq.unwrap_or_default(),
            at_ms: m.at_ms,
            interval_ms: m.interval_ms,
            node: model.welcome.as_ref().map(|w| w.node.clone()),
            incarnation: model.welcome.as_ref().map(|w| w.incarnation),
            missed: model.gaps + source_missed,
            system: JsonSystem {
                processes: s.processes,
                msgs_per_s: s.msgs_per_s,
                workers: s.workers,
                worker_busy: s.worker_busy,
                global_queue_depth: s.global_queue_depth,
                dropped_total: s.dropped_total,
                dead_letters: s.dead_letters,
                missed_updates: s.missed_updates,
            },
            processes: m
                .processes
                .iter()
                .map(|p| JsonProcess::from(&**p))
                .collect(),
            alerts: model.alerts.iter().map(JsonAlert::from).collect(),
            resolved: model.resolved.iter().map(JsonAlert::from).collect(),
        }
    }
}
