//! The attach source against small fake endpoints on loopback.

use super::*;
use crate::source::ConnState;
use beamline_wire::{ClientMsg, MAX_FRAME_LEN, PROTOCOL_VERSION, ServerMsg, Welcome, frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn welcome(version: u16, incarnation: u64) -> ServerMsg {
    ServerMsg::Welcome(Welcome {
        version,
        node: "n".into(),
        os_pid: 1,
        incarnation,
        started_unix_ms: 0,
        interval_ms: 1000,
        role: beamline_wire::Role::Operate,
    })
}

async fn handshake(listener: &TcpListener, reply: ServerMsg) -> TcpStream {
    let (mut s, _) = listener.accept().await.unwrap();
    let hello: Option<ClientMsg> = frame::read(&mut s, MAX_FRAME_LEN).await.unwrap();
    assert!(
        matches!(&hello, Some(ClientMsg::Hello(h)) if h.version == PROTOCOL_VERSION && h.token.as_deref() == Some("t")),
        "{hello:?}"
    );
    frame::write(&mut s, &reply).await.unwrap();
    s
}

#[tokio::test]
async fn reconnects_after_a_drop_and_reports_the_new_incarnation() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        drop(handshake(&listener, welcome(PROTOCOL_VERSION, 1)).await);
        let mut s = handshake(&listener, welcome(PROTOCOL_VERSION, 2)).await;
        let req: Option<ClientMsg> = frame::read(&mut s, MAX_FRAME_LEN).await.unwrap();
        let Some(ClientMsg::Control { id, request }) = req else {
            panic!("{req:?}")
        };
        assert_eq!(request, ControlRequest::SetInterval { ms: 500 });
        frame::write(
            &mut s,
            &ServerMsg::Reply {
                id,
                reply: ControlReply::Ok,
            },
        )
        .await
        .unwrap();
        // Stay up until the client goes.
        let _ = frame::read::<ClientMsg, _>(&mut s, MAX_FRAME_LEN).await;
    });
    let mut src = AttachSource::spawn(Addr::Tcp(addr), Some("t".into()));
    let conn = |c| Some(SourceEvent::Conn(c));
    assert_eq!(src.next().await, conn(ConnState::Connecting));
    assert_eq!(src.next().await, conn(ConnState::Connected));
    assert_eq!(
        src.next().await,
        Some(SourceEvent::Msg(welcome(PROTOCOL_VERSION, 1)))
    );
    match src.next().await {
        Some(SourceEvent::Conn(ConnState::Retrying {
            ever_connected,
            retry_in_ms,
            ..
        })) => {
            assert!(ever_connected);
            assert_eq!(retry_in_ms, 250);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(src.next().await, conn(ConnState::Connected));
    assert_eq!(
        src.next().await,
        Some(SourceEvent::Msg(welcome(PROTOCOL_VERSION, 2)))
    );
    let reply = src.control(ControlRequest::SetInterval { ms: 500 }).await;
    assert_eq!(reply, ControlReply::Ok);
    drop(src);
    server.await.unwrap();
}

#[tokio::test]
async fn a_version_mismatch_fails_without_retrying() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let _s = handshake(&listener, welcome(PROTOCOL_VERSION + 1, 1)).await;
        std::future::pending::<()>().await;
    });
    let mut src = AttachSource::spawn(Addr::Tcp(addr), Some("t".into()));
    assert_eq!(
        src.next().await,
        Some(SourceEvent::Conn(ConnState::Connecting))
    );
    match src.next().await {
        Some(SourceEvent::Conn(ConnState::Failed(why))) => {
            assert!(why.contains("protocol version mismatch"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(src.next().await, None, "no retry after a refusal");
}

/// Issue 18: an HTTP server on the port used to give "frame of 1213486160 bytes exceeds the
/// limit"; now it is named, with its first line, and not retried.
#[tokio::test]
async fn an_http_server_is_named_not_a_frame_length() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf).await;
        let _ = s
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
        std::future::pending::<()>().await;
    });
    let mut src = AttachSource::spawn(Addr::Tcp(addr), None);
    assert_eq!(
        src.next().await,
        Some(SourceEvent::Conn(ConnState::Connecting))
    );
    assert_eq!(
        src.next().await,
        Some(SourceEvent::Conn(ConnState::Failed(
            "not a Beamline endpoint: an HTTP server answered: \"HTTP/1.1 400 Bad Request\"".into()
        )))
    );
    assert_eq!(src.next().await, None, "no retry");
}

/// A snapshot the runtime sends as three frames (a `Snapshot`, then two `Delta`s of the same
/// tick) reaches the observer as one `Snapshot` of every process, numbered as the last frame,
/// so the model builds its table once; the next tick's delta follows it as usual.
#[tokio::test]
async fn a_snapshot_in_several_frames_reaches_the_observer_as_one() {
    use beamline_wire::{Delta, Pid, ProcessKind, ProcessSample, Snapshot, SystemSample};
    let samples = |ids: std::ops::Range<u64>| -> Vec<ProcessSample> {
        ids.map(|i| ProcessSample::new(Pid(i), ProcessKind::Server, "T"))
            .collect()
    };
    let delta = |seq, at_ms, ids| {
        ServerMsg::Delta(Delta {
            seq,
            at_ms,
            interval_ms: 1000,
            system: SystemSample::default(),
            changed: samples(ids),
            removed: Vec::new(),
        })
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let frames = vec![
        ServerMsg::Snapshot(Snapshot {
            seq: 1,
            at_ms: 5,
            interval_ms: 1000,
            system: SystemSample {
                processes: 6,
                ..SystemSample::default()
            },
            processes: samples(0..2),
        }),
        delta(2, 5, 2..4),
        delta(3, 5, 4..6),
        delta(4, 1005, 0..1),
    ];
    tokio::spawn(async move {
        let mut s = handshake(&listener, welcome(PROTOCOL_VERSION, 1)).await;
        for f in &frames {
            frame::write(&mut s, f).await.unwrap();
        }
        std::future::pending::<()>().await;
    });
    let mut src = AttachSource::spawn(Addr::Tcp(addr), Some("t".into()));
    assert_eq!(
        src.next().await,
        Some(SourceEvent::Conn(ConnState::Connecting))
    );
    assert_eq!(
        src.next().await,
        Some(SourceEvent::Conn(ConnState::Connected))
    );
    assert!(matches!(
        src.next().await,
        Some(SourceEvent::Msg(ServerMsg::Welcome(_)))
    ));
    match src.next().await {
        Some(SourceEvent::Msg(ServerMsg::Snapshot(s))) => {
            assert_eq!(s.seq, 3, "numbered as its last frame");
            let ids: Vec<u64> = s.processes.iter().map(|p| p.id.0).collect();
            assert_eq!(ids, (0..6).collect::<Vec<_>>());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        src.next().await,
        Some(SourceEvent::Msg(ServerMsg::Delta(d))) if d.seq == 4
    ));
}
