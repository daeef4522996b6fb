//! Building one frame of a tick for a subscriber, a slice at a time: built samples are copied or
//! encoded, deferred ones (see `frames.rs`) are read from their process and made into samples
//! right then. The work yields between slices (`slice.rs`), and where it stands is kept in
//! [`Build`], so a subscriber whose wait is cancelled resumes where it left off.
//!
//! Memory while a snapshot is sent is one frame per subscriber (at most [`super::CHUNK_PROCESSES`]
//! samples), not the whole snapshot.

use super::flight::Past;
use super::frames::{Content, Encoded, Tick};
use super::hub::Publish;
use super::slice::Slicer;
use super::to_wire;
use beamline_wire::{Delta, ProcessSample, ServerMsg, frame};

/// A frame, as a subscriber takes it.
pub(crate) enum Out {
    /// Encoded, length prefix included (connections).
    Encoded(Encoded),
    /// As a message (in-process subscribers).
    Msg(ServerMsg),
}

/// One frame being built.
pub(crate) struct Build {
    frame: usize,
    snapshot: bool,
    /// Samples done so far.
    done: usize,
    into: Into,
    /// The protocol version its bytes are for (samples lose their hot type below 4).
    protocol: u16,
}

enum Into {
    Bytes { buf: Vec<u8>, tail: Vec<u8> },
    Msg(Vec<ProcessSample>),
}

impl Build {
    /// Start frame `frame` of the tick's snapshot (or deltas), encoded or as a message.
    pub(crate) fn new(tick: &Tick, frame: usize, snapshot: bool, encoded: bool) -> Build {
        let content = &tick.frames(snapshot).frames[frame];
        let count = content.len();
        let into = if encoded {
            let (mut buf, tail) = tick.frame_bounds(frame, snapshot, count);
            // Reserved whole (pages are only touched as they are written): growing a buffer of
            // megabytes would copy it in one go and hold the worker meanwhile.
            buf.reserve(content.bytes + tail.len());
            Into::Bytes { buf, tail }
        } else {
            Into::Msg(Vec::with_capacity(count))
        };
        Build {
            frame,
            snapshot,
            done: 0,
            into,
            protocol: beamline_wire::PROTOCOL_VERSION,
        }
    }

    /// The same build, its bytes for a client of protocol `version`.
    pub(crate) fn for_protocol(mut self, version: u16) -> Build {
        self.protocol = version;
        self
    }

    /// Whether it builds encoded bytes.
    pub(crate) fn encoded(&self) -> bool {
        matches!(self.into, Into::Bytes { .. })
    }

    /// Go on building; the frame once complete. An error means it could not be encoded (a frame
    /// over the wire's limit).
    ///
    /// Cancel safety: cancel safe; a later call goes on from where this one stopped.
    pub(crate) async fn run(&mut self, tick: &Tick, publish: &Publish) -> Result<Out, String> {
        let frames = tick.frames(self.snapshot);
        let mut slicer = Slicer::new();
        let Content {
            built, deferred, ..
        } = frames.frames[self.frame].clone();
        while self.done < built.len() {
            self.push(&tick.built[built.start + self.done])?;
            slicer.step().await;
        }
        let now = publish.shared.now_ns();
        let d = &frames.deferred;
        while self.done < built.len() + deferred.len() {
            let cell = &d.cells[deferred.start + self.done - built.len()];
            let monitor = publish.task_monitors.get(cell.pid);
            let s = to_wire::deferred_sample(cell, now, monitor.as_ref(), d.rates);
            self.push_owned(s)?;
            slicer.step().await;
        }
        Ok(self.finish(tick))
    }

    fn push(&mut self, s: &ProcessSample) -> Result<(), String> {
        match &mut self.into {
            Into::Bytes { buf, .. } => encode_into(buf, s, self.protocol)?,
            Into::Msg(v) => v.push(s.clone()),
        }
        self.done += 1;
        Ok(())
    }

    fn push_owned(&mut self, s: ProcessSample) -> Result<(), String> {
        match &mut self.into {
            Into::Bytes { buf, .. } => encode_into(buf, &s, self.protocol)?,
            Into::Msg(v) => v.push(s),
        }
        self.done += 1;
        Ok(())
    }

    fn finish(&mut self, tick: &Tick) -> Out {
        match std::mem::replace(&mut self.into, Into::Msg(Vec::new())) {
            Into::Bytes { mut buf, tail } => {
                buf.extend_from_slice(&tail);
                let len = (buf.len() - 4) as u32;
                buf[..4].copy_from_slice(&len.to_be_bytes());
                Out::Encoded(Encoded::new(buf))
            }
            Into::Msg(v) => Out::Msg(tick.message(self.frame, self.snapshot, v)),
        }
    }
}

/// Append one sample's encoding in protocol `version`, refusing to grow a frame past the
/// wire's limit.
fn encode_into(buf: &mut Vec<u8>, s: &ProcessSample, version: u16) -> Result<(), String> {
    let out = beamline_wire::as_protocol(version, || postcard::to_extend(s, std::mem::take(buf)))
        .map_err(|e| e.to_string())?;
    *buf = out;
    if buf.len() - 4 > frame::MAX_FRAME_LEN {
        return Err(format!(
            "frame of more than {} bytes exceeds the limit of {} bytes",
            buf.len() - 4,
            frame::MAX_FRAME_LEN
        ));
    }
    Ok(())
}

/// One of the flight recorder's past ticks as an encoded `ServerMsg::History` frame, a sample
/// at a time: each point is made into its sample and encoded, then dropped, yielding between
/// slices. Made whole (`Past::delta`, then `frame::encode`), a tick of 31,250 points held a
/// worker for about 40 ms (issue 15). The bytes are those of `frame::encode` (tested), each
/// sample in the client's protocol `version`.
pub(crate) async fn encode_history(past: &Past, version: u16) -> Result<Encoded, String> {
    let empty = ServerMsg::History(Delta {
        seq: past.seq,
        at_ms: past.at_ms,
        interval_ms: past.interval_ms,
        system: past.system.clone(),
        changed: Vec::new(),
        removed: past.removed.clone(),
    });
    // Postcard writes the delta's fields back to back: everything up to `changed` (an empty
    // list is its length, one zero byte), then `removed`.
    let mut buf = frame::encode(&empty).map_err(|e| e.to_string())?;
    let tail = postcard::to_stdvec(&past.removed).map_err(|e| e.to_string())?;
    buf.truncate(buf.len() - tail.len() - 1);
    buf = postcard::to_extend(&past.changed.len(), buf).map_err(|e| e.to_string())?;
    let mut slicer = Slicer::new();
    for p in &past.changed {
        encode_into(&mut buf, &p.sample(), version)?;
        slicer.step().await;
    }
    buf.extend_from_slice(&tail);
    let len = (buf.len() - 4) as u32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(Encoded::new(buf))
}

/// Build every delta frame of a tick, encoded (the sampler does this once for all connections).
pub(crate) async fn encode_deltas(tick: &Tick, publish: &Publish) -> Result<Vec<Encoded>, String> {
    let mut out = Vec::with_capacity(tick.len());
    for i in 0..tick.len() {
        match Build::new(tick, i, false, true).run(tick, publish).await? {
            Out::Encoded(e) => out.push(e),
            Out::Msg(_) => unreachable!("built encoded"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::flight::{FlightConfig, FlightRecorder};
    use beamline_wire::{Pid, SystemSample};
    use std::sync::atomic::Ordering::Relaxed;

    /// Recording a tick of 5,000 changes and encoding it as a `History` frame both yield (a
    /// ticker task runs between their slices), and the frame encoded a sample at a time is byte
    /// for byte the whole message's encoding.
    #[tokio::test]
    async fn a_past_tick_is_recorded_and_encoded_in_slices() {
        let flight = FlightRecorder::new(FlightConfig::default(), None);
        let samples: Vec<ProcessSample> = (1..=5_000)
            .map(crate::publish::frames::tests::sample)
            .collect();
        let system = SystemSample::default();
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let ticker = tokio::spawn({
            let ran = ran.clone();
            async move {
                loop {
                    ran.fetch_add(1, Relaxed);
                    tokio::task::yield_now().await;
                }
            }
        });
        let _trim = flight
            .record_sliced(
                (7, 1_000, 1_000, &system),
                samples.iter().collect(),
                &[Pid(9)],
            )
            .await;
        let recording = ran.load(Relaxed);
        assert!(
            recording >= 10,
            "recording 5,000 points yields every 256: {recording}"
        );
        let past = flight.history().pop_front().expect("recorded");
        assert_eq!(past.changed.len(), 5_000);
        let whole = frame::encode(&ServerMsg::History(past.delta())).unwrap();
        let sliced = encode_history(&past, beamline_wire::PROTOCOL_VERSION)
            .await
            .unwrap();
        ticker.abort();
        assert_eq!(*sliced, whole);
        let encoding = ran.load(Relaxed) - recording;
        assert!(
            encoding >= 4,
            "5,000 samples yield at least every 1,024: {encoding}"
        );
    }
}
