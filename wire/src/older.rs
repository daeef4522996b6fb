//! Replies in an older client's encoding. The runtime serves clients from
//! [`crate::MIN_CLIENT_VERSION`] up and answers each in its own version: version 4 added the
//! talkers to [`TypeCounts`], so a version-3 client is sent its per-type counters without them
//! (postcard has no field names or lengths: an extra field would shift every byte after it).

use crate::{ControlReply, FrameError, ServerMsg, TypeCount, TypeCounts, frame};
use serde::Serialize;

/// The first version whose [`TypeCounts`] carries the talkers.
pub const TALKERS_SINCE: u16 = 4;

/// Encode `ServerMsg::Reply { id, reply }` as a complete frame for a client speaking `version`.
pub fn encode_reply(id: u64, reply: ControlReply, version: u16) -> Result<Vec<u8>, FrameError> {
    match reply {
        ControlReply::MessageTypes(counts) if version < TALKERS_SINCE => {
            let counts: Vec<TypeCountsV3<'_>> = counts.iter().map(TypeCountsV3::from).collect();
            // Postcard writes an enum variant as its index (a varint, like a `u32`) followed by
            // its fields, so this tuple is byte for byte `ServerMsg::Reply { id, reply:
            // ControlReply::MessageTypes(..) }` of version 3 (checked in this file's tests).
            frame::encode(&(REPLY_VARIANT, id, MESSAGE_TYPES_VARIANT, counts))
        }
        reply => frame::encode(&ServerMsg::Reply { id, reply }),
    }
}

/// `ServerMsg::Reply`'s index.
const REPLY_VARIANT: u32 = 4;
/// `ControlReply::MessageTypes`'s index.
const MESSAGE_TYPES_VARIANT: u32 = 4;

/// [`TypeCounts`] as version 3 wrote it.
#[derive(Serialize)]
struct TypeCountsV3<'a> {
    pid: crate::Pid,
    at_ms: u64,
    types: &'a [TypeCount],
}

impl<'a> From<&'a TypeCounts> for TypeCountsV3<'a> {
    fn from(c: &'a TypeCounts) -> Self {
        TypeCountsV3 {
            pid: c.pid,
            at_ms: c.at_ms,
            types: &c.types,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MsgKind, Pid, Talker};

    fn counts() -> TypeCounts {
        TypeCounts {
            pid: Pid(7),
            at_ms: 1234,
            types: vec![TypeCount {
                name: "Cmd".into(),
                kind: MsgKind::Cast,
                count: 3,
                busy_ns: 900,
                max_ns: 400,
            }],
            senders: vec![Talker {
                pid: None,
                sampled: 5,
                share: 1.0,
            }],
            receivers: vec![],
            talk_window_ms: 5000,
            talk_every: 32,
        }
    }

    #[test]
    fn a_version_3_client_gets_the_counters_without_the_talkers() {
        let bytes = encode_reply(9, ControlReply::MessageTypes(vec![counts()]), 3).unwrap();
        // The same reply with the talkers emptied, encoded as version 4, minus the talkers'
        // four trailing fields (three zero bytes and `talk_every`'s one) is version 3's frame.
        let mut bare = counts();
        bare.senders.clear();
        bare.talk_window_ms = 0;
        bare.talk_every = 0;
        let v4 = frame::encode(&ServerMsg::Reply {
            id: 9,
            reply: ControlReply::MessageTypes(vec![bare]),
        })
        .unwrap();
        assert_eq!(&v4[..4], &((v4.len() - 4) as u32).to_be_bytes());
        assert_eq!(
            &bytes[4..],
            &v4[4..v4.len() - 4],
            "the body without the last four bytes"
        );
        assert_eq!(&v4[v4.len() - 4..], &[0, 0, 0, 0]);
    }

    #[test]
    fn a_version_4_client_gets_them() {
        let reply = ControlReply::MessageTypes(vec![counts()]);
        let bytes = encode_reply(9, reply.clone(), 4).unwrap();
        let back: ServerMsg = frame::decode_body(&bytes[4..]).unwrap();
        assert_eq!(back, ServerMsg::Reply { id: 9, reply });
    }

    #[test]
    fn other_replies_are_the_same_in_both_versions() {
        let a = encode_reply(1, ControlReply::Logs(vec!["x".into()]), 3).unwrap();
        let b = encode_reply(1, ControlReply::Logs(vec!["x".into()]), 4).unwrap();
        assert_eq!(a, b);
    }
}
