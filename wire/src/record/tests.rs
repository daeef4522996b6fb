use super::*;
use crate::ControlReply;

fn entries() -> Vec<RecordEntry> {
    (0..3)
        .map(|i| RecordEntry {
            offset_ms: i * 1000,
            msg: if i == 1 {
                ServerMsg::Refused(format!("entry {i}"))
            } else {
                ServerMsg::Reply {
                    id: i,
                    reply: ControlReply::Ok,
                }
            },
        })
        .collect()
}

/// A version 4 file and the byte offset where each entry starts (plus the end).
fn file() -> (Vec<u8>, Vec<usize>) {
    let mut w = RecordWriter::new(Vec::new()).unwrap();
    let mut bounds = vec![HEADER_LEN];
    for e in &entries() {
        w.append(e).unwrap();
        bounds.push(w.out.len());
    }
    (w.into_inner(), bounds)
}

fn damage(bytes: &[u8]) -> (Vec<RecordEntry>, Damage) {
    let rec = parse(bytes).unwrap();
    (rec.entries, rec.damage.expect("damage reported"))
}

#[test]
fn round_trip_with_header_and_checksums() {
    let (bytes, bounds) = file();
    assert_eq!(&bytes[..8], MAGIC);
    assert_eq!(&bytes[8..10], &[0, 4]);
    assert_eq!(&bytes[10..14], &V4_MARKER);
    assert_eq!(*bounds.last().unwrap(), bytes.len());
    let rec = read(&bytes[..]).unwrap();
    assert_eq!(rec.version, 4);
    assert_eq!(rec.entries, entries());
    assert_eq!(rec.damage, None);
    assert_eq!(read_all(&bytes[..]).unwrap(), entries());
}

#[test]
fn version_1_recordings_still_replay_and_report_a_cut_tail() {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&1u16.to_be_bytes());
    for e in &entries() {
        bytes.extend_from_slice(&frame::encode(e).unwrap());
    }
    let rec = parse(&bytes).unwrap();
    assert_eq!(
        (rec.version, &rec.entries, &rec.damage),
        (1, &entries(), &None)
    );
    bytes.truncate(bytes.len() - 2);
    let (good, d) = damage(&bytes);
    assert_eq!(good, entries()[..2]);
    assert!(matches!(d.kind, DamageKind::PastTheEnd { .. }), "{d:?}");
}

#[test]
fn a_header_cut_short_is_truncated_not_bad_magic() {
    for len in [0, 4, 8, 9, 10, 13] {
        let (bytes, _) = file();
        let err = parse(&bytes[..len]).unwrap_err();
        assert!(
            matches!(err, RecordError::Truncated { len: l, header: HEADER_LEN } if l == len),
            "{len}: {err:?}"
        );
        assert!(err.to_string().starts_with("truncated recording"), "{err}");
    }
    assert_eq!(
        parse(MAGIC).unwrap_err().to_string(),
        "truncated recording: the file ends after 8 of its header's 14 bytes, before any entry"
    );
}

#[test]
fn foreign_files_and_other_versions_are_clear_errors() {
    assert!(matches!(
        parse(b"hello world, not a recording"),
        Err(RecordError::BadMagic)
    ));
    assert!(matches!(parse(b"GET / HTTP"), Err(RecordError::BadMagic)));
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&99u16.to_be_bytes());
    assert_eq!(
        parse(&bytes).unwrap_err().to_string(),
        "recording format version 99 is not supported (this build reads versions 1 to 4)"
    );
}

/// Cut anywhere (a crash while writing, a copy that stopped): every whole entry before the cut
/// is read, and the cut is reported unless it falls exactly between two entries.
#[test]
fn a_cut_anywhere_keeps_every_whole_entry_and_says_where() {
    let (bytes, bounds) = file();
    for cut in HEADER_LEN..=bytes.len() {
        let rec = parse(&bytes[..cut]).unwrap();
        let whole = bounds.iter().filter(|b| **b <= cut).count() - 1;
        assert_eq!(rec.entries, entries()[..whole], "cut at {cut}");
        match rec.damage {
            None => assert!(bounds.contains(&cut), "cut at {cut} went unnoticed"),
            Some(d) => {
                assert_eq!(d.at_byte as usize, bounds[whole], "cut at {cut}");
                assert_eq!((d.entries_read, d.file_len as usize), (whole, cut));
                assert!(matches!(
                    d.kind,
                    DamageKind::CutHeader | DamageKind::PastTheEnd { .. }
                ));
            }
        }
    }
}

#[test]
fn a_length_past_the_end_or_above_the_limit_is_named() {
    let (mut bytes, bounds) = file();
    let second = bounds[1];
    let left = bytes.len() - second - ENTRY_HEADER_LEN;
    bytes[second..second + 4].copy_from_slice(&(left as u32 + 1).to_be_bytes());
    let (good, d) = damage(&bytes);
    assert_eq!(good, entries()[..1]);
    assert_eq!(
        d.kind,
        DamageKind::PastTheEnd {
            announced: left + 1,
            left
        }
    );
    assert_eq!(
        d.to_string(),
        format!(
            "damaged recording: entry 2 at byte {second} of {}: it announces {} bytes but only \
             {left} are left (cut off, or a damaged length); read 1 entries (0.0 s) before it",
            bytes.len(),
            left + 1
        )
    );
    bytes[second..second + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    let (_, d) = damage(&bytes);
    assert_eq!(
        d.kind,
        DamageKind::TooLong {
            announced: u32::MAX as usize
        }
    );
    assert!(matches!(
        read_all(&bytes[..]),
        Err(RecordError::Damaged(Damage {
            entries_read: 1,
            ..
        }))
    ));
}

/// Every one-byte change anywhere in the file, to every other value, is found: the read fails
/// with a reason, or stops with a damage report after entries that are all unchanged.
#[test]
fn every_changed_byte_is_detected() {
    let (bytes, bounds) = file();
    for pos in 0..bytes.len() {
        for x in 1..=255u8 {
            let mut b = bytes.clone();
            b[pos] ^= x;
            let rec = match parse(&b) {
                Err(_) => continue,
                Ok(rec) => rec,
            };
            let d = rec
                .damage
                .unwrap_or_else(|| panic!("byte {pos} ^ {x:#04x} went unnoticed"));
            assert_eq!(rec.entries, entries()[..rec.entries.len()], "byte {pos}");
            assert!(d.at_byte as usize <= pos.max(HEADER_LEN), "byte {pos}");
            assert!(bounds.contains(&(d.at_byte as usize)) || pos < HEADER_LEN);
        }
    }
}

#[test]
fn a_version_damaged_into_1_is_found_at_once() {
    let (mut bytes, _) = file();
    bytes[9] = 1;
    let (good, d) = damage(&bytes);
    assert!(good.is_empty());
    assert_eq!(
        (d.at_byte, &d.kind),
        (
            V1_HEADER_LEN as u64,
            &DamageKind::TooLong {
                announced: u32::MAX as usize - 2
            }
        )
    );
}
