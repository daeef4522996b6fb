//! The receiving side's model of a runtime: a snapshot with deltas applied in order.

use crate::{Delta, Pid, ProcessSample, Snapshot, SystemSample};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why a delta could not be applied; the receiver needs a fresh snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// A delta arrived before any snapshot.
    #[error("delta {0} arrived before any snapshot")]
    NoSnapshot(u64),
    /// A delta was skipped: the receiver is at `have`, the delta is `got`.
    #[error("delta {got} does not follow sample {have}")]
    Gap {
        /// The last sample applied.
        have: u64,
        /// The delta that arrived.
        got: u64,
    },
}

/// All processes as of the last applied sample, ordered by pid.
///
/// This is the one receiver model: tests and tools keep one and apply messages in place, and the
/// observer keeps a short history of them (for pause and scrub-back) by building each sample's
/// table as the [`ProcessTable::successor`] of the last. A sample sits behind an `Arc`, so a
/// table shares every unchanged process with the one before it, and a clone costs a pointer per
/// process.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessTable {
    /// Last applied sample number (`None` before the first snapshot).
    pub seq: Option<u64>,
    /// Milliseconds since runtime start of the last sample.
    pub at_ms: u64,
    /// Sampling interval of the last sample.
    pub interval_ms: u64,
    /// Runtime-wide figures of the last sample.
    pub system: SystemSample,
    /// Every process, sorted by pid (each once), so lookups are a binary search and a row of a
    /// view can be an index.
    pub processes: Vec<Arc<ProcessSample>>,
}

impl ProcessTable {
    /// The table a full snapshot describes, taking its samples without copying them. Should a
    /// pid appear twice, its first sample counts.
    pub fn from_snapshot(snap: Snapshot) -> Self {
        let mut processes: Vec<Arc<ProcessSample>> =
            snap.processes.into_iter().map(Arc::new).collect();
        processes.sort_by_key(|p| p.id);
        processes.dedup_by_key(|p| p.id);
        ProcessTable {
            seq: Some(snap.seq),
            at_ms: snap.at_ms,
            interval_ms: snap.interval_ms,
            system: snap.system,
            processes,
        }
    }

    /// The table after `delta`, sharing every process the delta leaves alone with `self`; the
    /// delta's samples are moved in, not copied. On error the receiver needs a fresh snapshot.
    pub fn successor(&self, delta: Delta) -> Result<ProcessTable, ApplyError> {
        match self.seq {
            None => return Err(ApplyError::NoSnapshot(delta.seq)),
            Some(have) if delta.seq != have + 1 => {
                return Err(ApplyError::Gap {
                    have,
                    got: delta.seq,
                });
            }
            Some(_) => {}
        }
        let mut changed: Vec<Arc<ProcessSample>> =
            delta.changed.into_iter().map(Arc::new).collect();
        changed.sort_by_key(|p| p.id);
        changed.dedup_by_key(|p| p.id);
        let mut removed = delta.removed;
        removed.sort_unstable();
        let mut out = Vec::with_capacity(self.processes.len() + changed.len());
        let mut new = changed.into_iter().peekable();
        for old in &self.processes {
            while let Some(n) = new.next_if(|n| n.id < old.id) {
                out.push(n);
            }
            if let Some(n) = new.next_if(|n| n.id == old.id) {
                out.push(n);
            } else if removed.binary_search(&old.id).is_err() {
                out.push(old.clone());
            }
        }
        out.extend(new);
        Ok(ProcessTable {
            seq: Some(delta.seq),
            at_ms: delta.at_ms,
            interval_ms: delta.interval_ms,
            system: delta.system,
            processes: out,
        })
    }

    /// Replace everything with a full snapshot the caller keeps (its samples are copied).
    pub fn apply_snapshot(&mut self, snap: &Snapshot) {
        *self = ProcessTable::from_snapshot(snap.clone());
    }

    /// Apply the next delta, which the caller keeps (its changed samples are copied; a receiver
    /// that owns the delta calls [`ProcessTable::successor`]). On error nothing changes and the
    /// caller should resynchronise.
    pub fn apply_delta(&mut self, delta: &Delta) -> Result<(), ApplyError> {
        *self = self.successor(delta.clone())?;
        Ok(())
    }

    /// Where `pid` sits in [`ProcessTable::processes`].
    pub fn index_of(&self, pid: Pid) -> Option<usize> {
        self.processes.binary_search_by_key(&pid, |p| p.id).ok()
    }

    /// The process `pid`, if present.
    pub fn get(&self, pid: Pid) -> Option<&ProcessSample> {
        self.index_of(pid).map(|i| &*self.processes[i])
    }

    /// The table as a snapshot (for recordings and equality checks).
    pub fn to_snapshot(&self) -> Snapshot {
        Snapshot {
            seq: self.seq.unwrap_or(0),
            at_ms: self.at_ms,
            interval_ms: self.interval_ms,
            system: self.system.clone(),
            processes: self.processes.iter().map(|p| (**p).clone()).collect(),
        }
    }
}

/// Compute the delta that turns `old` into `new` (used by producers and by property tests).
pub fn diff(old: &Snapshot, new: &Snapshot) -> Delta {
    let before: BTreeMap<Pid, &ProcessSample> = old.processes.iter().map(|p| (p.id, p)).collect();
    let after: BTreeMap<Pid, &ProcessSample> = new.processes.iter().map(|p| (p.id, p)).collect();
    Delta {
        seq: new.seq,
        at_ms: new.at_ms,
        interval_ms: new.interval_ms,
        system: new.system.clone(),
        changed: new
            .processes
            .iter()
            .filter(|p| before.get(&p.id) != Some(p))
            .cloned()
            .collect(),
        removed: before
            .keys()
            .filter(|id| !after.contains_key(id))
            .copied()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ProcessKind, Status};
    use proptest::prelude::*;

    fn sample(id: u64, len: u64, name: Option<&str>) -> ProcessSample {
        let mut p = ProcessSample::new(Pid(id), ProcessKind::Server, "T");
        p.mailbox_len = len;
        p.name = name.map(String::from);
        if len.is_multiple_of(3) {
            p.status = Status::Waiting {
                on: Pid(id + 1),
                since_ms: len,
            };
        }
        p
    }

    fn snapshot(seq: u64, procs: &BTreeMap<u64, (u64, Option<String>)>) -> Snapshot {
        Snapshot {
            seq,
            at_ms: seq * 1000,
            interval_ms: 1000,
            system: SystemSample {
                processes: procs.len() as u64,
                ..Default::default()
            },
            processes: procs
                .iter()
                .map(|(id, (len, name))| sample(*id, *len, name.as_deref()))
                .collect(),
        }
    }

    fn states() -> impl Strategy<Value = Vec<BTreeMap<u64, (u64, Option<String>)>>> {
        prop::collection::vec(
            prop::collection::btree_map(0u64..40, (0u64..5, prop::option::of("[a-c]{1,2}")), 0..30),
            1..8,
        )
    }

    proptest! {
        /// Applying each delta in turn reproduces every full snapshot exactly.
        #[test]
        fn deltas_reproduce_snapshots(states in states()) {
            let snaps: Vec<Snapshot> = states.iter().enumerate().map(|(i, s)| snapshot(i as u64, s)).collect();
            let mut table = ProcessTable::default();
            table.apply_snapshot(&snaps[0]);
            for pair in snaps.windows(2) {
                table.apply_delta(&diff(&pair[0], &pair[1])).unwrap();
                prop_assert_eq!(&table.to_snapshot(), &pair[1]);
            }
        }
    }

    #[test]
    fn a_successor_shares_unchanged_processes_and_owns_the_changed() {
        let procs = |spec: &[(u64, u64)]| -> BTreeMap<u64, (u64, Option<String>)> {
            spec.iter().map(|(id, len)| (*id, (*len, None))).collect()
        };
        let a = snapshot(0, &procs(&[(1, 0), (3, 0), (5, 0), (7, 0)]));
        let b = snapshot(1, &procs(&[(0, 9), (3, 4), (5, 0), (6, 1), (9, 2)]));
        let ta = ProcessTable::from_snapshot(a.clone());
        let tb = ta.successor(diff(&a, &b)).unwrap();
        assert_eq!(tb.to_snapshot(), b);
        let five = |t: &ProcessTable| t.processes[t.index_of(Pid(5)).unwrap()].clone();
        assert!(Arc::ptr_eq(&five(&ta), &five(&tb)), "unchanged: shared");
        assert_eq!(tb.get(Pid(3)).map(|p| p.mailbox_len), Some(4));
        assert_eq!(
            ta.get(Pid(3)).map(|p| p.mailbox_len),
            Some(0),
            "self unchanged"
        );
        assert!(ta.successor(diff(&b, &snapshot(3, &procs(&[])))).is_err());
    }

    #[test]
    fn gaps_and_missing_snapshots_are_refused_without_change() {
        let empty = BTreeMap::new();
        let s0 = snapshot(0, &empty);
        let s2 = snapshot(2, &empty);
        let mut table = ProcessTable::default();
        assert_eq!(
            table.apply_delta(&diff(&s0, &s2)),
            Err(ApplyError::NoSnapshot(2))
        );
        table.apply_snapshot(&s0);
        let before = table.clone();
        assert_eq!(
            table.apply_delta(&diff(&s0, &s2)),
            Err(ApplyError::Gap { have: 0, got: 2 })
        );
        assert_eq!(table, before);
    }
}
