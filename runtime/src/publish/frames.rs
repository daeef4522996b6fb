//! Frames: what one tick publishes, planned as frame-sized messages ([`CHUNK_PROCESSES`] samples
//! or about [`CHUNK_BYTES`] each, consecutive sequence numbers, see `docs/PROTOCOL.md`).
//!
//! A tick holds two kinds of samples:
//!
//! - *built* ones, made at tick time for the processes whose counters moved (their rates need
//!   the previous reading, which only the sampler has);
//! - *deferred* ones: processes whose sample is known to have zero rates (or, on the first tick,
//!   rates over their life so far), kept as a pointer to the process (8 bytes) and read when
//!   their frame is built (`publish/stream.rs`). A snapshot of a million processes is thus a
//!   list of pointers until a subscriber takes it, frame by frame.
//!
//! Delta frames are encoded once and shared by every connection (`Tick::encoded_deltas`);
//! snapshot frames are built for each subscriber that needs one, as it sends them.

use super::slice::Slicer;
use crate::process::ProcessCell;
use beamline_wire::{Delta, Pid, ProcessSample, ServerMsg, Snapshot, SystemSample, frame};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

/// At most this many samples go in one frame; a bigger delta or snapshot is split. Small
/// enough that a frame being built for a subscriber stays a couple of megabytes (the memory a
/// snapshot costs while it is sent) and that an observer decodes one frame while the next is
/// built; large enough that the frames' repeated headers stay a rounding error.
pub const CHUNK_PROCESSES: usize = 16_384;
/// At most about this many encoded bytes go in one frame, by the generous estimate of
/// `approx_size` (well under the wire's frame limit).
pub const CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// One encoded frame (length prefix included), shared by every connection that sends it.
pub(crate) type Encoded = Arc<Vec<u8>>;

/// The rates of a deferred sample, read when its frame is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rates {
    /// Nothing moved at tick time: every rate is zero.
    Zero,
    /// The first tick after the sampler started: rates over the process's life so far.
    Lifetime,
}

/// What one frame of a tick carries: these built samples, then these deferred processes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Content {
    pub(crate) built: Range<usize>,
    pub(crate) deferred: Range<usize>,
    /// The samples' estimated encoded size (an upper bound in practice): what a frame's buffer
    /// reserves, so that it never grows (and copies megabytes) while it is filled.
    pub(crate) bytes: usize,
}

impl Content {
    /// Samples in the frame.
    pub(crate) fn len(&self) -> usize {
        self.built.len() + self.deferred.len()
    }
}

/// Processes whose samples are made when their frame is built.
pub(crate) struct Deferred {
    pub(crate) cells: Vec<Arc<ProcessCell>>,
    pub(crate) rates: Rates,
}

/// Lists longer than this are dropped on a blocking thread: freeing a million pointers or
/// samples would hold a worker for milliseconds (a subscriber leaving, a tick leaving the ring).
const DROP_ELSEWHERE: usize = 4096;

/// Drop `v` off the runtime's workers when it is long and a blocking thread is at hand.
pub(crate) fn drop_elsewhere<T: Send + 'static>(v: Vec<T>) {
    if v.len() > DROP_ELSEWHERE
        && let Ok(rt) = tokio::runtime::Handle::try_current()
    {
        rt.spawn_blocking(move || drop(v));
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        drop_elsewhere(std::mem::take(&mut self.cells));
    }
}

impl Drop for Tick {
    fn drop(&mut self) {
        drop_elsewhere(std::mem::take(&mut self.built));
    }
}

/// One list of frames of a tick: its deltas, or its snapshot.
pub(crate) struct Frames {
    pub(crate) deferred: Deferred,
    pub(crate) frames: Vec<Content>,
}

/// What one tick published: the delta frames, and the snapshot frames if one was asked for.
/// Both lists cover the same sequence numbers and end in the same state.
pub(crate) struct Tick {
    pub(crate) header: Header,
    /// Samples built at tick time, shared by the deltas and the snapshot.
    pub(crate) built: Vec<ProcessSample>,
    /// Pids gone since the last tick (in the first delta frame).
    pub(crate) removed: Vec<Pid>,
    pub(crate) deltas: Frames,
    pub(crate) snapshot: Option<Frames>,
    /// The delta frames encoded, once, for every connection (set by the sampler when a
    /// connection takes them, see `Tick::set_encoded_deltas`).
    encoded_deltas: OnceLock<Result<Vec<Encoded>, String>>,
}

impl Tick {
    /// Sequence numbers (frames) the tick uses.
    pub(crate) fn len(&self) -> usize {
        self.deltas.frames.len()
    }

    /// The list of frames a subscriber takes: the snapshot's or the deltas'.
    pub(crate) fn frames(&self, snapshot: bool) -> &Frames {
        match (&self.snapshot, snapshot) {
            (Some(s), true) => s,
            _ => &self.deltas,
        }
    }

    /// The delta frames encoded, if the sampler encoded them.
    pub(crate) fn encoded_deltas(&self) -> Option<Result<&[Encoded], &str>> {
        self.encoded_deltas
            .get()
            .map(|r| r.as_deref().map_err(String::as_str))
    }

    /// Keep the encoded delta frames for every connection.
    pub(crate) fn set_encoded_deltas(&self, encoded: Result<Vec<Encoded>, String>) {
        let _ = self.encoded_deltas.set(encoded);
    }

    /// The message of frame `i`, `samples` being what it carries, in order.
    pub(crate) fn message(
        &self,
        i: usize,
        snapshot: bool,
        samples: Vec<ProcessSample>,
    ) -> ServerMsg {
        let h = &self.header;
        let seq = h.first_seq + i as u64;
        if snapshot && i == 0 {
            return ServerMsg::Snapshot(Snapshot {
                seq,
                at_ms: h.at_ms,
                interval_ms: h.interval_ms,
                system: h.system.clone(),
                processes: samples,
            });
        }
        ServerMsg::Delta(Delta {
            seq,
            at_ms: h.at_ms,
            interval_ms: h.interval_ms,
            system: h.system.clone(),
            changed: samples,
            removed: if !snapshot && i == 0 {
                self.removed.clone()
            } else {
                Vec::new()
            },
        })
    }

    /// How frame `i` is encoded around its samples: the bytes before the first sample (length
    /// prefix left zero) and after the last, given how many samples it carries. Postcard writes
    /// a struct as its fields back to back and a list as its length then its items, so a frame
    /// can be encoded one sample at a time (tested against `frame::encode`).
    pub(crate) fn frame_bounds(
        &self,
        i: usize,
        snapshot: bool,
        count: usize,
    ) -> (Vec<u8>, Vec<u8>) {
        let empty = self.message(i, snapshot, Vec::new());
        let (mut head, tail) = match &empty {
            ServerMsg::Delta(d) => {
                let mut full = frame::encode(&empty).expect("a sample-free frame encodes");
                let tail = postcard::to_stdvec(&d.removed).expect("pids encode");
                full.truncate(full.len() - tail.len() - 1);
                (full, tail)
            }
            _ => {
                let mut full = frame::encode(&empty).expect("a sample-free frame encodes");
                full.truncate(full.len() - 1);
                (full, Vec::new())
            }
        };
        head = postcard::to_extend(&count, head).expect("a length encodes");
        (head, tail)
    }
}

/// What every frame of a tick repeats.
pub(crate) struct Header {
    /// Sequence number of the tick's first frame.
    pub first_seq: u64,
    pub at_ms: u64,
    pub interval_ms: u64,
    pub system: SystemSample,
}

/// Cut the built samples (of estimated sizes `built`) followed by deferred ones (`deferred`)
/// into frames: a new frame when the current one holds [`CHUNK_PROCESSES`] samples or would pass
/// [`CHUNK_BYTES`]. Always at least one frame, maybe empty. A million samples take milliseconds,
/// so it yields as the scan does (`publish/slice.rs`).
async fn plan(built: &[usize], deferred: &[u32], slicer: &mut Slicer) -> Vec<Content> {
    let mut out = vec![Content::default()];
    let mut bytes = 0;
    let sizes = built
        .iter()
        .copied()
        .chain(deferred.iter().map(|&s| s as usize));
    for (i, size) in sizes.enumerate() {
        let last = out.last().expect("never empty");
        if last.len() > 0 && (last.len() >= CHUNK_PROCESSES || bytes + size > CHUNK_BYTES) {
            let (b, d) = (last.built.end, last.deferred.end);
            out.push(Content {
                built: b..b,
                deferred: d..d,
                bytes: 0,
            });
            bytes = 0;
        }
        bytes += size;
        let last = out.last_mut().expect("never empty");
        last.bytes = bytes;
        if i < built.len() {
            last.built.end += 1;
        } else {
            if last.deferred.is_empty() {
                last.deferred = i - built.len()..i - built.len();
            }
            last.deferred.end += 1;
        }
        slicer.step().await;
    }
    out
}

/// A tick's samples, as the sampler found them.
pub(crate) struct Found {
    pub built: Vec<ProcessSample>,
    pub removed: Vec<Pid>,
    /// Processes that changed but whose rates are zero: in the deltas, read when sent; with
    /// the estimated size of each sample.
    pub deferred: Vec<Arc<ProcessCell>>,
    pub deferred_sizes: Vec<u32>,
    /// When a snapshot is wanted: every process not in `built`, how to read them, and sizes.
    pub snapshot: Option<(Deferred, Vec<u32>)>,
}

/// Plan the frames of one tick, in slices that yield. Returns the tick and how many sequence
/// numbers it used.
pub(crate) async fn tick(header: Header, found: Found) -> (Tick, u64) {
    let mut slicer = Slicer::new();
    let mut built = Vec::with_capacity(found.built.len());
    for p in &found.built {
        built.push(approx_size(p));
        slicer.step().await;
    }
    let mut deltas = plan(&built, &found.deferred_sizes, &mut slicer).await;
    let mut snapshot = match found.snapshot {
        Some((d, sizes)) => Some((d, plan(&built, &sizes, &mut slicer).await)),
        None => None,
    };
    let len = deltas.len().max(snapshot.as_ref().map_or(0, |s| s.1.len()));
    let pad = |frames: &mut Vec<Content>| {
        let last = frames.last().expect("never empty").clone();
        let end = Content {
            built: last.built.end..last.built.end,
            deferred: last.deferred.end..last.deferred.end,
            bytes: 0,
        };
        frames.resize(len, end);
    };
    pad(&mut deltas);
    if let Some(s) = snapshot.as_mut() {
        pad(&mut s.1);
    }
    let tick = Tick {
        header,
        built: found.built,
        removed: found.removed,
        deltas: Frames {
            deferred: Deferred {
                cells: found.deferred,
                rates: Rates::Zero,
            },
            frames: deltas,
        },
        snapshot: snapshot.map(|(deferred, frames)| Frames { deferred, frames }),
        encoded_deltas: OnceLock::new(),
    };
    (tick, len as u64)
}

/// A generous estimate of a sample's encoded size, for splitting frames.
pub(crate) fn approx_size(p: &ProcessSample) -> usize {
    256 + p.behaviour.len()
        + p.name.as_ref().map_or(0, String::len)
        + p.child_id.as_ref().map_or(0, String::len)
        + p.exit_history.iter().map(|e| e.len() + 2).sum::<usize>()
        + 10 * (p.links.len() + p.monitors.len())
}

#[cfg(test)]
pub(crate) mod tests;
