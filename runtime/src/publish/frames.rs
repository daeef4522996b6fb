//! Frames: one tick's samples cut into frame-sized messages ([`CHUNK_PROCESSES`] samples or
//! about [`CHUNK_BYTES`] each, consecutive sequence numbers, see `docs/PROTOCOL.md`), and each
//! message encoded at most once however many connections send it.

use beamline_wire::{Delta, Pid, ProcessSample, ServerMsg, Snapshot, SystemSample, frame};
use std::sync::{Arc, OnceLock};

/// At most this many samples go in one frame; a bigger delta or snapshot is split.
pub const CHUNK_PROCESSES: usize = 50_000;
/// At most about this many encoded bytes go in one frame (well under the wire's frame limit).
pub const CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// One encoded frame (length prefix included), shared by every connection that sends it.
pub(crate) type Encoded = Arc<[u8]>;

/// The messages of one tick's delta (or snapshot), and their encoding, made on first use and
/// then shared: N connections cost one encode and no copy.
pub(crate) struct Frames {
    msgs: Vec<ServerMsg>,
    encoded: OnceLock<Result<Vec<Encoded>, String>>,
}

impl Frames {
    fn new(msgs: Vec<ServerMsg>) -> Self {
        Frames {
            msgs,
            encoded: OnceLock::new(),
        }
    }

    /// The messages, for in-process subscribers.
    pub(crate) fn msgs(&self) -> &[ServerMsg] {
        &self.msgs
    }

    /// The encoded frames, encoding them on the first call. An error (a frame over the wire's
    /// limit despite the chunking) is returned to every caller.
    pub(crate) fn encoded(&self) -> Result<&[Encoded], &str> {
        self.encoded
            .get_or_init(|| {
                self.msgs
                    .iter()
                    .map(|m| frame::encode(m).map(Encoded::from))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())
            })
            .as_deref()
            .map_err(String::as_str)
    }
}

/// What one tick published: the delta frames, and the snapshot frames if one was asked for.
/// Both lists cover the same sequence numbers and end in the same state.
pub(crate) struct Tick {
    pub(crate) deltas: Frames,
    pub(crate) snapshot: Option<Frames>,
}

/// What every frame of a tick repeats.
pub(crate) struct Header {
    /// Sequence number of the tick's first frame.
    pub first_seq: u64,
    pub at_ms: u64,
    pub interval_ms: u64,
    pub system: SystemSample,
}

/// The frames of one tick: `changed` and `removed` as deltas, and `all` (when a snapshot was
/// asked for) as a snapshot followed by deltas carrying the rest. Returns the tick and how many
/// sequence numbers it used.
pub(crate) fn tick(
    header: Header,
    changed: Vec<ProcessSample>,
    removed: Vec<Pid>,
    all: Option<Vec<ProcessSample>>,
) -> (Tick, u64) {
    let delta_chunks = chunk(changed);
    let snap_chunks = all.map(chunk);
    let frames = delta_chunks
        .len()
        .max(snap_chunks.as_ref().map_or(1, Vec::len));
    let delta = |i: usize, changed: Vec<ProcessSample>, removed: Vec<Pid>| {
        ServerMsg::Delta(Delta {
            seq: header.first_seq + i as u64,
            at_ms: header.at_ms,
            interval_ms: header.interval_ms,
            system: header.system.clone(),
            changed,
            removed,
        })
    };
    let mut removed = Some(removed);
    let mut delta_chunks = delta_chunks.into_iter();
    let deltas = (0..frames)
        .map(|i| {
            let gone = if i == 0 { removed.take() } else { None };
            delta(
                i,
                delta_chunks.next().unwrap_or_default(),
                gone.unwrap_or_default(),
            )
        })
        .collect();
    let snapshot = snap_chunks.map(|chunks| {
        let mut chunks = chunks.into_iter();
        let mut out = vec![ServerMsg::Snapshot(Snapshot {
            seq: header.first_seq,
            at_ms: header.at_ms,
            interval_ms: header.interval_ms,
            system: header.system.clone(),
            processes: chunks.next().unwrap_or_default(),
        })];
        out.extend((1..frames).map(|i| delta(i, chunks.next().unwrap_or_default(), Vec::new())));
        Frames::new(out)
    });
    let tick = Tick {
        deltas: Frames::new(deltas),
        snapshot,
    };
    (tick, frames as u64)
}

/// A generous estimate of a sample's encoded size, for splitting frames.
fn approx_size(p: &ProcessSample) -> usize {
    256 + p.behaviour.len()
        + p.name.as_ref().map_or(0, String::len)
        + p.child_id.as_ref().map_or(0, String::len)
        + p.exit_history.iter().map(|e| e.len() + 2).sum::<usize>()
        + 10 * (p.links.len() + p.monitors.len())
}

/// Split samples into frame-sized groups (always at least one group, maybe empty).
fn chunk(samples: Vec<ProcessSample>) -> Vec<Vec<ProcessSample>> {
    let mut out = vec![Vec::new()];
    let mut bytes = 0;
    for p in samples {
        let size = approx_size(&p);
        let last = out.last_mut().expect("never empty");
        if !last.is_empty() && (last.len() >= CHUNK_PROCESSES || bytes + size > CHUNK_BYTES) {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        out.last_mut().expect("never empty").push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::to_wire::MAX_LIST;
    use beamline_wire::ProcessKind;

    fn big(id: u64, links: usize) -> ProcessSample {
        let mut p = ProcessSample::new(Pid(id), ProcessKind::Server, "T");
        p.links = (0..links as u64).map(Pid).collect();
        p
    }

    #[test]
    fn chunks_split_by_count_and_by_size_and_never_come_back_empty() {
        assert_eq!(chunk(Vec::new()).len(), 1);
        let many: Vec<_> = (0..CHUNK_PROCESSES as u64 * 2 + 1)
            .map(|i| big(i, 0))
            .collect();
        let c = chunk(many);
        assert_eq!(c.len(), 3);
        assert_eq!(c[2].len(), 1);
        // Samples with big link lists: the byte budget splits well before the count does.
        let heavy: Vec<_> = (0..4000).map(|i| big(i, MAX_LIST)).collect();
        let c = chunk(heavy);
        assert!(c.len() > 1);
        for part in &c {
            let bytes = beamline_wire::frame::encode(&part.clone()).unwrap().len();
            assert!(bytes <= CHUNK_BYTES, "{bytes}");
        }
    }

    #[test]
    fn a_split_tick_numbers_its_frames_and_sends_removals_once() {
        let header = Header {
            first_seq: 7,
            at_ms: 1,
            interval_ms: 100,
            system: SystemSample::default(),
        };
        let all: Vec<_> = (0..CHUNK_PROCESSES as u64 + 1).map(|i| big(i, 0)).collect();
        let (tick, used) = tick(header, vec![big(1, 0)], vec![Pid(99)], Some(all));
        assert_eq!(used, 2);
        let seqs = |f: &Frames| {
            f.msgs()
                .iter()
                .map(|m| match m {
                    ServerMsg::Delta(d) => d.seq,
                    ServerMsg::Snapshot(s) => s.seq,
                    _ => panic!("{m:?}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(seqs(&tick.deltas), [7, 8]);
        assert_eq!(seqs(tick.snapshot.as_ref().unwrap()), [7, 8]);
        assert!(matches!(
            tick.snapshot.as_ref().unwrap().msgs()[0],
            ServerMsg::Snapshot(_)
        ));
        let ServerMsg::Delta(first) = &tick.deltas.msgs()[0] else {
            panic!()
        };
        assert_eq!(first.removed, [Pid(99)]);
        let ServerMsg::Delta(second) = &tick.deltas.msgs()[1] else {
            panic!()
        };
        assert!(second.removed.is_empty() && second.changed.is_empty());
    }

    #[test]
    fn frames_are_encoded_once_and_shared() {
        let frames = Frames::new(vec![ServerMsg::Refused("x".into())]);
        let a = frames.encoded().unwrap()[0].clone();
        let b = frames.encoded().unwrap()[0].clone();
        assert!(Arc::ptr_eq(&a, &b));
        let decoded: ServerMsg = frame::decode(&a, usize::MAX).unwrap().unwrap().0;
        assert_eq!(decoded, ServerMsg::Refused("x".into()));
    }
}
