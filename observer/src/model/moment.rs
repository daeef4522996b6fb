//! One sample of the whole runtime, shared cheaply between the live display, the paused display
//! and the scrub-back buffer: unchanged processes are the same `Arc` in consecutive moments.

use beamline_wire::table::ApplyError;
use beamline_wire::{Delta, Pid, ProcessSample, Snapshot, SystemSample};
use std::sync::Arc;

/// The runtime at one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Moment {
    /// Sample number.
    pub seq: u64,
    /// Milliseconds since the runtime started.
    pub at_ms: u64,
    /// Sampling interval in force.
    pub interval_ms: u64,
    /// Runtime-wide figures.
    pub system: SystemSample,
    /// Every process, sorted by pid so lookups are a binary search and row handles are indices.
    pub processes: Vec<Arc<ProcessSample>>,
    /// How many of `processes` this moment allocated (not shared with the previous one).
    pub owned: usize,
}

impl Moment {
    /// A moment from a full snapshot.
    pub fn from_snapshot(s: Snapshot) -> Self {
        let mut processes: Vec<Arc<ProcessSample>> =
            s.processes.into_iter().map(Arc::new).collect();
        processes.sort_by_key(|p| p.id);
        processes.dedup_by_key(|p| p.id);
        Moment {
            seq: s.seq,
            at_ms: s.at_ms,
            interval_ms: s.interval_ms,
            system: s.system,
            owned: processes.len(),
            processes,
        }
    }

    /// The moment after `d`, sharing every unchanged process with `self`.
    pub fn apply(&self, d: &Delta) -> Result<Moment, ApplyError> {
        if d.seq != self.seq + 1 {
            return Err(ApplyError::Gap {
                have: self.seq,
                got: d.seq,
            });
        }
        let mut changed: Vec<Arc<ProcessSample>> =
            d.changed.iter().cloned().map(Arc::new).collect();
        changed.sort_by_key(|p| p.id);
        let mut removed = d.removed.clone();
        removed.sort();
        let mut out = Vec::with_capacity(self.processes.len() + changed.len());
        let mut new = changed.iter().peekable();
        for old in &self.processes {
            while let Some(n) = new.next_if(|n| n.id < old.id) {
                out.push(n.clone());
            }
            if let Some(n) = new.next_if(|n| n.id == old.id) {
                out.push(n.clone());
            } else if removed.binary_search(&old.id).is_err() {
                out.push(old.clone());
            }
        }
        out.extend(new.cloned());
        Ok(Moment {
            seq: d.seq,
            at_ms: d.at_ms,
            interval_ms: d.interval_ms,
            system: d.system.clone(),
            owned: changed.len(),
            processes: out,
        })
    }

    /// Where `pid` sits in [`Moment::processes`].
    pub fn index_of(&self, pid: Pid) -> Option<usize> {
        self.processes.binary_search_by_key(&pid, |p| p.id).ok()
    }

    /// The process `pid`, if present.
    pub fn get(&self, pid: Pid) -> Option<&ProcessSample> {
        self.index_of(pid).map(|i| &*self.processes[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::{ProcessKind, ProcessTable, table::diff};

    fn snap(seq: u64, ids: &[(u64, u64)]) -> Snapshot {
        Snapshot {
            seq,
            at_ms: seq,
            interval_ms: 1,
            system: SystemSample::default(),
            processes: ids
                .iter()
                .map(|(id, len)| {
                    let mut p = ProcessSample::new(Pid(*id), ProcessKind::Task, "T");
                    p.mailbox_len = *len;
                    p
                })
                .collect(),
        }
    }

    #[test]
    fn agrees_with_the_wire_table_and_shares_unchanged_processes() {
        let a = snap(0, &[(1, 0), (3, 0), (5, 0), (7, 0)]);
        let b = snap(1, &[(0, 9), (3, 4), (5, 0), (6, 1), (9, 2)]);
        let d = diff(&a, &b);
        let ma = Moment::from_snapshot(a.clone());
        let mb = ma.apply(&d).unwrap();
        let mut t = ProcessTable::default();
        t.apply_snapshot(&a);
        t.apply_delta(&d).unwrap();
        let want: Vec<ProcessSample> = t.processes.values().cloned().collect();
        let got: Vec<ProcessSample> = mb.processes.iter().map(|p| (**p).clone()).collect();
        assert_eq!(got, want);
        assert!(Arc::ptr_eq(
            &ma.processes[ma.index_of(Pid(5)).unwrap()],
            &mb.processes[mb.index_of(Pid(5)).unwrap()]
        ));
        assert_eq!(mb.owned, 4);
        assert!(ma.apply(&diff(&b, &snap(3, &[]))).is_err());
    }
}
