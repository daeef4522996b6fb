//! `--record FILE`: save whatever another source yields, in the format `--replay` reads.

use super::{ControlFuture, Playback, Source, SourceEvent};
use beamline_wire::ControlRequest;
use beamline_wire::record::{RecordEntry, RecordError, RecordWriter};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use tokio::time::Instant;

/// A source whose messages are also appended to a recording.
///
/// Each entry is flushed as it is written, so a recording cut short by a crash still replays up
/// to its last full entry. A write error stops recording (reported by [`Recorded::error`]) but
/// never stops observing.
pub struct Recorded<S> {
    inner: S,
    writer: Option<RecordWriter<BufWriter<File>>>,
    start: Instant,
    error: Option<String>,
}

impl<S: Source> Recorded<S> {
    /// Create (or truncate) `path` and record `inner` into it.
    pub fn create(inner: S, path: &Path) -> Result<Self, RecordError> {
        let writer = RecordWriter::new(BufWriter::new(File::create(path)?))?;
        Ok(Recorded {
            inner,
            writer: Some(writer),
            start: Instant::now(),
            error: None,
        })
    }

    /// Why recording stopped, if it did.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    fn save(&mut self, ev: &SourceEvent) {
        let (SourceEvent::Msg(msg), Some(w)) = (ev, self.writer.as_mut()) else {
            return;
        };
        let entry = RecordEntry {
            offset_ms: self.start.elapsed().as_millis() as u64,
            msg: msg.clone(),
        };
        if let Err(e) = w.append(&entry).and_then(|()| w.flush()) {
            self.error = Some(format!("recording stopped: {e}"));
            self.writer = None;
        }
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
        match &self.error {
            Some(_) => format!("{} (recording failed)", self.inner.describe()),
            None => format!("{} (recording)", self.inner.describe()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ReplaySource;
    use beamline_wire::{ServerMsg, record::RecordEntry};

    #[tokio::test(start_paused = true)]
    async fn recording_a_source_replays_the_same_messages() {
        let msgs: Vec<RecordEntry> = (0..3)
            .map(|i| RecordEntry {
                offset_ms: i * 500,
                msg: ServerMsg::Refused(format!("m{i}")),
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("observer-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.rec");
        let src = ReplaySource::from_entries("t".into(), msgs.clone());
        let mut rec = Recorded::create(src, &path).unwrap();
        while rec.next().await.is_some() {}
        let back = beamline_wire::record::read_all(File::open(&path).unwrap()).unwrap();
        assert_eq!(back, msgs);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
