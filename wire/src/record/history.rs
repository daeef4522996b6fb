//! A runtime's history (its flight recorder's ticks, `ServerMsg::History`) as a recording that
//! `observer --replay` plays like any other: the first past tick becomes the recording's
//! snapshot, each later one a delta, renumbered so that they follow each other (the runtime's
//! own numbers have gaps where its history was thinned). Entries are timed by the ticks' own
//! sample times, so a replay runs at the pace the runtime lived it.
//!
//! Written by `observer --attach ADDR --dump FILE` and by the runtime's black box.

use super::RecordEntry;
use crate::{Delta, ServerMsg, Snapshot};

/// Turns the messages of a history, in order, into recording entries.
#[derive(Clone, Debug, Default)]
pub struct HistoryRecording {
    /// Sample time of the first tick: offset zero.
    first_at_ms: Option<u64>,
    /// Last sequence number written.
    seq: u64,
    /// Whether a snapshot was written (every later tick is then a delta).
    started: bool,
    /// Offset of the last entry: a message without a sample time takes it.
    last_offset_ms: u64,
}

impl HistoryRecording {
    /// A recording with nothing written yet.
    pub fn new() -> Self {
        HistoryRecording::default()
    }

    /// Ticks or snapshots written so far.
    pub fn samples(&self) -> u64 {
        self.seq
    }

    /// The entry to write for `msg`: the `Welcome`, each `History` tick, then a `Snapshot`
    /// (the live state that follows a history, if any). Other messages give `None`.
    pub fn entry(&mut self, msg: ServerMsg) -> Option<RecordEntry> {
        let msg = match msg {
            w @ ServerMsg::Welcome(_) => w,
            // The names the snapshot's hot types refer to.
            n @ ServerMsg::TypeNames(_) => n,
            ServerMsg::History(d) => self.tick(d),
            ServerMsg::Snapshot(mut s) => {
                self.seq = s.seq.max(self.seq + 1);
                s.seq = self.seq;
                self.started = true;
                ServerMsg::Snapshot(s)
            }
            _ => return None,
        };
        let at = match &msg {
            ServerMsg::Snapshot(s) => Some(s.at_ms),
            ServerMsg::Delta(d) => Some(d.at_ms),
            _ => None,
        };
        let offset_ms = match (at, self.first_at_ms) {
            (Some(at), Some(first)) => at.saturating_sub(first),
            (Some(at), None) => {
                self.first_at_ms = Some(at);
                0
            }
            (None, _) => self.last_offset_ms,
        };
        self.last_offset_ms = offset_ms;
        Some(RecordEntry { offset_ms, msg })
    }

    /// One past tick: a snapshot of what it names if it is the first, else a delta.
    fn tick(&mut self, d: Delta) -> ServerMsg {
        self.seq += 1;
        if !self.started {
            self.started = true;
            return ServerMsg::Snapshot(Snapshot {
                seq: self.seq,
                at_ms: d.at_ms,
                interval_ms: d.interval_ms,
                system: d.system,
                processes: d.changed,
            });
        }
        ServerMsg::Delta(Delta { seq: self.seq, ..d })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Pid, ProcessKind, ProcessSample, ProcessTable, SystemSample};

    fn past(seq: u64, at_ms: u64, pids: &[u64], removed: &[u64]) -> ServerMsg {
        ServerMsg::History(Delta {
            seq,
            at_ms,
            interval_ms: 1000,
            system: SystemSample::default(),
            changed: pids
                .iter()
                .map(|p| ProcessSample::new(Pid(*p), ProcessKind::Server, "T"))
                .collect(),
            removed: removed.iter().map(|p| Pid(*p)).collect(),
        })
    }

    /// Thinned history (seq 10, 14, 15) then the live snapshot: a recording whose messages
    /// apply one after the other, timed from the first tick.
    #[test]
    fn a_thinned_history_becomes_a_snapshot_and_deltas_that_follow_each_other() {
        let mut h = HistoryRecording::new();
        let msgs = [
            past(10, 5_000, &[1, 2], &[]),
            past(14, 9_000, &[2], &[1]),
            past(15, 10_000, &[3], &[]),
        ];
        let mut table = ProcessTable::default();
        let mut offsets = Vec::new();
        for m in msgs {
            let e = h.entry(m).unwrap();
            offsets.push(e.offset_ms);
            match e.msg {
                ServerMsg::Snapshot(s) => table.apply_snapshot(&s),
                ServerMsg::Delta(d) => table.apply_delta(&d).unwrap(),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(offsets, [0, 4_000, 5_000]);
        let pids: Vec<u64> = table.processes.iter().map(|p| p.id.0).collect();
        assert_eq!(pids, [2, 3]);
        let live = Snapshot {
            seq: 2,
            at_ms: 11_000,
            interval_ms: 1000,
            system: SystemSample::default(),
            processes: vec![],
        };
        let e = h.entry(ServerMsg::Snapshot(live)).unwrap();
        match e.msg {
            ServerMsg::Snapshot(s) => assert_eq!(s.seq, 4, "numbered after the history"),
            other => panic!("{other:?}"),
        }
        assert_eq!(e.offset_ms, 6_000);
        assert_eq!(h.samples(), 4);
    }
}
