//! `--record FILE`: save whatever another source yields, in the format `--replay` reads.
//!
//! Writing happens on a plain thread fed through a bounded channel, so a slow disk never blocks
//! a tokio worker (in embedded mode those are the application's). The thread flushes whenever it
//! has caught up, so a recording cut short by a crash still replays up to its last full entry.
//!
//! A recording that stops is never silent: the next call to [`Source::next`] yields
//! [`Trouble::RecordingFailed`] (the TUI shows it, headless modes exit 1), and
//! [`Source::close`] returns it if `next` had no chance to.

use super::event::{ControlFuture, Playback, Source, SourceEvent, Trouble};
use beamline_wire::ControlRequest;
use beamline_wire::record::{RecordEntry, RecordError, RecordWriter};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// Entries waiting for the writer thread, at most. Beyond that the disk has fallen a minute or
/// more behind (at the default interval) and recording stops rather than hold up observing.
pub const RECORD_BUFFER: usize = 64;

/// A source whose messages are also appended to a recording.
///
/// A write error, or a disk that falls [`RECORD_BUFFER`] entries behind, stops recording
/// (reported once as [`Trouble::RecordingFailed`], by [`Recorded::error`] and in
/// [`Source::describe`]) but never stops observing. [`Source::close`] waits until everything
/// received is written.
pub struct Recorded<S> {
    inner: S,
    entries: Option<mpsc::Sender<RecordEntry>>,
    done: Option<oneshot::Receiver<()>>,
    start: Instant,
    /// Why recording stopped; set by the writer thread or by [`Recorded::save`], first reason
    /// kept.
    error: watch::Sender<Option<String>>,
    /// Watches `error`; marked seen once the trouble was handed out.
    told: watch::Receiver<Option<String>>,
}

impl<S: Source> Recorded<S> {
    /// Create (or truncate) `path` and record `inner` into it.
    pub fn create(inner: S, path: &Path) -> Result<Self, RecordError> {
        Self::with_writer(inner, BufWriter::new(File::create(path)?))
    }

    /// Record `inner` into `out` (a file, or anything else that takes bytes).
    pub fn with_writer<W: Write + Send + 'static>(inner: S, out: W) -> Result<Self, RecordError> {
        let mut writer = RecordWriter::new(out)?;
        let (tx, mut rx) = mpsc::channel::<RecordEntry>(RECORD_BUFFER);
        let (done_tx, done) = oneshot::channel();
        let (error, told) = watch::channel(None);
        let report = error.clone();
        std::thread::Builder::new()
            .name("observer-record".into())
            .spawn(move || {
                let result = (|| {
                    while let Some(entry) = rx.blocking_recv() {
                        writer.append(&entry)?;
                        if rx.is_empty() {
                            writer.flush()?;
                        }
                    }
                    writer.flush()
                })();
                if let Err(e) = result {
                    set(&report, format!("recording stopped: {e}"));
                }
                let _ = done_tx.send(());
            })?;
        Ok(Recorded {
            inner,
            entries: Some(tx),
            done: Some(done),
            start: Instant::now(),
            error,
            told,
        })
    }

    /// Why recording stopped, if it did.
    pub fn error(&self) -> Option<String> {
        self.error.borrow().clone()
    }

    /// Hand `ev` to the writer thread without waiting for it.
    fn save(&mut self, ev: &SourceEvent) {
        let (SourceEvent::Msg(msg), Some(tx)) = (ev, &self.entries) else {
            return;
        };
        let entry = RecordEntry {
            offset_ms: self.start.elapsed().as_millis() as u64,
            msg: msg.clone(),
        };
        match tx.try_send(entry) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                set(
                    &self.error,
                    format!("recording stopped: the disk fell {RECORD_BUFFER} entries behind"),
                );
                self.entries = None;
            }
            // The writer failed and said why.
            Err(mpsc::error::TrySendError::Closed(_)) => self.entries = None,
        }
    }

    /// The trouble not yet handed out, marking it told.
    fn untold(&mut self) -> Option<Trouble> {
        if !self.told.has_changed().unwrap_or(false) {
            return None;
        }
        let why = self.told.borrow_and_update().clone()?;
        self.entries = None;
        Some(Trouble::RecordingFailed(why))
    }
}

/// Keep the first reason recording stopped.
fn set(slot: &watch::Sender<Option<String>>, why: String) {
    slot.send_if_modified(|e| {
        let first = e.is_none();
        e.get_or_insert(why);
        first
    });
}

impl<S: Source> Source for Recorded<S> {
    /// Cancel safety: both branches are cancel safe (the inner source's `next` by contract,
    /// `watch::Receiver::changed` by tokio's), and saving happens after the await.
    async fn next(&mut self) -> Option<SourceEvent> {
        if let Some(t) = self.untold() {
            return Some(SourceEvent::Trouble(t));
        }
        let mut stopped = self.told.clone();
        let ev = tokio::select! {
            ev = self.inner.next() => ev?,
            Ok(()) = stopped.changed() => return self.untold().map(SourceEvent::Trouble),
        };
        self.save(&ev);
        Some(ev)
    }

    fn missed(&self) -> u64 {
        self.inner.missed()
    }

    fn control(&self, request: ControlRequest) -> ControlFuture {
        self.inner.control(request)
    }

    fn playback(&mut self, command: Playback) -> bool {
        self.inner.playback(command)
    }

    fn describe(&self) -> String {
        match self.error() {
            Some(_) => format!("{} (recording failed)", self.inner.describe()),
            None => format!("{} (recording)", self.inner.describe()),
        }
    }

    /// Stop recording and wait (without blocking a worker) until the writer thread has written
    /// and flushed everything received; returns the failure `next` did not get to tell.
    async fn close(&mut self) -> Option<Trouble> {
        self.entries = None;
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
        let inner = self.inner.close().await;
        self.untold().or(inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{ConnState, ReplaySource};
    use beamline_wire::{ServerMsg, record::RecordEntry};
    use std::sync::mpsc as std_mpsc;
    use std::sync::{Arc, Mutex};
    use std::thread::ThreadId;

    /// Every event up to and including the replay's `Ended`.
    async fn drain<S: Source>(rec: &mut Recorded<S>) -> Vec<SourceEvent> {
        let mut seen = Vec::new();
        while let Some(ev) = rec.next().await {
            let end = ev == SourceEvent::Conn(ConnState::Ended);
            seen.push(ev);
            if end {
                break;
            }
        }
        seen
    }

    fn troubles(seen: &[SourceEvent]) -> Vec<&Trouble> {
        seen.iter()
            .filter_map(|e| match e {
                SourceEvent::Trouble(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    fn entries(n: u64) -> Vec<RecordEntry> {
        (0..n)
            .map(|i| RecordEntry {
                offset_ms: i * 500,
                msg: ServerMsg::Refused(format!("m{i}")),
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn recording_a_source_replays_the_same_messages() {
        let msgs = entries(3);
        let dir = std::env::temp_dir().join(format!("observer-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.rec");
        let src = ReplaySource::from_entries("t".into(), msgs.clone());
        let mut rec = Recorded::create(src, &path).unwrap();
        let seen = drain(&mut rec).await;
        assert!(troubles(&seen).is_empty());
        assert_eq!(rec.close().await, None);
        let back = beamline_wire::record::read_all(File::open(&path).unwrap()).unwrap();
        assert_eq!(back, msgs);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A sink that notes which thread writes each piece, and whose writer thread is stuck on
    /// its first entry until the test opens the gate.
    struct Gated {
        writers: std_mpsc::Sender<ThreadId>,
        gate: Option<std_mpsc::Receiver<()>>,
        bytes: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gated {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let me = std::thread::current();
            let _ = self.writers.send(me.id());
            if me.name() == Some("observer-record")
                && let Some(gate) = self.gate.take()
            {
                let _ = gate.recv();
            }
            self.bytes.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The writes happen off the task that observes, so a stuck disk holds up neither it nor the
    /// runtime's workers; past the buffer, recording stops with a reason and observing goes on.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_stuck_disk_blocks_nothing_and_stops_recording_past_the_buffer() {
        let (writers_tx, writers) = std_mpsc::channel();
        let (open, gate) = std_mpsc::channel();
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let sink = Gated {
            writers: writers_tx,
            gate: Some(gate),
            bytes: bytes.clone(),
        };
        let n = RECORD_BUFFER as u64 + 10;
        let src = ReplaySource::from_entries("t".into(), entries(n));
        let mut rec = Recorded::with_writer(src, sink).unwrap();
        let seen = drain(&mut rec).await;
        assert_eq!(
            seen.len() as u64,
            n + 3,
            "all observed: Connected, every message, Ended, and the trouble once"
        );
        let err = rec.error().expect("recording stopped");
        assert!(err.contains("fell 64 entries behind"), "{err}");
        assert_eq!(troubles(&seen), [&Trouble::RecordingFailed(err)]);
        assert!(rec.describe().ends_with("(recording failed)"));
        open.send(()).unwrap();
        assert_eq!(rec.close().await, None, "told already");
        // The format's header (magic, version, marker) is written by the caller; every entry
        // by the writer thread.
        let here = std::thread::current().id();
        let threads: Vec<ThreadId> = writers.try_iter().collect();
        assert_eq!(threads[..3], [here; 3]);
        assert!(threads.len() > 3, "entries were written");
        assert!(
            threads[3..].iter().all(|t| *t != here),
            "an entry was written on the observing thread"
        );
        let kept = beamline_wire::record::read_all(&bytes.lock().unwrap()[..]).unwrap();
        assert_eq!(
            kept,
            entries(kept.len() as u64),
            "what was kept is whole, in order"
        );
        assert!(kept.len() >= RECORD_BUFFER && kept.len() < n as usize);
    }

    /// A disk with room for `room` bytes, then "no space left".
    struct Full {
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::from_raw_os_error(28));
            }
            let n = b.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Issue 14: on a full disk the recording went on "(recording)" with half the samples. Now
    /// the failure is told once, as a trouble, and observing goes on.
    #[tokio::test(start_paused = true)]
    async fn a_full_disk_is_told_once_and_observing_goes_on() {
        let src = ReplaySource::from_entries("t".into(), entries(20));
        let mut rec = Recorded::with_writer(src, Full { room: 100 }).unwrap();
        let mut seen = drain(&mut rec).await;
        if troubles(&seen).is_empty() {
            // The writer thread may fail after the replay's end: the next call tells it.
            seen.push(rec.next().await.unwrap());
        }
        let msgs = seen
            .iter()
            .filter(|e| matches!(e, SourceEvent::Msg(_)))
            .count();
        assert_eq!(msgs, 20, "observing went on");
        match troubles(&seen)[..] {
            [Trouble::RecordingFailed(why)] => {
                assert!(why.starts_with("recording stopped: "), "{why}");
                assert!(why.contains("No space left on device"), "{why}");
            }
            ref other => panic!("{other:?}"),
        }
        assert!(rec.describe().ends_with("(recording failed)"));
        assert_eq!(rec.close().await, None, "told already");
    }

    /// `--once --record /dev/full`: the one sample is printed before the writer thread fails;
    /// closing waits for it and returns the failure, which `next` had no chance to tell.
    #[cfg(target_os = "linux")]
    #[tokio::test(start_paused = true)]
    async fn dev_full_fails_at_close_when_next_had_no_chance() {
        let src = ReplaySource::from_entries("t".into(), entries(2));
        let mut rec = Recorded::create(src, Path::new("/dev/full")).unwrap();
        rec.next().await;
        rec.next().await;
        match rec.close().await {
            Some(Trouble::RecordingFailed(why)) => {
                assert!(why.contains("No space left on device"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }
}
