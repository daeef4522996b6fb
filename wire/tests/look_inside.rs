//! The issue 19 additions to the protocol (versions 3 and 4) survive a frame round trip, and their
//! variant numbers sit after every older one (postcard is positional: older variants keep
//! their bytes).

use beamline_wire::{
    ClientMsg, ControlReply, ControlRequest, MsgKind, Pid, QueuePeek, QueuedMessage, Role,
    ServerMsg, Talker, TypeCount, TypeCounts, frame,
};

fn round_trip<T>(msg: &T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let bytes = frame::encode(msg).unwrap();
    let (back, used): (T, usize) = frame::decode(&bytes, usize::MAX).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    back
}

#[test]
fn message_types_and_queue_peek_round_trip() {
    for request in [
        ControlRequest::MessageTypes {
            pids: vec![Pid(9), Pid(10)],
        },
        ControlRequest::PeekQueue { pid: Pid(9), n: 16 },
    ] {
        let msg = ClientMsg::Control { id: 7, request };
        assert_eq!(round_trip(&msg), msg);
    }
    let types = ControlReply::MessageTypes(vec![TypeCounts {
        pid: Pid(9),
        at_ms: 1_234,
        types: vec![TypeCount {
            name: "Cmd::Deposit".into(),
            kind: MsgKind::Cast,
            count: 400,
            busy_ns: 800_000,
            max_ns: 3_000,
        }],
        senders: vec![Talker {
            pid: Some(Pid(4)),
            sampled: 12,
            share: 0.75,
        }],
        receivers: vec![Talker {
            pid: None,
            sampled: 1,
            share: 1.0,
        }],
        talk_window_ms: 7_500,
        talk_every: 32,
    }]);
    let queue = ControlReply::Queue(QueuePeek {
        at_ms: 1_300,
        in_batch: 12,
        queued: 1_188,
        messages: vec![QueuedMessage {
            name: "Cmd#1".into(),
            kind: MsgKind::Call,
            bytes: 48,
            age_us: Some(840_000),
            age_exact: false,
            text: Some("Flush".into()),
        }],
    });
    for reply in [types, queue] {
        let msg = ServerMsg::Reply { id: 7, reply };
        assert_eq!(round_trip(&msg), msg);
    }
}

#[test]
fn new_variants_come_after_the_old_ones() {
    // `Control { id: 1, request }`: ClientMsg variant 1, id 1, then the request's variant.
    let variant = |request| frame::encode(&ClientMsg::Control { id: 1, request }).unwrap()[4 + 2];
    assert_eq!(variant(ControlRequest::Logs { pid: Pid(1) }), 4);
    assert_eq!(variant(ControlRequest::MessageTypes { pids: vec![] }), 5);
    assert_eq!(variant(ControlRequest::PeekQueue { pid: Pid(1), n: 1 }), 6);
    let reply = |reply| frame::encode(&ServerMsg::Reply { id: 1, reply }).unwrap()[4 + 2];
    assert_eq!(reply(ControlReply::Error(String::new())), 3);
    assert_eq!(reply(ControlReply::MessageTypes(vec![])), 4);
    assert_eq!(reply(ControlReply::Queue(QueuePeek::default())), 5);
}

#[test]
fn an_observe_connection_may_look_inside() {
    for request in [
        ControlRequest::MessageTypes { pids: vec![] },
        ControlRequest::PeekQueue { pid: Pid(1), n: 1 },
    ] {
        assert!(Role::Observe.allows(&request));
    }
}
