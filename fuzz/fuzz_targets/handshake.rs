//! The endpoint's handshake on the first bytes a client sends: exactly the decision a
//! connection makes (`beamline::endpoint::handshake`), for an endpoint with and without a
//! token. It must never panic, never accept a wrong version or token, and say why it refuses
//! (`beamline::endpoint::Refusal`, whose text is what the client is sent).
#![no_main]

use beamline::endpoint::handshake;
use beamline_wire::PROTOCOL_VERSION;
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "s3cret";

fuzz_target!(|data: &[u8]| {
    for token in [None, Some(TOKEN)] {
        match handshake(data, token) {
            None => assert!(
                data.len() < 4
                    || data.len() < 4 + u32::from_be_bytes(data[..4].try_into().unwrap()) as usize
            ),
            Some(Ok(hello)) => {
                assert_eq!(hello.version, PROTOCOL_VERSION);
                if let Some(t) = token {
                    assert_eq!(hello.token.as_deref(), Some(t));
                }
            }
            Some(Err(why)) => assert!(!why.to_string().is_empty()),
        }
    }
});
