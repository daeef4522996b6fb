//! `--json`: one object per line per sample, with keys that are part of the observer's interface
//! (documented in the README; a test decodes them with unknown fields denied). These types are
//! the observer's own: wire structs are converted here, never serialised as they are, so the
//! protocol can evolve without breaking scripts.

use crate::model::Model;
use crate::model::diagnosis::Alert;
use crate::source::fleet::ids;
use crate::source::fleet::status::FleetView;
use crate::state::rows::matcher;
use crate::vocab::Column;
use beamline_wire::{ProcessSample, ProcessTable};
use serde::Serialize;
use std::cmp::Ordering;
use std::sync::Arc;

/// Which processes a line lists (`--filter`, `--top`, `--sort`), so that a script watching a
/// million processes reads, and the observer converts, only what it needs. The system figures
/// and alerts always cover every process.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    /// Only processes whose name, pid or behaviour contains this, case-insensitively.
    pub filter: Option<String>,
    /// Only the first this many, in `sort` order.
    pub top: Option<usize>,
    /// Order of the list: by this field; quantities biggest first, identities ascending. Without
    /// it: by pid, or with `top`, by mailbox length.
    pub sort: Option<Column>,
}

impl Selection {
    /// The processes of `m` to list, in order.
    /// A fleet's node rows are never listed; `node:NAME` picks the processes of matching nodes.
    pub fn pick<'a>(
        &self,
        m: &'a ProcessTable,
        fleet: Option<&FleetView>,
    ) -> Vec<&'a ProcessSample> {
        let needle = self.filter.as_deref().unwrap_or("").to_lowercase();
        let hit = matcher(&needle, fleet);
        let mut chosen: Vec<&ProcessSample> = m
            .processes
            .iter()
            .map(Arc::as_ref)
            .filter(|p| !ids::is_node_row(p.id) && hit(p))
            .collect();
        let sort = match (self.sort, self.top) {
            (Some(c), _) => c,
            (None, Some(_)) => Column::Mailbox,
            (None, None) => return chosen,
        };
        let order = |a: &&ProcessSample, b: &&ProcessSample| -> Ordering {
            let by = sort.cmp(a, b);
            let by = if sort.is_quantity() { by.reverse() } else { by };
            by.then(a.id.cmp(&b.id))
        };
        if let Some(n) = self.top
            && n < chosen.len()
        {
            // Only the first n need sorting: partition around the n-th, then sort those.
            if n > 0 {
                chosen.select_nth_unstable_by(n - 1, order);
            }
            chosen.truncate(n);
        }
        chosen.sort_unstable_by(order);
        chosen
    }
}

/// The `--sort` field names: the JSON keys of the process columns.
pub const SORT_FIELDS: [(&str, Column); 12] = [
    ("id", Column::Pid),
    ("name", Column::Name),
    ("status", Column::Status),
    ("mailbox_len", Column::Mailbox),
    ("mailbox_peak", Column::Peak),
    ("in_per_s", Column::In),
    ("out_per_s", Column::Out),
    ("busy", Column::Busy),
    ("state_bytes", Column::State),
    ("restarts", Column::Restarts),
    ("node", Column::Node),
    ("hot_type", Column::Type),
];

/// Parse a `--sort` value: one of [`SORT_FIELDS`].
pub fn parse_sort(s: &str) -> Result<Column, String> {
    SORT_FIELDS
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            let names: Vec<&str> = SORT_FIELDS.iter().map(|(n, _)| *n).collect();
            format!("{s:?} is not a process field; one of {}", names.join(", "))
        })
}

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
    /// Every process, by pid; or those `--filter`, `--top` and `--sort` select, in their order.
    pub processes: Vec<JsonProcess>,
    /// Diagnosis findings, most important first.
    pub alerts: Vec<JsonAlert>,
    /// Alerts that cleared in the last five minutes, most recently resolved first.
    pub resolved: Vec<JsonAlert>,
    /// Watching several nodes: each node, in the order given; absent for one runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<JsonNode>>,
}

/// One node of a fleet.
#[derive(Clone, Debug, Serialize)]
pub struct JsonNode {
    /// What the observer calls it (the `node` field of its processes and alerts).
    pub name: String,
    /// Its endpoint.
    pub addr: String,
    /// `up`, `connecting` or `down`.
    pub state: &'static str,
    /// Why it is down, or null.
    pub reason: Option<String>,
    /// The runtime's incarnation, once it said.
    pub incarnation: Option<u64>,
    /// Its live processes, when up.
    pub processes: Option<u64>,
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
    /// The message type it handled most of over the last interval (`Cmd::Deposit`, named as in
    /// `by_type`), or null when it handled nothing.
    pub hot_type: Option<String>,
    /// Its messages by type since it started, read from a live runtime right after the sample
    /// (absent in replays, and for processes past the first 64 listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_type: Option<Vec<JsonType>>,
    /// Its top senders over the last 5 to 10 s, sampled (one message in about 32), most first;
    /// present with `by_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub senders: Option<Vec<JsonTalker>>,
    /// Whom it sent to most over the same window, sampled likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receivers: Option<Vec<JsonTalker>>,
    /// Watching several nodes: the node it runs on (its `id` and pids are that node's own);
    /// absent for one runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// One of a process's top senders or receivers, as the runtime sampled them.
#[derive(Clone, Debug, Serialize)]
pub struct JsonTalker {
    /// The other process's id (that node's own, as `id`); `null` for senders outside any process.
    pub pid: Option<u64>,
    /// Messages noted in the window.
    pub sampled: u64,
    /// Estimated messages per second over the window.
    pub per_s: f64,
    /// Its part of all the messages noted, 0..1.
    pub share: f64,
}

impl JsonTalker {
    fn list(c: &beamline_wire::TypeCounts, talkers: &[beamline_wire::Talker]) -> Vec<Self> {
        (talkers.iter())
            .map(|t| JsonTalker {
                pid: t.pid.map(|p| ids::local(p).0),
                sampled: t.sampled,
                per_s: c.per_s(t),
                share: f64::from(t.share),
            })
            .collect()
    }
}

/// Messages of one type (for enums, one variant) handled by a process since it started.
#[derive(Clone, Debug, Serialize)]
pub struct JsonType {
    /// `Cmd::Deposit`, `Cmd#1` (variant number) or the type's name; `other` past 16 types.
    #[serde(rename = "type")]
    pub type_name: String,
    /// `call`, `cast` or `info`.
    pub kind: &'static str,
    /// Messages handled.
    pub count: u64,
    /// Mean handle time, microseconds.
    pub handle_us_mean: f64,
    /// Longest handle time, microseconds (a batch's mean: see the README).
    pub handle_us_max: f64,
    /// Time spent on them, microseconds.
    pub busy_us: f64,
}

impl JsonSample {
    /// Fill in `by_type` from a [`beamline_wire::ControlReply::MessageTypes`] answer.
    pub fn add_types(&mut self, counts: Vec<beamline_wire::TypeCounts>) {
        for c in counts {
            let Some(p) = self.processes.iter_mut().find(|p| p.id == c.pid.0) else {
                continue;
            };
            p.senders = Some(JsonTalker::list(&c, &c.senders));
            p.receivers = Some(JsonTalker::list(&c, &c.receivers));
            let types = c.types.into_iter().map(|t| JsonType {
                type_name: t.name,
                kind: t.kind.as_str(),
                count: t.count,
                handle_us_mean: t.busy_ns as f64 / t.count.max(1) as f64 / 1000.0,
                handle_us_max: t.max_ns as f64 / 1000.0,
                busy_us: t.busy_ns as f64 / 1000.0,
            });
            p.by_type = Some(types.collect());
        }
    }
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
    /// Watching several nodes: the node of its culprit (its pids are that node's own); absent
    /// for one runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
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
            hot_type: crate::type_names::hot_type(p).map(str::to_string),
            by_type: None,
            senders: None,
            receivers: None,
            node: None,
        }
    }
}

impl JsonProcess {
    /// `p` as a fleet's node knows it: its own pids, and the node's name.
    fn on_node(p: &ProcessSample, fleet: Option<&FleetView>) -> Self {
        let mut j = JsonProcess::from(p);
        if let Some(f) = fleet {
            j.node = f.name_of(p.id).map(str::to_string);
            j.id = ids::local(p.id).0;
            j.parent = p
                .parent
                .filter(|pp| !ids::is_node_row(*pp))
                .map(|pp| ids::local(pp).0);
            j.waiting_on = p.status.waiting_on().map(|pp| ids::local(pp).0);
        }
        j
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
            node: None,
        }
    }
}

impl JsonAlert {
    /// `a` naming its node, with that node's own pids.
    fn on_node(a: &Alert, fleet: Option<&FleetView>) -> Self {
        let mut j = JsonAlert::from(a);
        if let Some(f) = fleet {
            j.node = a
                .processes
                .first()
                .and_then(|p| f.name_of(*p))
                .map(str::to_string);
            j.processes = a.processes.iter().map(|p| ids::local(*p).0).collect();
        }
        j
    }
}

impl JsonSample {
    /// The line for moment `m` of `model`, listing the processes `selection` picks.
    pub fn new(model: &Model, m: &ProcessTable, source_missed: u64, selection: &Selection) -> Self {
        let s = &m.system;
        let fleet = model.fleet.as_deref();
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
            processes: selection
                .pick(m, fleet)
                .into_iter()
                .map(|p| JsonProcess::on_node(p, fleet))
                .collect(),
            alerts: model
                .alerts
                .iter()
                .map(|a| JsonAlert::on_node(a, fleet))
                .collect(),
            resolved: (model.resolved.iter())
                .map(|a| JsonAlert::on_node(a, fleet))
                .collect(),
            nodes: fleet.map(|f| {
                (f.nodes.iter())
                    .map(|n| JsonNode {
                        name: n.name.clone(),
                        addr: n.addr.clone(),
                        state: n.state_word(),
                        reason: n.trouble().map(str::to_string),
                        incarnation: n.incarnation,
                        processes: n.system.as_ref().map(|s| s.processes),
                    })
                    .collect()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    fn table() -> ProcessTable {
        ProcessTable::from_snapshot(fixture::large(3, 2000))
    }

    #[test]
    fn top_n_by_a_column_equals_a_full_sort_cut_to_n() {
        let m = table();
        for (name, col) in SORT_FIELDS {
            let all = Selection {
                sort: Some(col),
                ..Selection::default()
            }
            .pick(&m, None);
            for n in [0, 1, 10, 1999, 2000, 5000] {
                let top = Selection {
                    top: Some(n),
                    sort: Some(col),
                    ..Selection::default()
                }
                .pick(&m, None);
                let ids = |v: &[&ProcessSample]| v.iter().map(|p| p.id).collect::<Vec<_>>();
                assert_eq!(ids(&top), ids(&all[..n.min(all.len())]), "{name} top {n}");
            }
        }
        let busiest = Selection {
            top: Some(3),
            sort: Some(Column::Busy),
            ..Selection::default()
        }
        .pick(&m, None);
        assert!(busiest.windows(2).all(|w| w[0].busy >= w[1].busy));
        let biggest_mailbox = Selection {
            top: Some(1),
            ..Selection::default()
        }
        .pick(&m, None);
        let max = m.processes.iter().map(|p| p.mailbox_len).max();
        assert_eq!(biggest_mailbox.first().map(|p| p.mailbox_len), max);
    }

    #[test]
    fn filter_matches_name_pid_or_behaviour_and_combines_with_top() {
        let m = table();
        let sel = Selection {
            filter: Some("WORKER_7".into()),
            ..Selection::default()
        };
        let names: Vec<_> = sel.pick(&m, None).iter().map(|p| p.name.clone()).collect();
        assert!(!names.is_empty());
        assert!(
            names
                .iter()
                .all(|n| n.as_deref().is_some_and(|n| n.starts_with("worker_7")))
        );
        let sel = Selection {
            top: Some(2),
            ..sel
        };
        assert_eq!(sel.pick(&m, None).len(), 2);
        assert!(Selection::default().pick(&m, None).len() == m.processes.len());
    }

    #[test]
    fn sort_fields_are_the_json_keys() {
        assert_eq!(parse_sort("busy"), Ok(Column::Busy));
        let err = parse_sort("cpu").unwrap_err();
        assert!(err.contains("mailbox_len"), "{err}");
    }
}
