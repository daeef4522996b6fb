//! A large snapshot arrives as several frames: a `Snapshot` followed by `Delta`s of the same
//! tick (same `at_ms`, consecutive sequence numbers, nothing removed; see docs/PROTOCOL.md).
//! Handed on one by one, each of those deltas would make the model rebuild its whole table
//! (a merge over every process so far), so a snapshot of a million processes in 62 frames
//! would cost 62 table builds before the first screen. The session gathers them here into one
//! `Snapshot`, carrying the last frame's sequence number (the state after the whole tick, so
//! the next delta follows it), and hands it on once it holds every live process, once
//! something else arrives, or after [`GATHER_FOR`] without a further frame.

use beamline_wire::{ServerMsg, Snapshot};
use std::time::Duration;

/// How long a partly gathered snapshot waits for its next frame before it is handed on as it
/// is (the frames of one tick come back to back; the remaining ones then apply as deltas).
pub const GATHER_FOR: Duration = Duration::from_millis(200);

/// A snapshot being gathered from its frames.
#[derive(Debug, Default)]
pub struct Coalesce {
    pending: Option<Snapshot>,
}

impl Coalesce {
    /// Take one message; returns what to hand on now, in order (nothing while a snapshot is
    /// still being gathered).
    pub fn push(&mut self, msg: ServerMsg) -> Vec<ServerMsg> {
        match (self.pending.as_mut(), msg) {
            (None, ServerMsg::Snapshot(s)) => {
                self.pending = Some(s);
                self.complete().into_iter().collect()
            }
            (Some(p), ServerMsg::Delta(d))
                if d.at_ms == p.at_ms && d.seq == p.seq + 1 && d.removed.is_empty() =>
            {
                p.seq = d.seq;
                p.processes.extend(d.changed);
                self.complete().into_iter().collect()
            }
            (_, other) => {
                let mut out: Vec<ServerMsg> = self.flush().into_iter().collect();
                if let ServerMsg::Snapshot(s) = other {
                    self.pending = Some(s);
                    out.extend(self.complete());
                } else {
                    out.push(other);
                }
                out
            }
        }
    }

    /// Whether a snapshot is being gathered (the session then waits at most [`GATHER_FOR`]).
    pub fn gathering(&self) -> bool {
        self.pending.is_some()
    }

    /// Hand on what has been gathered, as it is.
    pub fn flush(&mut self) -> Option<ServerMsg> {
        self.pending.take().map(ServerMsg::Snapshot)
    }

    /// The gathered snapshot, if it now holds every live process.
    fn complete(&mut self) -> Option<ServerMsg> {
        let p = self.pending.as_ref()?;
        if p.processes.len() as u64 >= p.system.processes {
            self.flush()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamline_wire::{Delta, Pid, ProcessKind, ProcessSample, SystemSample};

    fn samples(ids: std::ops::Range<u64>) -> Vec<ProcessSample> {
        ids.map(|i| ProcessSample::new(Pid(i), ProcessKind::Server, "T"))
            .collect()
    }

    fn snapshot(seq: u64, at_ms: u64, live: u64, ids: std::ops::Range<u64>) -> ServerMsg {
        ServerMsg::Snapshot(Snapshot {
            seq,
            at_ms,
            interval_ms: 1000,
            system: SystemSample {
                processes: live,
                ..SystemSample::default()
            },
            processes: samples(ids),
        })
    }

    fn delta(seq: u64, at_ms: u64, ids: std::ops::Range<u64>) -> ServerMsg {
        ServerMsg::Delta(Delta {
            seq,
            at_ms,
            interval_ms: 1000,
            system: SystemSample::default(),
            changed: samples(ids),
            removed: Vec::new(),
        })
    }

    #[test]
    fn a_snapshot_in_three_frames_is_handed_on_whole_with_the_last_sequence_number() {
        let mut c = Coalesce::default();
        assert!(c.push(snapshot(5, 10, 30, 0..10)).is_empty());
        assert!(c.push(delta(6, 10, 10..20)).is_empty());
        let out = c.push(delta(7, 10, 20..30));
        let [ServerMsg::Snapshot(s)] = out.as_slice() else {
            panic!("{out:?}")
        };
        assert_eq!((s.seq, s.processes.len()), (7, 30));
        assert!(!c.gathering());
        // The next tick's delta goes straight through.
        assert_eq!(c.push(delta(8, 20, 0..1)).len(), 1);
    }

    #[test]
    fn another_tick_or_message_hands_on_what_was_gathered_first() {
        let mut c = Coalesce::default();
        assert!(c.push(snapshot(5, 10, 100, 0..10)).is_empty());
        let out = c.push(delta(6, 20, 0..1));
        assert!(
            matches!(&out[..], [ServerMsg::Snapshot(s), ServerMsg::Delta(d)] if s.seq == 5 && d.seq == 6)
        );
        assert!(c.push(snapshot(7, 30, 100, 0..10)).is_empty());
        let out = c.push(snapshot(8, 40, 1, 0..1));
        assert!(
            matches!(&out[..], [ServerMsg::Snapshot(a), ServerMsg::Snapshot(b)] if a.seq == 7 && b.seq == 8)
        );
        assert!(c.flush().is_none());
    }

    #[test]
    fn a_small_snapshot_goes_straight_through() {
        let mut c = Coalesce::default();
        assert_eq!(c.push(snapshot(1, 1, 3, 0..3)).len(), 1);
        assert!(!c.gathering());
    }
}
