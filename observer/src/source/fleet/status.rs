//! What the observer shows about each node of a fleet: its name, address, link, run and latest
//! runtime-wide figures. The fleet hands a fresh copy to the model with every merged sample
//! ([`crate::source::SourceEvent::Nodes`]); views, JSON and filters read names from it.

use super::ids;
use beamline_wire::{Pid, SystemSample};

/// Every node, in the order given on the command line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetView {
    /// The nodes; a pid's node is `nodes[ids::node_of(pid)]`.
    pub nodes: Vec<NodeView>,
}

/// One node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeView {
    /// What the observer calls it (`name=` in `--nodes`, else the runtime's node name, else the
    /// address).
    pub name: String,
    /// Its endpoint.
    pub addr: String,
    /// Its link.
    pub link: Link,
    /// The runtime's incarnation, once it said.
    pub incarnation: Option<u64>,
    /// Which run of this node the observer is showing (the middle byte of its pids).
    pub generation: u8,
    /// Its latest runtime-wide figures; `None` while down.
    pub system: Option<SystemSample>,
}

/// A node's link, as its row shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// Not reached yet.
    Connecting,
    /// Samples are flowing.
    Up,
    /// Lost or refused; says why. A lost node is being retried, a refused one is not.
    Down {
        /// In plain words.
        reason: String,
        /// The node refused us (a wrong token, another protocol): no retrying.
        refused: bool,
    },
}

impl NodeView {
    /// Whether samples are flowing.
    pub fn is_up(&self) -> bool {
        self.link == Link::Up
    }

    /// `up`, `connecting` or `down`, for tables and JSON.
    pub fn state_word(&self) -> &'static str {
        match self.link {
            Link::Up => "up",
            Link::Connecting => "connecting",
            Link::Down { .. } => "down",
        }
    }

    /// Why it is down, if it is.
    pub fn trouble(&self) -> Option<&str> {
        match &self.link {
            Link::Down { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

impl FleetView {
    /// The node `pid` belongs to.
    pub fn node_of(&self, pid: Pid) -> Option<&NodeView> {
        ids::node_of(pid).and_then(|k| self.nodes.get(k))
    }

    /// The name of the node `pid` belongs to.
    pub fn name_of(&self, pid: Pid) -> Option<&str> {
        self.node_of(pid).map(|n| n.name.as_str())
    }

    /// How many nodes are up.
    pub fn up(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_up()).count()
    }

    /// The indices of nodes whose name contains `needle` (lower case), for the `node:` filter.
    pub fn matching(&self, needle: &str) -> Vec<bool> {
        self.nodes
            .iter()
            .map(|n| n.name.to_lowercase().contains(needle))
            .collect()
    }

    /// One line for the header: `3 nodes · 2 up · down: c`.
    pub fn summary(&self) -> String {
        let down: Vec<&str> = self
            .nodes
            .iter()
            .filter(|n| n.trouble().is_some())
            .map(|n| n.name.as_str())
            .collect();
        let mut s = format!("{} nodes · {} up", self.nodes.len(), self.up());
        if !down.is_empty() {
            s.push_str(&format!(" · down: {}", down.join(", ")));
        }
        s
    }
}
