//! Pids across nodes: one observer shows several runtimes in one table, and their pids collide
//! (every runtime counts from 1). The fleet puts the node's number (from 1) in the top byte and
//! the node's incarnation number (from 1, one per runtime start seen) in the next, so no two
//! nodes and no two runs of one node ever share a pid. A pid with incarnation 0 and local part 0
//! is the node's own row in the tree. `Pid`'s display shows these as `<node.local.incarnation>`.

use beamline_wire::{Pid, ProcessSample, Status};

/// The bits a runtime uses for its own pids.
const LOCAL: u64 = (1 << 48) - 1;
/// At most this many nodes (the top byte, 0 meaning "not from a fleet").
pub const MAX_NODES: usize = 255;

/// The pid of node `k`'s run `generation` for the runtime's own `local` pid.
pub fn global(k: usize, generation: u8, local: Pid) -> Pid {
    Pid(((k as u64 + 1) << 56) | (u64::from(generation) << 48) | (local.0 & LOCAL))
}

/// The node a pid belongs to (index into the fleet's nodes), `None` for a plain pid.
pub fn node_of(pid: Pid) -> Option<usize> {
    match pid.0 >> 56 {
        0 => None,
        k => Some(k as usize - 1),
    }
}

/// Which run of its node a pid belongs to.
pub fn generation(pid: Pid) -> u8 {
    ((pid.0 >> 48) & 0xff) as u8
}

/// The pid as its runtime knows it.
pub fn local(pid: Pid) -> Pid {
    Pid(pid.0 & LOCAL)
}

/// The tree row standing for node `k` itself.
pub fn node_row(k: usize) -> Pid {
    global(k, 0, Pid(0))
}

/// Whether `pid` is a node's own row rather than a process.
pub fn is_node_row(pid: Pid) -> bool {
    node_of(pid).is_some() && pid.0 & ((1 << 56) - 1) == 0
}

/// The next incarnation number after `g` (1 to 255, then round again; 0 is the node row's).
pub fn next_generation(g: u8) -> u8 {
    if g == u8::MAX { 1 } else { g + 1 }
}

/// Rewrite every pid `p` names into node `k`'s run `generation`, and its runtime timestamps
/// into the fleet's clock (`offset_ms` added); a root gets the node's row as its parent.
pub fn translate(p: &mut ProcessSample, k: usize, generation: u8, offset_ms: i64) {
    let g = |pid: Pid| global(k, generation, pid);
    let shift = |ms: u64| (ms as i64).saturating_add(offset_ms).max(0) as u64;
    p.id = g(p.id);
    p.parent = Some(p.parent.map_or(node_row(k), g));
    p.links.iter_mut().for_each(|l| *l = g(*l));
    p.monitors.iter_mut().for_each(|m| *m = g(*m));
    p.spawned_ms = shift(p.spawned_ms);
    match &mut p.status {
        Status::Waiting { on, since_ms } => {
            *on = g(*on);
            *since_ms = shift(*since_ms);
        }
        Status::Handling { since_ms, .. } => *since_ms = shift(*since_ms),
        _ => {}
    }
}
