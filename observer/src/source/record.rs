//! `--record FILE`: save whatever another source yields, in the format `--replay` reads.
//!
//! Writing happens on a plain thread fed through a bounded channel, so a slow disk never blocks
//! a tokio worker (in embedded mode those are the application's). The thread flushes whenever it
//! has caught up, so a recording cut short by a crash still replays up to its last full entry.

use super::event::{ControlFuture, Playback, Source, SourceEvent};
use beamline_wire::ControlRequest;
use beamline_wire::record::{RecordEntry, RecordError, RecordWriter};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Entries waiting for the writer thread, at most. Beyond that the disk has fallen a minute or
/// more behind (at the default interval) and recording stops rather than hold up observing.
pub const RECORD_BUFFER: usize = 64;

/// A source whose messages are also appended to a recording.
///
/// A write error, or a disk that falls [`RECORD_BUFFER`] entries behind, stops recording
/// (reported by [`Recorded::error`] and in [`Source::describe`]) but never stops observing.
/// [`Source::close`] waits until everything received is written.
pub struct Recorded<S> {
    inner: S,
    entries: Option<mpsc::Sender<RecordEntry>>,
    done: Option<oneshot::Receiver<()>>,
    start: Instant,
    /// Why recording stopped; written by the writer thread or by [`Recorded::save`].
    error: Arc<Mutex<Option<String>>>,
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
        let error = Arc::new(Mutex::new(None));
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
        })
    }

    /// Why recording stopped, if it did.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
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
}

/// Keep the first reason recording stopped.
fn set(slot: &Mutex<Option<String>>, why: String) {
    if let Ok(mut e) = slot.lock() {
        e.get_or_insert(why);
    }
}

impl<S: Source> Source for Recorded<S> {
    async fn next(&mut self) -> Option<SourceEvent> {
        let ev = self.inner.next().await?;
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
    /// and flushed everything received.
    async fn close(&mut self) {
        self.entries = None;
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
        self.inner.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ReplaySource;
    use beamline_wire::{ServerMsg, record::RecordEntry};
    use std::sync::mpsc as std_mpsc;
    use std::thread::ThreadId;

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
        while rec.next().await.is_some() {}
        rec.close().await;
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
        let mut seen = 0;
        while rec.next().await.is_some() {
            seen += 1;
        }
        assert_eq!(seen, n + 2, "all observed: Connected, every message, Ended");
        let err = rec.error().expect("recording stopped");
        assert!(err.contains("fell 64 entries behind"), "{err}");
        assert!(rec.describe().ends_with("(recording failed)"));
        open.send(()).unwrap();
        rec.close().await;
        // The format's header is written by the caller; every entry by the writer thread.
        let here = std::thread::current().id();
        let threads: Vec<ThreadId> = writers.try_iter().collect();
        assert_eq!(threads[0], here);
        assert!(threads.len() > 2, "entries were written");
        assert!(
            threads[2..].iter().all(|t| *t != here),
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
}
