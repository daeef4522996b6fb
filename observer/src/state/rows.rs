//! The order of rows in the list views, computed once per sample (or per sort, filter or
//! collapse change) as indices into the moment, so drawing only touches the visible rows.

use crate::source::fleet::ids;
use crate::source::fleet::status::FleetView;
use crate::vocab::{Column, SortKey};
use beamline_wire::{Pid, ProcessSample, ProcessTable};
use std::collections::HashSet;

/// One row of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeRow {
    /// Index into [`ProcessTable::processes`].
    pub idx: u32,
    /// Nesting depth, 0 for roots.
    pub depth: u16,
    /// Direct children.
    pub children: u32,
    /// Whether its children are hidden.
    pub collapsed: bool,
}

/// The rows of the current list view.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Rows {
    /// Not a list view, or nothing received yet.
    #[default]
    None,
    /// Tree rows in display order.
    Tree(Vec<TreeRow>),
    /// Indices into the moment in display order.
    Table(Vec<u32>),
}

/// Whether `p` matches a lower-cased filter: by name, pid, behaviour or registered key; a
/// filter starting `key:` matches registered keys only, one starting `type:` the name of the
/// message type it handled most of over the last interval.
pub fn matches(p: &ProcessSample, filter: &str) -> bool {
    if let Some(key) = filter.strip_prefix("key:") {
        return has_key(p, key.trim());
    }
    if let Some(ty) = filter.strip_prefix("type:") {
        return crate::type_names::hot_type(p)
            .is_some_and(|n| n.to_lowercase().contains(ty.trim()));
    }
    filter.is_empty()
        || p.name
            .as_deref()
            .is_some_and(|n| n.to_lowercase().contains(filter))
        || p.id.to_string().contains(filter)
        || p.behaviour.to_lowercase().contains(filter)
        || has_key(p, filter)
}

/// [`matches()`] for many processes, also knowing the nodes of a fleet: `node:NAME` keeps the
/// processes (and rows) of the nodes whose name contains NAME.
pub fn matcher<'a>(
    filter: &'a str,
    fleet: Option<&FleetView>,
) -> impl Fn(&ProcessSample) -> bool + 'a {
    let nodes = filter
        .strip_prefix("node:")
        .map(|name| fleet.map(|f| f.matching(name.trim())).unwrap_or_default());
    move |p| match &nodes {
        Some(on) => ids::node_of(p.id).is_some_and(|k| on.get(k).copied().unwrap_or(false)),
        None => matches(p, filter),
    }
}

/// Whether one of `p`'s shown registered keys contains `needle` (lower case).
fn has_key(p: &ProcessSample, needle: &str) -> bool {
    p.keys
        .as_ref()
        .is_some_and(|k| k.shown.iter().any(|s| s.to_lowercase().contains(needle)))
}

/// Processes that have children in `m` (what "collapse all" collapses).
pub fn parents(m: &ProcessTable) -> HashSet<Pid> {
    m.processes
        .iter()
        .filter_map(|p| p.parent.filter(|pp| *pp != p.id))
        .filter(|pp| m.index_of(*pp).is_some())
        .collect()
}

impl Rows {
    /// How many rows.
    pub fn len(&self) -> usize {
        match self {
            Rows::None => 0,
            Rows::Tree(r) => r.len(),
            Rows::Table(r) => r.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index into the moment of row `i`.
    pub fn idx(&self, i: usize) -> Option<usize> {
        match self {
            Rows::None => None,
            Rows::Tree(r) => r.get(i).map(|r| r.idx as usize),
            Rows::Table(r) => r.get(i).map(|i| *i as usize),
        }
    }

    /// The process on row `i`.
    pub fn pid_at(&self, m: &ProcessTable, i: usize) -> Option<Pid> {
        self.idx(i).and_then(|i| m.processes.get(i)).map(|p| p.id)
    }

    /// The row showing `pid`.
    pub fn position(&self, m: &ProcessTable, pid: Pid) -> Option<usize> {
        let want = m.index_of(pid)? as u32;
        match self {
            Rows::None => None,
            Rows::Tree(r) => r.iter().position(|r| r.idx == want),
            Rows::Table(r) => r.iter().position(|i| *i == want),
        }
    }

    /// The flat table: filtered, then sorted by `col`, biggest first if `desc` (ties by pid).
    /// A fleet's node rows belong to the tree only.
    pub fn table(
        m: &ProcessTable,
        col: Column,
        desc: bool,
        filter: &str,
        fleet: Option<&FleetView>,
    ) -> Rows {
        let ps = &m.processes;
        let keep = matcher(filter, fleet);
        // Each row's key read once, then sorted side by side (see `SortKey`).
        let mut keyed: Vec<(SortKey, Pid, u32)> = (ps.iter().zip(0u32..))
            .filter(|(p, _)| !ids::is_node_row(p.id) && keep(p))
            .map(|(p, i)| (col.sort_key(p), p.id, i))
            .collect();
        keyed.sort_unstable_by(|a, b| {
            let o = a.0.cmp(&b.0);
            let o = if desc { o.reverse() } else { o };
            o.then(a.1.cmp(&b.1))
        });
        Rows::Table(keyed.into_iter().map(|(_, _, i)| i).collect())
    }

    /// The supervision tree from `parent` edges, depth first, children in start order (`order`
    /// gives each process its place: a restarted child keeps its slot's; ties by pid).
    /// Processes whose parent is not reported (or that sit in a parent cycle) become roots. With
    /// a filter, shows matches and their ancestors, fully expanded. A fleet's processes sit
    /// under their node's row.
    pub fn tree(
        m: &ProcessTable,
        collapsed: &HashSet<Pid>,
        filter: &str,
        fleet: Option<&FleetView>,
        order: &dyn Fn(&ProcessSample) -> Pid,
    ) -> Rows {
        let ps = &m.processes;
        let n = ps.len();
        let parent: Vec<Option<usize>> = ps
            .iter()
            .map(|p| {
                p.parent
                    .filter(|pp| *pp != p.id)
                    .and_then(|pp| m.index_of(pp))
            })
            .collect();
        let (start, mut kids) = children(&parent);
        for i in 0..n {
            kids[start[i] as usize..start[i + 1] as usize]
                .sort_by_key(|k| (order(&ps[*k as usize]), ps[*k as usize].id));
        }
        let keep = (!filter.is_empty()).then(|| kept(m, &parent, &matcher(filter, fleet)));
        let shown = |i: usize| keep.as_ref().is_none_or(|k| k[i]);
        let mut rows = Vec::new();
        let mut seen = vec![false; n];
        let mut stack: Vec<(u32, u16)> = Vec::new();
        let mut walk = |root: usize, rows: &mut Vec<TreeRow>, seen: &mut Vec<bool>| {
            if seen[root] || !shown(root) {
                return;
            }
            stack.push((root as u32, 0));
            while let Some((i, depth)) = stack.pop() {
                let iu = i as usize;
                if seen[iu] {
                    continue;
                }
                seen[iu] = true;
                let ch = &kids[start[iu] as usize..start[iu + 1] as usize];
                let is_collapsed =
                    keep.is_none() && !ch.is_empty() && collapsed.contains(&ps[iu].id);
                rows.push(TreeRow {
                    idx: i,
                    depth,
                    children: ch.len() as u32,
                    collapsed: is_collapsed,
                });
                if !is_collapsed {
                    for c in ch.iter().rev() {
                        if shown(*c as usize) && !seen[*c as usize] {
                            stack.push((*c, depth.saturating_add(1)));
                        }
                    }
                }
            }
        };
        for r in (0..n).filter(|i| parent[*i].is_none()) {
            walk(r, &mut rows, &mut seen);
        }
        // Nodes never reached sit in a parent cycle or under a collapsed node; only the former
        // become roots.
        for r in 0..n {
            if seen[r] || under_seen(r, &parent, &seen) {
                continue;
            }
            walk(r, &mut rows, &mut seen);
        }
        Rows::Tree(rows)
    }
}

/// Children lists in one allocation (compressed sparse rows): the children of `i` are
/// `kids[start[i]..start[i + 1]]`, by pid.
fn children(parent: &[Option<usize>]) -> (Vec<u32>, Vec<u32>) {
    let n = parent.len();
    let mut start = vec![0u32; n + 1];
    for p in parent.iter().flatten() {
        start[p + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut kids = vec![0u32; start[n] as usize];
    for (i, p) in parent.iter().enumerate() {
        if let Some(p) = p {
            kids[fill[*p] as usize] = i as u32;
            fill[*p] += 1;
        }
    }
    (start, kids)
}

/// Which rows a filter keeps: the matches and their ancestors.
fn kept(
    m: &ProcessTable,
    parent: &[Option<usize>],
    hit: &dyn Fn(&ProcessSample) -> bool,
) -> Vec<bool> {
    let n = parent.len();
    let mut keep = vec![false; n];
    for (i, p) in m.processes.iter().enumerate() {
        if !hit(p) {
            continue;
        }
        let mut at = Some(i);
        let mut steps = 0;
        while let Some(j) = at {
            if keep[j] || steps > n {
                break;
            }
            keep[j] = true;
            at = parent[j];
            steps += 1;
        }
    }
    keep
}

/// Whether some ancestor of `i` was already placed (so `i` is hidden by a collapse, not lost).
fn under_seen(i: usize, parent: &[Option<usize>], seen: &[bool]) -> bool {
    let mut at = parent[i];
    for _ in 0..parent.len() {
        match at {
            Some(j) if seen[j] => return true,
            Some(j) => at = parent[j],
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::{ProcessKind, Snapshot, SystemSample};

    /// (id, parent, name, mailbox)
    fn moment(spec: &[(u64, Option<u64>, &str, u64)]) -> ProcessTable {
        ProcessTable::from_snapshot(Snapshot {
            seq: 0,
            at_ms: 0,
            interval_ms: 1000,
            system: SystemSample::default(),
            processes: spec
                .iter()
                .map(|(id, parent, name, len)| {
                    let mut p = ProcessSample::new(Pid(*id), ProcessKind::Server, "T");
                    p.parent = parent.map(Pid);
                    p.name = (!name.is_empty()).then(|| name.to_string());
                    p.mailbox_len = *len;
                    p
                })
                .collect(),
        })
    }

    fn tree_pids(m: &ProcessTable, rows: &Rows) -> Vec<(u64, u16)> {
        match rows {
            Rows::Tree(r) => r
                .iter()
                .map(|r| (m.processes[r.idx as usize].id.0, r.depth))
                .collect(),
            _ => panic!("not a tree"),
        }
    }

    fn sample_tree() -> ProcessTable {
        moment(&[
            (1, None, "root", 0),
            (2, Some(1), "workers", 0),
            (3, Some(2), "w1", 5),
            (4, Some(2), "w2", 1),
            (5, Some(1), "cache", 9),
            (6, Some(99), "orphan", 0),
        ])
    }

    #[test]
    fn tree_is_depth_first_with_children_by_pid() {
        let m = sample_tree();
        let rows = Rows::tree(&m, &HashSet::new(), "", None, &|p| p.id);
        assert_eq!(
            tree_pids(&m, &rows),
            [(1, 0), (2, 1), (3, 2), (4, 2), (5, 1), (6, 0)]
        );
    }

    #[test]
    fn collapsing_hides_descendants_only() {
        let m = sample_tree();
        let rows = Rows::tree(&m, &HashSet::from([Pid(2)]), "", None, &|p| p.id);
        assert_eq!(tree_pids(&m, &rows), [(1, 0), (2, 1), (5, 1), (6, 0)]);
        let Rows::Tree(r) = &rows else { panic!() };
        assert!(r[1].collapsed);
        assert_eq!(r[1].children, 2);
        let all = Rows::tree(&m, &parents(&m), "", None, &|p| p.id);
        assert_eq!(tree_pids(&m, &all), [(1, 0), (6, 0)]);
    }

    #[test]
    fn filter_keeps_matches_and_their_ancestors() {
        let m = sample_tree();
        let rows = Rows::tree(&m, &HashSet::from([Pid(2)]), "w2", None, &|p| p.id);
        assert_eq!(tree_pids(&m, &rows), [(1, 0), (2, 1), (4, 2)]);
    }

    #[test]
    fn parent_cycles_do_not_loop_or_vanish() {
        let m = moment(&[
            (1, Some(2), "a", 0),
            (2, Some(1), "b", 0),
            (3, None, "c", 0),
        ]);
        let rows = Rows::tree(&m, &HashSet::new(), "", None, &|p| p.id);
        let mut got: Vec<u64> = tree_pids(&m, &rows).iter().map(|r| r.0).collect();
        got.sort();
        assert_eq!(got, [1, 2, 3]);
    }

    #[test]
    fn table_sorts_by_any_column_and_reverses() {
        let m = sample_tree();
        let ids =
            |r: &Rows| -> Vec<u64> { (0..r.len()).map(|i| r.pid_at(&m, i).unwrap().0).collect() };
        assert_eq!(
            ids(&Rows::table(&m, Column::Mailbox, true, "", None)),
            [5, 3, 4, 1, 2, 6]
        );
        assert_eq!(
            ids(&Rows::table(&m, Column::Mailbox, false, "", None)),
            [1, 2, 6, 4, 3, 5]
        );
        assert_eq!(
            ids(&Rows::table(&m, Column::Name, false, "", None)),
            [5, 6, 1, 3, 4, 2]
        );
        assert_eq!(
            ids(&Rows::table(&m, Column::Pid, false, "w", None)),
            [2, 3, 4]
        );
        let r = Rows::table(&m, Column::Pid, false, "", None);
        assert_eq!(r.position(&m, Pid(4)), Some(3));
    }
}
