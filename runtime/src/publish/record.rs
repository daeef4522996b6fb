//! Recording a sample stream to a file that the observer can replay (`observer --replay FILE`).
//!
//! The file uses `beamline_wire::record`'s versioned format. Writing happens on a plain thread,
//! fed through a bounded channel, so a slow disk never blocks a tokio worker; if the disk falls
//! behind, the recording's subscription skips ahead like any slow subscriber (the recording then
//! holds a fresh snapshot after the gap).

use super::observe::Observation;
use beamline_wire::ServerMsg;
use beamline_wire::record::{RecordEntry, RecordError, RecordWriter};
use std::path::Path;
use tokio::sync::{mpsc, oneshot};

/// Entries waiting for the writer thread, at most.
pub const RECORD_BUFFER: usize = 64;

/// A recording in progress. [`Recording::stop`] finishes it; dropping it also stops it (the
/// writer thread flushes what it has).
#[derive(Debug)]
pub struct Recording {
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<Result<u64, RecordError>>>,
}

impl Recording {
    pub(crate) fn start(mut obs: Observation, path: &Path) -> std::io::Result<Recording> {
        let file = std::fs::File::create(path)?;
        let mut writer = RecordWriter::new(std::io::BufWriter::new(file)).map_err(to_io)?;
        let (tx, mut rx) = mpsc::channel::<RecordEntry>(RECORD_BUFFER);
        let (stop_tx, mut stop_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        // The thread logs where its caller logs: a write error is never silent.
        let logs = tracing::dispatcher::get_default(|d| d.clone());
        let shown = path.display().to_string();
        std::thread::Builder::new()
            .name("beamline-record".into())
            .spawn(move || {
                let _logs = tracing::dispatcher::set_default(&logs);
                let mut written = 0u64;
                let result = (|| {
                    while let Some(entry) = rx.blocking_recv() {
                        let end_of_tick =
                            !matches!(entry.msg, ServerMsg::Snapshot(_)) && rx.is_empty();
                        writer.append(&entry)?;
                        written += 1;
                        if end_of_tick {
                            writer.flush()?;
                        }
                    }
                    writer.flush()?;
                    Ok(written)
                })();
                if let Err(e) = &result {
                    tracing::error!(path = %shown, error = %e, entries = written, "recording stopped: the file cannot be written");
                }
                let _ = done_tx.send(result);
            })?;
        let started = tokio::time::Instant::now();
        tokio::spawn(async move {
            loop {
                let msg = tokio::select! {
                    _ = &mut stop_rx => break,
                    m = obs.recv() => match m {
                        Some(m) => m,
                        None => break,
                    },
                };
                let entry = RecordEntry {
                    offset_ms: started.elapsed().as_millis() as u64,
                    msg,
                };
                if tx.send(entry).await.is_err() {
                    break;
                }
            }
        });
        Ok(Recording {
            stop: Some(stop_tx),
            done: Some(done_rx),
        })
    }

    /// Stop recording, wait until everything received so far is written, and return how many
    /// entries the file holds; or the write error that stopped the recording early (which was
    /// also logged at error level when it happened).
    ///
    /// Cancel safety: if the future is dropped, the recording still stops and the writer still
    /// flushes; only the count is lost.
    pub async fn stop(mut self) -> Result<u64, RecordError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.done.take() {
            Some(done) => done.await.unwrap_or(Ok(0)),
            None => Ok(0),
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn to_io(e: RecordError) -> std::io::Error {
    match e {
        RecordError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}
