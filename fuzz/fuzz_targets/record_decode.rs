//! The recording reader (`beamline_wire::record::parse`, what `observer --replay` runs) on
//! arbitrary bytes. Whatever the file, it never panics; it either refuses the file with a reason
//! or reads entries up to a damage report that points inside the file; the part before the
//! damage reads again on its own, whole and undamaged; and the entries it read, written again,
//! read back the same.
#![no_main]

use beamline_wire::record::{RecordWriter, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rec) = parse(data) else { return };
    if let Some(d) = &rec.damage {
        assert!((d.at_byte as usize) < data.len());
        assert_eq!(d.file_len as usize, data.len());
        assert_eq!(d.entries_read, rec.entries.len());
        let good = parse(&data[..d.at_byte as usize]).expect("the good part still parses");
        assert_eq!(good.damage, None);
        assert_eq!(good.entries.len(), rec.entries.len());
    }
    let mut w = RecordWriter::new(Vec::new()).unwrap();
    for e in &rec.entries {
        w.append(e).expect("a decoded entry re-encodes");
    }
    let bytes = w.into_inner();
    let again = parse(&bytes).expect("a written recording parses");
    assert_eq!(again.damage, None);
    // NaN samples are not equal to themselves; compare what they write instead.
    let mut w2 = RecordWriter::new(Vec::new()).unwrap();
    for e in &again.entries {
        w2.append(e).unwrap();
    }
    assert_eq!(w2.into_inner(), bytes);
});
