//! The frame decoder on arbitrary bytes, as both sides read them: client messages (what the
//! endpoint reads, capped at 64 KiB) and server messages (what the observer reads). Whatever
//! the bytes, decoding returns a message, "need more" or an error; a message that decodes
//! re-encodes to a frame that decodes to the same message.
#![no_main]

use beamline::endpoint::MAX_CLIENT_FRAME;
use beamline_wire::{ClientMsg, MAX_FRAME_LEN, ServerMsg, frame};
use libfuzzer_sys::fuzz_target;

fn walk<T>(mut buf: &[u8], max: usize)
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    while let Ok(Some((msg, used))) = frame::decode::<T>(buf, max) {
        assert!(used >= 4 && used <= buf.len());
        let again = frame::encode(&msg).expect("a decoded message re-encodes");
        let (back, n) = frame::decode::<T>(&again, MAX_FRAME_LEN)
            .expect("re-encoded frame decodes")
            .expect("re-encoded frame is whole");
        assert_eq!(n, again.len());
        // NaN samples are not equal to themselves; compare their encodings instead.
        assert_eq!(frame::encode(&back).unwrap(), again, "{msg:?}");
        buf = &buf[used..];
    }
}

fuzz_target!(|data: &[u8]| {
    walk::<ClientMsg>(data, MAX_CLIENT_FRAME);
    walk::<ServerMsg>(data, MAX_FRAME_LEN);
    // Bodies without the length prefix, as `decode_body` sees them.
    let _ = frame::decode_body::<ClientMsg>(data);
    let _ = frame::decode_body::<ServerMsg>(data);
});
