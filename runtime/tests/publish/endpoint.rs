//! The attach endpoint over real sockets (real clock: socket I/O and a paused clock do not mix;
//! every wait is on a message, never a sleep).

use crate::support::*;
use beamline::wire::{
    ClientMsg, ControlReply, ControlRequest, Hello, MAX_FRAME_LEN, PROTOCOL_VERSION, ServerMsg,
    frame, table::ProcessTable,
};
use beamline::{EndpointConfig, ServeError};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

mod locks;
mod older;
mod tls;
mod trace;

fn hello(version: u16, token: Option<&str>) -> ClientMsg {
    ClientMsg::Hello(Hello {
        version,
        token: token.map(String::from),
        client: "test".into(),
    })
}

async fn read(s: &mut (impl tokio::io::AsyncRead + Unpin)) -> Option<ServerMsg> {
    frame::read::<ServerMsg, _>(s, MAX_FRAME_LEN).await.unwrap()
}

/// A loopback endpoint, its cookie in a private temporary directory.
struct Served {
    ep: beamline::Endpoint,
    addr: std::net::SocketAddr,
    _cookies: TempDir,
}

impl Served {
    fn token(&self) -> Option<&str> {
        self.ep.token()
    }
}

fn serve_with(rt: &beamline::Runtime, config: EndpointConfig) -> Served {
    let cookies = TempDir::new("cookies");
    let ep = rt.serve(config.cookie_dir(cookies.0.join("c"))).unwrap();
    let addr = ep.local_addr().unwrap();
    Served {
        ep,
        addr,
        _cookies: cookies,
    }
}

fn serve_tcp(rt: &beamline::Runtime) -> Served {
    serve_with(rt, EndpointConfig::parse("127.0.0.1:0").unwrap())
}

/// Connect and complete the handshake; returns the stream after the Welcome.
async fn attach(ep: &Served) -> TcpStream {
    let mut s = TcpStream::connect(ep.addr).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION, ep.token()))
        .await
        .unwrap();
    assert!(matches!(read(&mut s).await, Some(ServerMsg::Welcome(_))));
    s
}

async fn refused(s: &mut TcpStream) -> String {
    match read(s).await {
        Some(ServerMsg::Refused(why)) => {
            assert_eq!(read(s).await, None, "closed after refusing");
            why
        }
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[tokio::test]
async fn ten_thousand_processes_stream_through_the_endpoint() {
    let rt = runtime(100);
    let mut pids = Vec::new();
    for _ in 0..10_000 {
        pids.push(rt.start::<Worker>(()).await.unwrap());
    }
    let ep = serve_tcp(&rt);
    let mut s = attach(&ep).await;
    let mut table = ProcessTable::default();
    let Some(m @ ServerMsg::Snapshot(_)) = read(&mut s).await else {
        panic!()
    };
    apply(&mut table, &m);
    assert_eq!(table.processes.len(), 10_000);
    pids[7]
        .cast(Work::Busy(std::time::Duration::ZERO))
        .await
        .unwrap();
    loop {
        let m = read(&mut s).await.unwrap();
        apply(&mut table, &m);
        if let Some(p) = changed(&m, pids[7].pid()) {
            assert_eq!(p.received, 1);
            break;
        }
    }
    assert_eq!(table.processes.len(), 10_000);
}

#[tokio::test]
async fn version_mismatch_is_refused_with_a_reason() {
    let rt = runtime(100);
    let ep = serve_tcp(&rt);
    let mut s = TcpStream::connect(ep.addr).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION + 1, ep.token()))
        .await
        .unwrap();
    let why = refused(&mut s).await;
    assert!(why.contains("protocol version mismatch"), "{why}");
    attach(&ep).await;
}

#[tokio::test]
async fn malformed_and_oversized_frames_close_only_that_connection() {
    let rt = runtime(100);
    let ep = serve_tcp(&rt);
    let addr = ep.addr;
    let mut good = attach(&ep).await;

    let mut bad = TcpStream::connect(addr).await.unwrap();
    bad.write_all(&[0, 0, 0, 3, 0xee, 0xee, 0xee])
        .await
        .unwrap();
    let why = refused(&mut bad).await;
    assert!(why.contains("malformed"), "{why}");

    let mut big = TcpStream::connect(addr).await.unwrap();
    big.write_all(&[0xff, 0xff, 0xff, 0xff, 0]).await.unwrap();
    let why = refused(&mut big).await;
    assert!(why.contains("exceeds"), "{why}");

    // After a good handshake, garbage closes that connection too.
    let mut later = attach(&ep).await;
    later.write_all(&[0, 0, 0, 2, 0xfe, 0xfe]).await.unwrap();
    loop {
        match read(&mut later).await {
            Some(ServerMsg::Refused(why)) => {
                assert!(why.contains("malformed"), "{why}");
                break;
            }
            Some(_) => continue,
            None => panic!("closed without a reason"),
        }
    }

    // The first client and the runtime carry on.
    frame::write(
        &mut good,
        &ClientMsg::Control {
            id: 9,
            request: ControlRequest::SetInterval { ms: 300 },
        },
    )
    .await
    .unwrap();
    loop {
        if let Some(ServerMsg::Reply { id, reply }) = read(&mut good).await {
            assert_eq!((id, reply), (9, ControlReply::Ok));
            break;
        }
    }
    // (The wish for 300 ms counts only once no other subscription wants faster: `later`'s
    // connection may still be closing. `control.rs` tests how wishes combine.)
    assert!(rt.interval().as_millis() <= 300);
    assert!(rt.start::<Worker>(()).await.is_ok());
}

#[tokio::test]
async fn non_loopback_tcp_needs_explicit_permission_and_a_token() {
    let rt = runtime(100);
    let err = rt
        .serve(EndpointConfig::parse("0.0.0.0:0").unwrap())
        .unwrap_err();
    assert!(matches!(err, ServeError::RemoteNotAllowed(_)), "{err}");
    assert!(err.to_string().contains("not a loopback address"));
    let err = rt
        .serve(
            EndpointConfig::parse("0.0.0.0:0")
                .unwrap()
                .allow_remote(true),
        )
        .unwrap_err();
    assert!(matches!(err, ServeError::TokenRequired(_)), "{err}");
    assert!(err.to_string().contains("token"));

    // With a token, TLS is still required unless plaintext is asked for by name.
    let remote = || {
        EndpointConfig::parse("0.0.0.0:0")
            .unwrap()
            .allow_remote(true)
            .token("s3cret-s3cret-s3cret")
    };
    let err = rt.serve(remote()).unwrap_err();
    assert!(matches!(err, ServeError::TlsRequired(_)), "{err}");
    assert!(err.to_string().contains("without TLS"), "{err}");
    let ep = rt.serve(remote().insecure_plaintext(true)).unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], ep.local_addr().unwrap().port()));
    let mut s = TcpStream::connect(addr).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION, None))
        .await
        .unwrap();
    assert_eq!(refused(&mut s).await, "wrong or missing token");
    let mut s = TcpStream::connect(addr).await.unwrap();
    frame::write(
        &mut s,
        &hello(PROTOCOL_VERSION, Some("s3cret-s3cret-s3cret")),
    )
    .await
    .unwrap();
    assert!(matches!(read(&mut s).await, Some(ServerMsg::Welcome(_))));
}

#[tokio::test]
async fn unix_socket_is_private_and_removed_when_dropped() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("sock");
    let path = dir.0.join("obs.sock");
    let rt = runtime(100);
    let ep = rt
        .serve(EndpointConfig::parse(&format!("unix:{}", path.display())).unwrap())
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let mut s = tokio::net::UnixStream::connect(&path).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION, None))
        .await
        .unwrap();
    assert!(matches!(read(&mut s).await, Some(ServerMsg::Welcome(_))));
    assert!(matches!(read(&mut s).await, Some(ServerMsg::Snapshot(_))));
    // A second endpoint on a live socket is refused; the first keeps it.
    let err = rt
        .serve(EndpointConfig::parse(&format!("unix:{}", path.display())).unwrap())
        .unwrap_err();
    assert!(matches!(err, ServeError::InUse(_)), "{err}");
    drop(ep);
    assert!(!path.exists());
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused() {
    let rt = runtime(100);
    let ep = serve_with(
        &rt,
        EndpointConfig::parse("127.0.0.1:0").unwrap().max_clients(1),
    );
    let _first = attach(&ep).await;
    let mut second = TcpStream::connect(ep.addr).await.unwrap();
    frame::write(&mut second, &hello(PROTOCOL_VERSION, ep.token()))
        .await
        .unwrap();
    let why = refused(&mut second).await;
    assert!(why.starts_with("busy: too many observers"), "{why}");
}
