//! The small types every layer names: which screen, which column, the filter being typed and the
//! question awaiting a yes. A leaf: it imports nothing of the observer but the leaf
//! [`crate::type_names`], so input, state and views can all use it without importing each other.

use crate::type_names;
use beamline_wire::{ControlRequest, Pid, ProcessSample};
use std::cmp::Ordering;

/// The seven screens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViewId {
    /// Supervision tree.
    Tree,
    /// Flat sortable table.
    Processes,
    /// One process in depth.
    Detail,
    /// The runtime as a whole.
    System,
    /// Diagnosis findings.
    Alerts,
    /// What happened: exits, restarts, escalations, drops, the observer's own kills.
    Events,
    /// Where memory goes: state, mailboxes, processes; the biggest processes.
    Memory,
}

impl ViewId {
    /// All views in tab order.
    pub const ALL: [ViewId; 7] = [
        ViewId::Tree,
        ViewId::Processes,
        ViewId::Detail,
        ViewId::System,
        ViewId::Alerts,
        ViewId::Events,
        ViewId::Memory,
    ];

    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            ViewId::Tree => "Tree",
            ViewId::Processes => "Processes",
            ViewId::Detail => "Detail",
            ViewId::System => "System",
            ViewId::Alerts => "Alerts",
            ViewId::Events => "Events",
            ViewId::Memory => "Memory",
        }
    }

    /// Position in tab order.
    pub fn index(self) -> usize {
        ViewId::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    /// Whether the view is a list of processes (rows, a cursor that follows a pid).
    pub fn lists_processes(self) -> bool {
        matches!(self, ViewId::Tree | ViewId::Processes)
    }

    /// Whether `/` filters this view's rows in place.
    pub fn filters(self) -> bool {
        matches!(self, ViewId::Tree | ViewId::Processes | ViewId::Events)
    }
}

/// A column of the process lists; the Processes view sorts by any of them. The tree shows some
/// of them under the same titles, so a figure has one name on every screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// Process id.
    Pid,
    /// Registered name.
    Name,
    /// What it is doing.
    Status,
    /// Messages waiting.
    Mailbox,
    /// Deepest mailbox in the interval.
    Peak,
    /// Arrivals per second.
    In,
    /// Sends per second.
    Out,
    /// Busy fraction.
    Busy,
    /// State size.
    State,
    /// Restarts.
    Restarts,
    /// The node a process runs on: shown first when watching several nodes, ordered as the
    /// nodes were given.
    Node,
    /// The message type it handled most of over the last interval (issue 19): shown on wide
    /// screens only, ordered by name.
    Type,
}

impl Column {
    /// Columns in display order.
    pub const ALL: [Column; 10] = [
        Column::Pid,
        Column::Name,
        Column::Status,
        Column::Mailbox,
        Column::Peak,
        Column::In,
        Column::Out,
        Column::Busy,
        Column::State,
        Column::Restarts,
    ];

    /// Header text in full; the sort key is one of its letters, underlined on screen.
    pub fn title(self) -> &'static str {
        match self {
            Column::Pid => "PID",
            Column::Name => "NAME",
            Column::Status => "STATUS",
            Column::Mailbox => "MAILBOX",
            Column::Peak => "PEAK",
            Column::In => "IN/S",
            Column::Out => "OUT/S",
            Column::Busy => "BUSY",
            Column::State => "STATE",
            Column::Restarts => "RESTARTS",
            Column::Node => "NODE",
            Column::Type => "TYPE",
        }
    }

    /// Header text when the full word does not fit (every screen abbreviates the same way).
    pub fn short_title(self) -> &'static str {
        match self {
            Column::Mailbox => "MBOX",
            Column::Restarts => "RST",
            c => c.title(),
        }
    }

    /// The key that sorts by this column (pressing it again reverses).
    pub fn key(self) -> char {
        match self {
            Column::Pid => 'p',
            Column::Name => 'n',
            Column::Status => 'u',
            Column::Mailbox => 'm',
            Column::Peak => 'e',
            Column::In => 'i',
            Column::Out => 'o',
            Column::Busy => 'b',
            Column::State => 't',
            Column::Restarts => 's',
            Column::Node => 'd',
            Column::Type => 'y',
        }
    }

    /// The column sorted by `c`, if any.
    pub fn from_key(c: char) -> Option<Column> {
        (Column::ALL.into_iter())
            .chain([Column::Node, Column::Type])
            .find(|col| col.key() == c)
    }

    /// Identities (text, left-aligned) ascend by default; quantities (figures, right-aligned)
    /// descend so the biggest is on top.
    pub fn is_quantity(self) -> bool {
        !matches!(
            self,
            Column::Pid | Column::Name | Column::Status | Column::Node | Column::Type
        )
    }

    /// Order two processes by this column, ascending.
    pub fn cmp(self, a: &ProcessSample, b: &ProcessSample) -> Ordering {
        let f = |x: f64, y: f64| x.total_cmp(&y);
        match self {
            Column::Pid => a.id.cmp(&b.id),
            Column::Name => (a.name.is_none(), &a.name).cmp(&(b.name.is_none(), &b.name)),
            Column::Status => a.status.as_str().cmp(b.status.as_str()),
            Column::Mailbox => a.mailbox_len.cmp(&b.mailbox_len),
            Column::Peak => a.mailbox_peak.cmp(&b.mailbox_peak),
            Column::In => f(a.in_per_s, b.in_per_s),
            Column::Out => f(a.out_per_s, b.out_per_s),
            Column::Busy => f(a.busy, b.busy),
            Column::State => a.state_bytes.cmp(&b.state_bytes),
            Column::Restarts => a.restarts.cmp(&b.restarts),
            // A fleet's pids carry their node's number in the top byte (`source::fleet::ids`).
            Column::Node => (a.id.0 >> 56).cmp(&(b.id.0 >> 56)),
            // Named types first, by name; then the processes that handled nothing.
            Column::Type => {
                let k = |p| {
                    let name = type_names::hot_type(p);
                    (name.is_none(), name)
                };
                k(a).cmp(&k(b))
            }
        }
    }
}

/// A process's value in one column, ordered as [`Column::cmp`] orders processes: computed once
/// per row so that sorting 200,000 rows compares values side by side instead of reaching into
/// every process at every comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey<'a> {
    /// A count, or a float's bits made to order like the float.
    Number(u64),
    /// Text; `true` first means "no text" (unnamed processes after the named).
    Text(bool, &'a str),
}

/// `x`'s bits, flipped so that unsigned order is `f64::total_cmp`'s order.
fn ordered_bits(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

impl Column {
    /// `p`'s [`SortKey`] in this column.
    pub fn sort_key(self, p: &ProcessSample) -> SortKey<'_> {
        let n = SortKey::Number;
        match self {
            Column::Pid => n(p.id.0),
            Column::Name => SortKey::Text(p.name.is_none(), p.name.as_deref().unwrap_or("")),
            Column::Status => SortKey::Text(false, p.status.as_str()),
            Column::Mailbox => n(p.mailbox_len),
            Column::Peak => n(p.mailbox_peak),
            Column::In => n(ordered_bits(p.in_per_s)),
            Column::Out => n(ordered_bits(p.out_per_s)),
            Column::Busy => n(ordered_bits(p.busy)),
            Column::State => n(p.state_bytes),
            Column::Restarts => n(u64::from(p.restarts)),
            Column::Node => n(p.id.0 >> 56),
            Column::Type => {
                let name = type_names::hot_type(p);
                SortKey::Text(name.is_none(), name.unwrap_or(""))
            }
        }
    }
}

/// Bytes in binary units, `512B`, `1.5K`, `12M`: how every screen and every alert text writes a
/// size, so the growth alert reads like the STATE column.
pub fn bytes(v: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut x = v as f64;
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v}B")
    } else if x < 10.0 {
        format!("{x:.1}{}", UNITS[u])
    } else {
        format!("{x:.0}{}", UNITS[u])
    }
}

/// The `/` filter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// Text matched against name, pid and behaviour, case-insensitively.
    pub text: String,
    /// Whether keys go to the filter line.
    pub editing: bool,
}

/// An action waiting for the user's yes.
#[derive(Clone, Debug, PartialEq)]
pub enum Confirm {
    /// Kill this process.
    Kill(Pid, String),
    /// Restart this process through its supervisor.
    Restart(Pid, String),
}

impl Confirm {
    /// What to ask the runtime once the user says yes.
    pub fn request(&self) -> ControlRequest {
        match self {
            Confirm::Kill(pid, _) => ControlRequest::Kill {
                pid: *pid,
                reason: "kill".into(),
            },
            Confirm::Restart(pid, _) => ControlRequest::Restart { pid: *pid },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn sort_keys_order_as_the_columns_compare() {
        let snap = crate::fixture::large(3, 300);
        let mut ps = snap.processes;
        ps[0].in_per_s = -1.5;
        ps[1].busy = f64::NAN;
        let deposit = crate::type_names::intern("Cmd::Deposit");
        let balance = crate::type_names::intern("Cmd::Balance");
        for (i, p) in ps.iter_mut().enumerate() {
            p.hot_type = [deposit, balance, None][i % 3];
        }
        for c in Column::ALL.into_iter().chain([Column::Node, Column::Type]) {
            for a in &ps {
                for b in ps.iter().step_by(7) {
                    assert_eq!(c.sort_key(a).cmp(&c.sort_key(b)), c.cmp(a, b), "{c:?}");
                }
            }
        }
    }

    #[test]
    fn sort_keys_are_unique_and_round_trip() {
        let keys: HashSet<char> = Column::ALL.iter().map(|c| c.key()).collect();
        assert_eq!(keys.len(), Column::ALL.len());
        for c in Column::ALL {
            assert_eq!(Column::from_key(c.key()), Some(c));
        }
    }
}
