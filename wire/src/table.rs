//! The receiving side's model of a runtime: a snapshot with deltas applied in order.

use crate::{Delta, Pid, ProcessSample, Snapshot, SystemSample};
use std::collections::BTreeMap;

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
    /// Processes by id.
    pub processes: BTreeMap<Pid, ProcessSample>,
}

impl ProcessTable {
    /// Replace everything with a full snapshot.
    pub fn apply_snapshot(&mut self, snap: &Snapshot) {
        self.seq = Some(snap.seq);
        self.at_ms = snap.at_ms;
        self.interval_ms = snap.interval_ms;
        self.system = snap.system.clone();
        self.processes = snap.processes.iter().map(|p| (p.id, p.clone())).collect();
    }

    /// Apply the next delta. On error nothing changes and the caller should resynchronise.
    pub fn apply_delta(&mut self, delta: &Delta) -> Result<(), ApplyError> {
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
        self.seq = Some(delta.seq);
        self.at_ms = delta.at_ms;
        self.interval_ms = delta.interval_ms;
        self.system = delta.system.clone();
        for p in &delta.changed {
            self.processes.insert(p.id, p.clone());
        }
        for id in &delta.removed {
            self.processes.remove(id);
        }
        Ok(())
    }

    /// The table as a snapshot (for recordings and equality checks).
    pub fn to_snapshot(&self) -> Snapshot {
        Snapshot {
            seq: self.seq.unwrap_or(0),
            at_ms: self.at_ms,
            interval_ms: self.interval_ms,
            system: self.system.clone(),
            processes: self.processes.values().cloned().collect(),
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
