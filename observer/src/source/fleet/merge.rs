//! Folding many nodes' streams into one: each node's snapshots and deltas are translated into
//! the fleet's pids ([`super::ids`]) and gathered; [`Merger::flush`] hands out one merged sample
//! (a snapshot first, then deltas) with a row per node and the nodes' figures summed. Pure: the
//! task in [`super`] feeds it events and the clock.

use super::ids;
use super::spec::NodeSpec;
use super::status::{FleetView, Link, NodeView};
use crate::source::event::{ConnState, SourceEvent};
use crate::type_names::{self, TypeIds};
use beamline_wire::{
    Delta, Pid, ProcessKind, ProcessSample, ServerMsg, Snapshot, Status, SystemSample, TypeNames,
    Welcome,
};
use std::collections::{HashMap, HashSet};

/// One node as the merger follows it.
#[derive(Debug)]
struct Node {
    view: NodeView,
    /// `name=` from the command line, which wins over the runtime's own name.
    given: Option<String>,
    /// Its processes now in the merged table, as fleet pids.
    present: HashSet<Pid>,
    /// Whether a snapshot of its current connection arrived.
    sampled: bool,
    /// Its connection's hot type ids in the fleet's numbering (type ids are per node).
    types: TypeIds,
}

/// The merged table's pending changes and every node's state.
#[derive(Debug)]
pub struct Merger {
    nodes: Vec<Node>,
    /// The last merged sample's number, `None` before the first (a snapshot).
    seq: Option<u64>,
    /// Changed samples in arrival order (`None`: removed since); a process changing twice in one
    /// interval keeps one place. Kept in a vector, not a map, so each ~500-byte sample is
    /// written once where it stays: a map of 200,000 of them cost a cache miss per insert.
    changed: Vec<Option<ProcessSample>>,
    /// Where each pid sits in `changed`.
    slot: HashMap<Pid, usize>,
    removed: HashSet<Pid>,
    /// Type names the fleet's stream has named so far (its own numbering: each node's ids
    /// are turned into the observer's as they arrive), and how many of them went out.
    names: Vec<String>,
    names_sent: usize,
}

impl Merger {
    /// Nothing heard yet from any of `specs`.
    pub fn new(specs: &[NodeSpec]) -> Self {
        let nodes = specs
            .iter()
            .map(|s| Node {
                view: NodeView {
                    name: s.name.clone().unwrap_or_else(|| s.addr.to_string()),
                    addr: s.addr.to_string(),
                    link: Link::Connecting,
                    incarnation: None,
                    generation: 0,
                    system: None,
                },
                given: s.name.clone(),
                present: HashSet::new(),
                sampled: false,
                types: TypeIds::default(),
            })
            .collect();
        Merger {
            nodes,
            seq: None,
            changed: Vec::new(),
            slot: HashMap::new(),
            removed: HashSet::new(),
            names: Vec::new(),
            names_sent: 0,
        }
    }

    /// Fold in node `k`'s event, received at `now_ms` on the fleet's clock. Returns whether it
    /// was a handshake (the caller then repeats the interval the user asked for).
    pub fn on_event(&mut self, k: usize, ev: SourceEvent, now_ms: u64) -> bool {
        let Some(node) = self.nodes.get(k) else {
            return false;
        };
        let generation = node.view.generation;
        match ev {
            SourceEvent::Conn(c) => {
                let link = link_of(c);
                if link != Link::Up {
                    self.drop_processes(k);
                    self.nodes[k].view.system = None;
                }
                self.nodes[k].view.link = link;
            }
            SourceEvent::Msg(ServerMsg::Welcome(w)) => {
                self.welcome(k, &w);
                return true;
            }
            SourceEvent::Msg(ServerMsg::Refused(why)) => {
                self.drop_processes(k);
                self.nodes[k].view.system = None;
                self.nodes[k].view.link = Link::Down {
                    reason: why,
                    refused: true,
                };
            }
            // Samples before a handshake cannot be placed in a run.
            SourceEvent::Msg(ServerMsg::Snapshot(_) | ServerMsg::Delta(_)) if generation == 0 => {}
            SourceEvent::Msg(ServerMsg::TypeNames(t)) => self.nodes[k].types.learn(&t),
            SourceEvent::Msg(ServerMsg::Snapshot(s)) => self.snapshot(k, s, now_ms),
            SourceEvent::Msg(ServerMsg::Delta(d)) => self.delta(k, d, now_ms),
            // A node's history and trace batches are not merged (see the README: the fleet shows
            // live samples; trace one node by attaching to it alone).
            SourceEvent::Msg(
                ServerMsg::Reply { .. } | ServerMsg::History(_) | ServerMsg::Trace(_),
            )
            | SourceEvent::Reset
            | SourceEvent::Trouble(_)
            | SourceEvent::Nodes(_) => {}
        }
        false
    }

    /// A handshake: a new incarnation starts a new run, whose pids never meet the old ones.
    /// A new connection numbers its types from 0 again.
    fn welcome(&mut self, k: usize, w: &Welcome) {
        self.nodes[k].types.clear();
        if self.nodes[k].view.incarnation != Some(w.incarnation) {
            self.drop_processes(k);
            let v = &mut self.nodes[k].view;
            v.generation = ids::next_generation(v.generation);
            v.incarnation = Some(w.incarnation);
        }
        if self.nodes[k].given.is_none() {
            let taken =
                (self.nodes.iter().enumerate()).any(|(j, n)| j != k && n.view.name == w.node);
            let v = &mut self.nodes[k].view;
            v.name = if taken {
                format!("{}@{}", w.node, v.addr)
            } else {
                w.node.clone()
            };
        }
    }

    fn snapshot(&mut self, k: usize, s: Snapshot, now_ms: u64) {
        let offset = now_ms as i64 - s.at_ms as i64;
        let generation = self.nodes[k].view.generation;
        let mut now = HashSet::with_capacity(s.processes.len());
        for mut p in s.processes {
            ids::translate(&mut p, k, generation, offset);
            self.nodes[k].types.translate(&mut p);
            now.insert(p.id);
            self.add(p);
        }
        let old = std::mem::take(&mut self.nodes[k].present);
        for pid in old.into_iter().filter(|p| !now.contains(p)) {
            self.remove(pid);
        }
        self.nodes[k].present = now;
        self.nodes[k].sampled = true;
        self.nodes[k].view.system = Some(s.system);
    }

    fn delta(&mut self, k: usize, d: Delta, now_ms: u64) {
        let offset = now_ms as i64 - d.at_ms as i64;
        let generation = self.nodes[k].view.generation;
        for pid in d.removed {
            let pid = ids::global(k, generation, pid);
            self.nodes[k].present.remove(&pid);
            self.remove(pid);
        }
        for mut p in d.changed {
            ids::translate(&mut p, k, generation, offset);
            self.nodes[k].types.translate(&mut p);
            self.nodes[k].present.insert(p.id);
            self.add(p);
        }
        self.nodes[k].view.system = Some(d.system);
    }

    fn add(&mut self, p: ProcessSample) {
        if !self.removed.is_empty() {
            self.removed.remove(&p.id);
        }
        match self.slot.get(&p.id) {
            Some(i) => self.changed[*i] = Some(p),
            None => {
                self.slot.insert(p.id, self.changed.len());
                self.changed.push(Some(p));
            }
        }
    }

    fn remove(&mut self, pid: Pid) {
        if let Some(i) = self.slot.remove(&pid) {
            self.changed[i] = None;
        }
        self.removed.insert(pid);
    }

    /// Node `k` went away: its processes leave the table (a down node is one row saying so).
    fn drop_processes(&mut self, k: usize) {
        self.nodes[k].sampled = false;
        for pid in std::mem::take(&mut self.nodes[k].present) {
            self.remove(pid);
        }
    }

    /// The type names the merged samples of the next [`Merger::flush`] may refer to that the
    /// fleet's stream has not named yet: sent before it. Samples leave the merger in the
    /// observer's numbering ([`crate::type_names`]), so the fleet names ids as they are: it
    /// lists every name up to the highest id in use.
    pub fn new_names(&mut self) -> Option<ServerMsg> {
        let top = (self.changed.iter().flatten())
            .filter_map(|p| p.hot_type)
            .max()
            .map_or(0, |id| id as usize + 1);
        while self.names.len() < top {
            let id = self.names.len() as u32;
            self.names
                .push(type_names::name(id).unwrap_or_default().to_string());
        }
        if self.names.len() <= self.names_sent {
            return None;
        }
        let first = self.names_sent as u32;
        let names = self.names[self.names_sent..].to_vec();
        self.names_sent = self.names.len();
        Some(ServerMsg::TypeNames(TypeNames { first, names }))
    }

    /// The merged sample for what arrived since the last one, stamped `now_ms`: a snapshot the
    /// first time, then deltas. Node rows are in every one.
    pub fn flush(&mut self, now_ms: u64, interval_ms: u64) -> ServerMsg {
        let rows: Vec<ProcessSample> = (self.nodes.iter().enumerate())
            .map(|(k, n)| node_row(k, &n.view))
            .collect();
        for r in rows {
            self.add(r);
        }
        // Drained, not taken: the maps keep their room for the next interval's changes.
        let changed: Vec<ProcessSample> = self.changed.drain(..).flatten().collect();
        self.slot.clear();
        let removed: Vec<Pid> = self.removed.drain().collect();
        let system = self.totals();
        match self.seq {
            None => {
                self.seq = Some(0);
                ServerMsg::Snapshot(Snapshot {
                    seq: 0,
                    at_ms: now_ms,
                    interval_ms,
                    system,
                    processes: changed,
                })
            }
            Some(s) => {
                self.seq = Some(s + 1);
                ServerMsg::Delta(Delta {
                    seq: s + 1,
                    at_ms: now_ms,
                    interval_ms,
                    system,
                    changed,
                    removed,
                })
            }
        }
    }

    /// The figures of every node that is up, added together (worker load weighted by workers,
    /// the sampler's cost the worst node's).
    pub fn totals(&self) -> SystemSample {
        let mut t = SystemSample::default();
        let mut busy_workers = 0.0;
        for s in self.nodes.iter().filter_map(|n| n.view.system.as_ref()) {
            t.processes += s.processes;
            t.spawned_total += s.spawned_total;
            t.exited_total += s.exited_total;
            t.msgs_per_s += s.msgs_per_s;
            t.dropped_total += s.dropped_total;
            t.dead_letters += s.dead_letters;
            t.workers += s.workers;
            busy_workers += s.worker_busy * s.workers as f64;
            t.global_queue_depth = t.global_queue_depth.saturating_add(s.global_queue_depth);
            t.local_queue_depth = t.local_queue_depth.saturating_add(s.local_queue_depth);
            t.alive_tasks += s.alive_tasks;
            t.sample_cost_us = t.sample_cost_us.max(s.sample_cost_us);
            t.missed_updates += s.missed_updates;
        }
        if t.workers > 0 {
            t.worker_busy = busy_workers / t.workers as f64;
        }
        t
    }

    /// Whether every node has either sent its snapshot or failed to connect: the first merged
    /// sample waits for that (up to a limit), so `--once` prints every node, not an empty fleet.
    pub fn settled(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| n.sampled || matches!(n.view.link, Link::Down { .. }))
    }

    /// Whether the first merged sample has gone out.
    pub fn started(&self) -> bool {
        self.seq.is_some()
    }

    /// What the views show about the nodes.
    pub fn view(&self) -> FleetView {
        FleetView {
            nodes: self.nodes.iter().map(|n| n.view.clone()).collect(),
        }
    }

    /// The fleet's link as one state: connected while any node is, failed when every node
    /// refused, retrying when none is up or connecting.
    pub fn conn(&self) -> ConnState {
        let views = || self.nodes.iter().map(|n| &n.view);
        if views().any(NodeView::is_up) {
            return ConnState::Connected;
        }
        let refused = |v: &NodeView| matches!(v.link, Link::Down { refused: true, .. });
        if views().all(refused) {
            let why = views()
                .filter_map(NodeView::trouble)
                .next()
                .unwrap_or("refused");
            return ConnState::Failed(why.to_string());
        }
        if views().any(|v| v.link == Link::Connecting) {
            return ConnState::Connecting;
        }
        let reason = (views().filter_map(|v| v.trouble().map(|r| format!("{}: {r}", v.name))))
            .collect::<Vec<_>>()
            .join("; ");
        ConnState::Retrying {
            reason,
            retry_in_ms: 0,
            ever_connected: views().any(|v| v.generation > 0),
        }
    }
}

/// Node `k`'s own row: the root of its processes in the tree.
fn node_row(k: usize, v: &NodeView) -> ProcessSample {
    let mut p = ProcessSample::new(ids::node_row(k), ProcessKind::Supervisor, "node");
    p.name = Some(v.name.clone());
    p.status = match &v.link {
        Link::Down { reason, .. } => Status::Exited {
            reason: format!("node down: {reason}"),
        },
        Link::Connecting => Status::Starting,
        Link::Up => Status::Idle,
    };
    if let Some(s) = &v.system {
        p.in_per_s = s.msgs_per_s;
        p.busy = s.worker_busy;
    }
    p
}

/// A node source's link state as its row shows it.
fn link_of(c: ConnState) -> Link {
    match c {
        ConnState::Connecting => Link::Connecting,
        ConnState::Connected => Link::Up,
        ConnState::Retrying { reason, .. } => Link::Down {
            reason,
            refused: false,
        },
        ConnState::Failed(reason) => Link::Down {
            reason,
            refused: true,
        },
        ConnState::Ended => Link::Down {
            reason: "ended".into(),
            refused: true,
        },
    }
}
