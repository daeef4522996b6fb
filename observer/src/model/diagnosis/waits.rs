//! The wait-for graph: who is blocked on whom (in a call, awaiting a task, waiting for a stop),
//! the cycles in it, and where each chain of waits ends: the process that holds everyone on it
//! up.

use beamline_wire::{Pid, ProcessTable, Status};
use std::collections::{HashMap, HashSet};

/// Calls in progress at one sample.
#[derive(Debug, Default)]
pub struct Waits {
    /// Callers blocked on each process, with how long each has waited (ms).
    pub callers: HashMap<Pid, Vec<(Pid, u64)>>,
    /// Cycles of processes blocked on each other (see [`wait_cycles`]).
    pub cycles: Vec<Vec<Pid>>,
    /// Every process in some cycle.
    pub in_cycle: HashSet<Pid>,
    /// For each waiting process outside a cycle, the end of its chain of waits: the first
    /// process along it that waits on nobody (or is not reported).
    pub end: HashMap<Pid, Pid>,
    /// Everyone whose chain ends at a process, directly or through others, with how long each
    /// has waited (ms), longest first.
    pub upstream: HashMap<Pid, Vec<(Pid, u64)>>,
}

impl Waits {
    /// The graph of `m`.
    pub fn of(m: &ProcessTable) -> Waits {
        let mut edges: HashMap<Pid, Pid> = HashMap::new();
        let mut callers: HashMap<Pid, Vec<(Pid, u64)>> = HashMap::new();
        for p in &m.processes {
            if let Status::Waiting { on, since_ms } = p.status {
                edges.insert(p.id, on);
                callers
                    .entry(on)
                    .or_default()
                    .push((p.id, m.at_ms.saturating_sub(since_ms)));
            }
        }
        let cycles = wait_cycles(&edges);
        let in_cycle: HashSet<Pid> = cycles.iter().flatten().copied().collect();
        let end = chain_ends(&edges, &in_cycle);
        let mut upstream: HashMap<Pid, Vec<(Pid, u64)>> = HashMap::new();
        for waiters in callers.values() {
            for (p, waited) in waiters {
                if let Some(e) = end.get(p) {
                    upstream.entry(*e).or_default().push((*p, *waited));
                }
            }
        }
        for v in upstream.values_mut() {
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        Waits {
            callers,
            cycles,
            in_cycle,
            end,
            upstream,
        }
    }

    /// Everyone held up by `pid`, directly or along a chain, longest wait first.
    pub fn upstream_of(&self, pid: Pid) -> &[(Pid, u64)] {
        self.upstream.get(&pid).map_or(&[][..], |v| v.as_slice())
    }

    /// The callers blocked on `pid`.
    pub fn callers_of(&self, pid: Pid) -> &[(Pid, u64)] {
        self.callers.get(&pid).map_or(&[][..], |v| v.as_slice())
    }
}

/// The end of each chain of waits that does not run into a cycle. Each process waits on at most
/// one other, so following its edges either stops or loops; ends found are remembered, so the
/// whole graph costs one walk per edge.
fn chain_ends(edges: &HashMap<Pid, Pid>, in_cycle: &HashSet<Pid>) -> HashMap<Pid, Pid> {
    let mut end: HashMap<Pid, Pid> = HashMap::new();
    for start in edges.keys() {
        if end.contains_key(start) || in_cycle.contains(start) {
            continue;
        }
        let mut path = vec![*start];
        let mut at = edges[start];
        let last = loop {
            if let Some(e) = end.get(&at) {
                break Some(*e);
            }
            if in_cycle.contains(&at) || path.contains(&at) {
                break None;
            }
            match edges.get(&at) {
                Some(next) => {
                    path.push(at);
                    at = *next;
                }
                None => break Some(at),
            }
        };
        if let Some(e) = last {
            for p in path {
                end.insert(p, e);
            }
        }
    }
    end
}

/// Cycles in a wait-for graph where each process waits on at most one other. Each cycle is
/// rotated to start at its lowest pid, and cycles are ordered by that pid.
pub fn wait_cycles(edges: &HashMap<Pid, Pid>) -> Vec<Vec<Pid>> {
    let mut state: HashMap<Pid, u8> = HashMap::new(); // 1 on the current path, 2 finished
    let mut cycles = Vec::new();
    let mut starts: Vec<Pid> = edges.keys().copied().collect();
    starts.sort();
    for start in starts {
        if state.contains_key(&start) {
            continue;
        }
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(p) = at {
            match state.get(&p) {
                Some(1) => {
                    let i = path.iter().position(|q| *q == p).unwrap_or(0);
                    let mut cyc = path[i..].to_vec();
                    let min = cyc
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, q)| **q)
                        .map_or(0, |(i, _)| i);
                    cyc.rotate_left(min);
                    cycles.push(cyc);
                    break;
                }
                Some(_) => break,
                None => {
                    state.insert(p, 1);
                    path.push(p);
                    at = edges.get(&p).copied();
                }
            }
        }
        for p in path {
            state.insert(p, 2);
        }
    }
    cycles.sort();
    cycles
}
