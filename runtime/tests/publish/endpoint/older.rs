//! Issue 19, version 4: the talkers added to `TypeCounts` reach a version-4 observer, and a
//! version-3 observer is answered in version 3's encoding (decoded here with version 3's own
//! types, every byte consumed).

use super::{attach, hello, read, serve_tcp};
use crate::support::*;
use beamline::wire::{
    ClientMsg, ControlReply, ControlRequest, MsgKind, Pid, ServerMsg, TypeCount, frame,
};
use serde::Deserialize;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Casts from outside any process: about one in 32 is noted, as sent from outside.
async fn worker_with_outside_senders(rt: &beamline::Runtime) -> Pid {
    let w = rt.start::<Worker>(()).await.unwrap();
    for _ in 0..64 {
        w.cast(Work::Busy(Duration::ZERO)).await.unwrap();
    }
    w.call(()).await.unwrap();
    w.pid()
}

fn ask(pid: Pid) -> ClientMsg {
    ClientMsg::Control {
        id: 7,
        request: ControlRequest::MessageTypes { pids: vec![pid] },
    }
}

#[tokio::test]
async fn a_version_4_observer_gets_who_talks_to_a_process() {
    let rt = runtime(100);
    let pid = worker_with_outside_senders(&rt).await;
    let ep = serve_tcp(&rt);
    let mut s = attach(&ep).await;
    frame::write(&mut s, &ask(pid)).await.unwrap();
    let counts = loop {
        if let ServerMsg::Reply {
            id: 7,
            reply: ControlReply::MessageTypes(c),
        } = read(&mut s).await.expect("open")
        {
            break c;
        }
    };
    let senders = &counts[0].senders;
    assert_eq!(senders.len(), 1, "{senders:?}");
    assert_eq!(senders[0].pid, None, "sent from outside any process");
    assert_eq!(
        senders[0].sampled, 2,
        "64 casts and a call, one in 32 noted"
    );
    assert_eq!(counts[0].talk_every, 32);
}

/// `TypeCounts` as version 3 wrote it.
#[derive(Debug, Deserialize)]
struct TypeCountsV3 {
    pid: Pid,
    #[allow(dead_code)]
    at_ms: u64,
    types: Vec<TypeCount>,
}

/// `ControlReply` of version 3, as far as `MessageTypes`.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
enum ReplyV3 {
    Ok,
    State(String),
    Logs(Vec<String>),
    Error(String),
    MessageTypes(Vec<TypeCountsV3>),
}

#[tokio::test]
async fn a_version_3_observer_gets_the_counters_in_its_own_encoding() {
    let rt = runtime(100);
    let pid = worker_with_outside_senders(&rt).await;
    let ep = serve_tcp(&rt);
    let mut s = TcpStream::connect(ep.addr).await.unwrap();
    frame::write(&mut s, &hello(3, ep.token())).await.unwrap();
    frame::write(&mut s, &ask(pid)).await.unwrap();
    // Frames raw: samples are skipped unread, the reply decoded with version 3's types.
    loop {
        let len = s.read_u32().await.unwrap() as usize;
        let mut body = vec![0; len];
        s.read_exact(&mut body).await.unwrap();
        // `ServerMsg::Reply` is variant 4, then the id.
        if body[0] != 4 {
            continue;
        }
        let ((_, id, reply), rest): ((u32, u64, ReplyV3), _) =
            postcard::take_from_bytes(&body).unwrap();
        assert_eq!(id, 7);
        assert!(
            rest.is_empty(),
            "{} bytes a version-3 observer cannot read",
            rest.len()
        );
        let ReplyV3::MessageTypes(counts) = reply else {
            panic!("{reply:?}");
        };
        assert_eq!(counts[0].pid, pid);
        let work = counts[0].types.iter().find(|t| t.kind == MsgKind::Cast);
        assert_eq!(work.map(|t| t.count), Some(64));
        return;
    }
}
