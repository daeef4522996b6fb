//! Recordings: a stream of [`ServerMsg`]s written to a file with the time each arrived, so the
//! observer can replay a session later, pause it, step and seek.
//!
//! Layout: the 8-byte magic `BEAMREC\0`, a big-endian `u16` format version, then frames (see
//! [`crate::frame`]) each holding one [`RecordEntry`].

use crate::ServerMsg;
use crate::frame::{self, FrameError, MAX_FRAME_LEN};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// Identifies a Beamline recording.
pub const MAGIC: &[u8; 8] = b"BEAMREC\0";
/// Bumped when the layout or [`RecordEntry`] changes (2: the `Welcome` gained its role).
pub const RECORD_VERSION: u16 = 2;

/// One recorded message and when it was received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordEntry {
    /// Milliseconds since the recording started.
    pub offset_ms: u64,
    /// What was received.
    pub msg: ServerMsg,
}

/// Why a recording could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not a recording at all.
    #[error("not a Beamline recording (bad magic bytes)")]
    BadMagic,
    /// A recording from another format version.
    #[error(
        "recording format version {found} is not supported (this build reads version {RECORD_VERSION})"
    )]
    Version {
        /// The file's version.
        found: u16,
    },
    /// A damaged frame.
    #[error("damaged recording: {0}")]
    Frame(#[from] FrameError),
    /// The file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Writes a recording incrementally.
pub struct RecordWriter<W: Write> {
    out: W,
}

impl<W: Write> RecordWriter<W> {
    /// Start a recording: writes the header.
    pub fn new(mut out: W) -> Result<Self, RecordError> {
        out.write_all(MAGIC)?;
        out.write_all(&RECORD_VERSION.to_be_bytes())?;
        Ok(RecordWriter { out })
    }

    /// Append one entry.
    pub fn append(&mut self, entry: &RecordEntry) -> Result<(), RecordError> {
        self.out.write_all(&frame::encode(entry)?)?;
        Ok(())
    }

    /// Flush buffered entries to the file.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.out.flush()?;
        Ok(())
    }
}

/// Read a whole recording. A truncated last entry (a recording cut off by a crash) is ignored.
pub fn read_all(mut input: impl Read) -> Result<Vec<RecordEntry>, RecordError> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    if bytes.len() < 10 || &bytes[..8] != MAGIC {
        return Err(RecordError::BadMagic);
    }
    let found = u16::from_be_bytes([bytes[8], bytes[9]]);
    if found != RECORD_VERSION {
        return Err(RecordError::Version { found });
    }
    let mut rest = &bytes[10..];
    let mut entries = Vec::new();
    while let Some((entry, used)) = frame::decode::<RecordEntry>(rest, MAX_FRAME_LEN)? {
        entries.push(entry);
        rest = &rest[used..];
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ControlReply;

    #[test]
    fn round_trip_and_truncated_tail() {
        let mut w = RecordWriter::new(Vec::new()).unwrap();
        let entries: Vec<RecordEntry> = (0..3)
            .map(|i| RecordEntry {
                offset_ms: i * 100,
                msg: ServerMsg::Reply {
                    id: i,
                    reply: ControlReply::Ok,
                },
            })
            .collect();
        for e in &entries {
            w.append(e).unwrap();
        }
        let mut bytes = w.out;
        assert_eq!(read_all(&bytes[..]).unwrap(), entries);
        bytes.truncate(bytes.len() - 2);
        assert_eq!(read_all(&bytes[..]).unwrap(), entries[..2]);
    }

    #[test]
    fn wrong_magic_and_version_are_clear_errors() {
        assert!(matches!(
            read_all(&b"hello world"[..]),
            Err(RecordError::BadMagic)
        ));
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&99u16.to_be_bytes());
        let err = read_all(&bytes[..]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "recording format version 99 is not supported (this build reads version 2)"
        );
    }
}
