//! Recordings: a stream of [`ServerMsg`]s written to a file with the time each arrived, so the
//! observer can replay a session later, pause it, step and seek.
//!
//! Layout (versions 2 to 4): the 8-byte magic `BEAMREC\0`, a big-endian `u16` format version, the
//! four bytes `FF FF FF FF` (version 2, [`V2_MARKER`]), `FF FF FF FE` (version 3,
//! [`V3_MARKER`]) or `FF FF FF FD` (version 4, [`V4_MARKER`]), then entries, each a big-endian `u32` body length, a big-endian `u32` CRC-32 of the length's four
//! bytes and the body, and the body: one [`RecordEntry`] in postcard. The checksum is what lets a
//! reader tell a damaged entry from a good one: CRC-32 catches every error within 32
//! consecutive bits, so any one flipped byte is found. Version 3 has version 2's layout with
//! entries in protocol version 3 (compact rates), version 4 entries in protocol version 4
//! (samples end in their hot type, [`crate::ServerMsg::TypeNames`] may appear); version 3
//! files, version 2 files and version 1 files (entries
//! as plain [`crate::frame`]s, no checksum), whose samples carry plain eight-byte floats, are
//! still read.
//!
//! Reading stops at the first damage; [`read`] hands back every entry before it together with
//! a [`Damage`] report saying where it is and what was read, so a replay can still show the
//! good part.

use crate::ServerMsg;
use crate::compact::{as_protocol, with_fixed_floats};
use crate::frame::{self, FrameError, MAX_FRAME_LEN};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{Read, Write};

/// Identifies a Beamline recording.
pub const MAGIC: &[u8; 8] = b"BEAMREC\0";
/// The version this build writes. Bumped when the layout or [`RecordEntry`] changes.
pub const RECORD_VERSION: u16 = 4;
/// The oldest version this build still reads.
pub const OLDEST_READABLE: u16 = 1;
/// After the version in a version 2 header. Read as a version 1 entry it would announce 4 GiB,
/// which no version 1 reader accepts: a version byte damaged from 2 into 1 is therefore found at
/// once instead of turning the checksums off.
pub const V2_MARKER: [u8; 4] = [0xff; 4];
/// After the version in a version 3 header: like [`V2_MARKER`], and different from it so that a
/// version byte damaged from 3 into 2 (same layout, but floats read the old way) is found at
/// once as well.
pub const V3_MARKER: [u8; 4] = [0xff, 0xff, 0xff, 0xfe];
/// After the version in a version 4 header, different from the older markers so that a
/// damaged version byte is found at once.
pub const V4_MARKER: [u8; 4] = [0xff, 0xff, 0xff, 0xfd];
/// Magic plus version: the whole header of version 1.
pub const V1_HEADER_LEN: usize = MAGIC.len() + 2;
/// Magic, version and marker: the whole header of versions 2 to 4.
pub const HEADER_LEN: usize = V1_HEADER_LEN + V2_MARKER.len();
/// Length and checksum in front of each version 2 or 3 entry.
pub const ENTRY_HEADER_LEN: usize = 8;

/// One recorded message and when it was received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordEntry {
    /// Milliseconds since the recording started.
    pub offset_ms: u64,
    /// What was received.
    pub msg: ServerMsg,
}

/// Why a recording could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not a recording at all.
    #[error("not a Beamline recording (bad magic bytes)")]
    BadMagic,
    /// The file ends inside the header: a recording cut off before its first entry.
    #[error(
        "truncated recording: the file ends after {len} of its header's {header} bytes, before any entry"
    )]
    Truncated {
        /// The file's length.
        len: usize,
        /// The header's length.
        header: usize,
    },
    /// A recording from another format version.
    #[error(
        "recording format version {found} is not supported (this build reads versions {OLDEST_READABLE} to {RECORD_VERSION})"
    )]
    Version {
        /// The file's version.
        found: u16,
    },
    /// Damage somewhere after the header (only from [`read_all`], which wants every entry).
    #[error("{0}")]
    Damaged(Damage),
    /// An entry could not be encoded.
    #[error("cannot encode entry: {0}")]
    Frame(#[from] FrameError),
    /// The file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What is wrong with the first unreadable entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DamageKind {
    /// The file ends inside the entry's length and checksum: cut off while writing.
    CutHeader,
    /// The entry announces more bytes than the file has left: cut off while writing, or a
    /// damaged length.
    PastTheEnd {
        /// Bytes the entry announced.
        announced: usize,
        /// Bytes left in the file after the entry's header.
        left: usize,
    },
    /// The announced length is above [`MAX_FRAME_LEN`]: the length is damaged.
    TooLong {
        /// Bytes the entry announced.
        announced: usize,
    },
    /// The entry's bytes do not match its checksum.
    Checksum,
    /// The bytes are not a [`RecordEntry`] (a version 1 file, which has no checksum, or a
    /// writer bug).
    Malformed(String),
}

/// Where a recording is damaged and how much of it was read before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset of the first unreadable entry.
    pub at_byte: u64,
    /// Length of the file.
    pub file_len: u64,
    /// Entries read whole before it.
    pub entries_read: usize,
    /// Recording time of the last good entry, milliseconds.
    pub read_ms: u64,
    /// What is wrong.
    pub kind: DamageKind,
}

impl fmt::Display for DamageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DamageKind::CutHeader => f.write_str("the file ends inside its length and checksum"),
            DamageKind::PastTheEnd { announced, left } => write!(
                f,
                "it announces {announced} bytes but only {left} are left (cut off, or a damaged length)"
            ),
            DamageKind::TooLong { announced } => write!(
                f,
                "it announces {announced} bytes, above the limit of {MAX_FRAME_LEN} (a damaged length)"
            ),
            DamageKind::Checksum => f.write_str("its checksum does not match (damaged bytes)"),
            DamageKind::Malformed(why) => write!(f, "it does not decode ({why})"),
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "damaged recording: entry {} at byte {} of {}: {}; read {} entries ({:.1} s) before it",
            self.entries_read + 1,
            self.at_byte,
            self.file_len,
            self.kind,
            self.entries_read,
            self.read_ms as f64 / 1000.0,
        )
    }
}

/// A recording as read: every good entry, and the damage that stopped reading, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    /// The file's format version.
    pub version: u16,
    /// Entries read whole, in order.
    pub entries: Vec<RecordEntry>,
    /// Why reading stopped before the end of the file; `None` when every byte was read.
    pub damage: Option<Damage>,
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
        out.write_all(&V4_MARKER)?;
        Ok(RecordWriter { out })
    }

    /// Append one entry.
    pub fn append(&mut self, entry: &RecordEntry) -> Result<(), RecordError> {
        self.out.write_all(&encode_entry(entry)?)?;
        Ok(())
    }

    /// Append one entry already encoded by [`encode_entry`] (a writer that sized its entries
    /// before choosing which to write encodes each once).
    pub fn append_encoded(&mut self, encoded: &[u8]) -> Result<(), RecordError> {
        self.out.write_all(encoded)?;
        Ok(())
    }

    /// Flush buffered entries to the file.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.out.flush()?;
        Ok(())
    }

    /// The writer underneath (tests look at what was written).
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// One version 2 entry: length, checksum, body.
pub fn encode_entry(entry: &RecordEntry) -> Result<Vec<u8>, FrameError> {
    let mut out = vec![0u8; ENTRY_HEADER_LEN];
    out = postcard::to_extend(entry, out)?;
    let len = out.len() - ENTRY_HEADER_LEN;
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    let crc = checksum(&out[..4], &out[ENTRY_HEADER_LEN..]);
    out[4..8].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}

fn checksum(len: &[u8], body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len);
    h.update(body);
    h.finalize()
}

/// Read a recording: every entry up to the first damage, and where that damage is.
///
/// `Err` only when nothing can be read at all: not a recording, a header cut short, a version
/// this build does not read, or an I/O error.
pub fn read(mut input: impl Read) -> Result<Recording, RecordError> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    parse(&bytes)
}

/// Read a whole recording, refusing any damage (tests and tools that want all or nothing).
pub fn read_all(input: impl Read) -> Result<Vec<RecordEntry>, RecordError> {
    let rec = read(input)?;
    match rec.damage {
        Some(d) => Err(RecordError::Damaged(d)),
        None => Ok(rec.entries),
    }
}

/// [`read`] on bytes already in memory.
pub fn parse(bytes: &[u8]) -> Result<Recording, RecordError> {
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] != MAGIC[..n] {
        return Err(RecordError::BadMagic);
    }
    let truncated = |header| RecordError::Truncated {
        len: bytes.len(),
        header,
    };
    if bytes.len() < V1_HEADER_LEN {
        // Cut before the version says how long the header is: name the current one.
        return Err(truncated(HEADER_LEN));
    }
    let version = u16::from_be_bytes([bytes[8], bytes[9]]);
    let (step, start): (Step, usize) = match version {
        // Before format 4, samples have no hot type.
        1 => (
            |b| as_protocol(3, || with_fixed_floats(|| step_v1(b))),
            V1_HEADER_LEN,
        ),
        2..=4 if bytes.len() < HEADER_LEN => return Err(truncated(HEADER_LEN)),
        2 if bytes[V1_HEADER_LEN..HEADER_LEN] != V2_MARKER => return Err(RecordError::BadMagic),
        3 if bytes[V1_HEADER_LEN..HEADER_LEN] != V3_MARKER => return Err(RecordError::BadMagic),
        4 if bytes[V1_HEADER_LEN..HEADER_LEN] != V4_MARKER => return Err(RecordError::BadMagic),
        2 => (
            |b| as_protocol(3, || with_fixed_floats(|| step_v2(b))),
            HEADER_LEN,
        ),
        3 => (|b| as_protocol(3, || step_v2(b)), HEADER_LEN),
        4 => (step_v2, HEADER_LEN),
        found => return Err(RecordError::Version { found }),
    };
    let mut entries: Vec<RecordEntry> = Vec::new();
    let mut at = start;
    let damage = loop {
        if at == bytes.len() {
            break None;
        }
        match step(&bytes[at..]) {
            Ok((entry, used)) => {
                entries.push(entry);
                at += used;
            }
            Err(kind) => {
                break Some(Damage {
                    at_byte: at as u64,
                    file_len: bytes.len() as u64,
                    entries_read: entries.len(),
                    read_ms: entries.last().map_or(0, |e| e.offset_ms),
                    kind,
                });
            }
        }
    };
    Ok(Recording {
        version,
        entries,
        damage,
    })
}

/// Reads one entry off the front of a non-empty buffer: the entry and the bytes it took.
type Step = fn(&[u8]) -> Result<(RecordEntry, usize), DamageKind>;

/// One version 2 entry off the front of `buf` (not empty).
fn step_v2(buf: &[u8]) -> Result<(RecordEntry, usize), DamageKind> {
    if buf.len() < ENTRY_HEADER_LEN {
        return Err(DamageKind::CutHeader);
    }
    let announced = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if announced > MAX_FRAME_LEN {
        return Err(DamageKind::TooLong { announced });
    }
    let left = buf.len() - ENTRY_HEADER_LEN;
    if announced > left {
        return Err(DamageKind::PastTheEnd { announced, left });
    }
    let body = &buf[ENTRY_HEADER_LEN..ENTRY_HEADER_LEN + announced];
    let crc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if checksum(&buf[..4], body) != crc {
        return Err(DamageKind::Checksum);
    }
    match postcard::take_from_bytes::<RecordEntry>(body) {
        Ok((entry, [])) => Ok((entry, ENTRY_HEADER_LEN + announced)),
        Ok((_, rest)) => Err(DamageKind::Malformed(format!(
            "{} bytes after the entry",
            rest.len()
        ))),
        Err(e) => Err(DamageKind::Malformed(e.to_string())),
    }
}

/// One version 1 entry (a plain frame) off the front of `buf` (not empty).
fn step_v1(buf: &[u8]) -> Result<(RecordEntry, usize), DamageKind> {
    if buf.len() < 4 {
        return Err(DamageKind::CutHeader);
    }
    match frame::decode::<RecordEntry>(buf, MAX_FRAME_LEN) {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(DamageKind::PastTheEnd {
            announced: u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize,
            left: buf.len() - 4,
        }),
        Err(FrameError::TooLarge { len, .. }) => Err(DamageKind::TooLong { announced: len }),
        Err(e) => Err(DamageKind::Malformed(e.to_string())),
    }
}

pub mod history;

#[cfg(test)]
mod tests;
