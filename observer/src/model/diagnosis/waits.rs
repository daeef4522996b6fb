//! The wait-for graph: who is blocked in a call to whom, and the cycles in it.

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
        let in_cycle = cycles.iter().flatten().copied().collect();
        Waits {
            callers,
            cycles,
            in_cycle,
        }
    }

    /// The callers blocked on `pid`.
    pub fn callers_of(&self, pid: Pid) -> &[(Pid, u64)] {
        self.callers.get(&pid).map_or(&[][..], |v| v.as_slice())
    }
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
