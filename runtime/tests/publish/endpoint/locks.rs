//! Issue 14: the locks on the endpoint: the loopback cookie, token strength, Unix socket paths,
//! roles, and escaping what clients send.

use super::{attach, hello, read, refused, serve_tcp, serve_with};
use crate::support::*;
use beamline::wire::{ClientMsg, ControlReply, ControlRequest, PROTOCOL_VERSION, ServerMsg, frame};
use beamline::{EndpointConfig, ServeError};
use tokio::net::TcpStream;

/// Issue 14 item 1: on loopback, anyone on the machine can connect, so an endpoint without a
/// token makes one and writes it where only its user can read it; without it, no entry.
#[tokio::test]
async fn a_loopback_endpoint_writes_a_private_cookie_and_requires_it() {
    use std::os::unix::fs::PermissionsExt;
    let rt = runtime(100);
    let ep = serve_tcp(&rt);
    let cookie = ep.ep.cookie_path().unwrap().to_path_buf();
    assert_eq!(
        cookie.file_name().unwrap().to_str().unwrap(),
        format!("observe-{}.cookie", ep.addr.port())
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cookie), 0o600);
    assert_eq!(mode(cookie.parent().unwrap()), 0o700);
    let secret = std::fs::read_to_string(&cookie).unwrap();
    assert_eq!(Some(secret.as_str()), ep.token());
    assert_eq!(secret.len(), 64, "256 random bits, hex");

    let mut s = TcpStream::connect(ep.addr).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION, None))
        .await
        .unwrap();
    let why = refused(&mut s).await;
    assert!(
        why.starts_with("wrong or missing token: this endpoint's token is in "),
        "{why}"
    );
    assert!(why.contains(&cookie.display().to_string()), "{why}");
    attach(&ep).await;

    drop(ep);
    assert!(!cookie.exists(), "the cookie goes with the endpoint");
}

/// Issue 14 item 7: off loopback, a token must resist guessing.
#[tokio::test]
async fn a_short_token_is_refused_off_loopback() {
    let rt = runtime(100);
    let remote = |t: &str| {
        EndpointConfig::parse("0.0.0.0:0")
            .unwrap()
            .allow_remote(true)
            .insecure_plaintext(true)
            .token(t)
    };
    let err = rt.serve(remote("t0k")).unwrap_err();
    assert!(matches!(err, ServeError::WeakToken { len: 3, .. }), "{err}");
    assert!(err.to_string().contains("needs at least 16"), "{err}");
    let short = "x".repeat(beamline::endpoint::MIN_REMOTE_TOKEN_LEN - 1);
    assert!(rt.serve(remote(&short)).is_err());
    let enough = "x".repeat(beamline::endpoint::MIN_REMOTE_TOKEN_LEN);
    assert!(rt.serve(remote(&enough)).is_ok());
    // On loopback the token only replaces the cookie: no minimum.
    assert!(
        rt.serve(EndpointConfig::parse("127.0.0.1:0").unwrap().token("t"))
            .is_ok()
    );
}

/// A socket path `len` bytes long, its name one letter: the directory takes all the rest, so
/// anything staged beside it is longer than the path.
fn socket_path_of_len(base: &std::path::Path, len: usize) -> std::path::PathBuf {
    let mut dir = base.to_path_buf();
    while dir.as_os_str().len() + 40 < len {
        dir = dir.join("d".repeat(30));
    }
    let last = len - 2 - dir.as_os_str().len() - 1;
    let dir = dir.join("e".repeat(last));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s");
    assert_eq!(path.as_os_str().len(), len);
    path
}

/// Issue 14 item 5: a path the kernel cannot take fails at once, instead of binding a shorter
/// staging path, announcing an address nobody reaches and deleting a live socket there.
#[tokio::test]
async fn a_unix_socket_path_longer_than_sun_path_fails_fast() {
    let dir = TempDir::new("long");
    let path = socket_path_of_len(&dir.0, beamline::endpoint::MAX_UNIX_PATH + 1);
    let rt = runtime(100);
    let err = rt
        .serve(EndpointConfig::new(beamline::ObserveAddr::Unix(
            path.clone(),
        )))
        .unwrap_err();
    assert!(matches!(err, ServeError::PathTooLong { .. }), "{err}");
    assert!(err.to_string().contains("choose a shorter path"), "{err}");
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert!(left.is_empty(), "nothing created: {left:?}");
}

/// Issue 14 item 5: a path that just fits works even when the private staging directory
/// beside it would be too long, and a second runtime on it is refused.
#[tokio::test]
async fn a_unix_socket_path_that_just_fits_works_in_a_long_directory() {
    let dir = TempDir::new("fits");
    let path = socket_path_of_len(&dir.0, beamline::endpoint::MAX_UNIX_PATH);
    let rt = runtime(100);
    let config = || EndpointConfig::new(beamline::ObserveAddr::Unix(path.clone()));
    let ep = rt.serve(config()).unwrap();
    let mut s = tokio::net::UnixStream::connect(&path).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION, None))
        .await
        .unwrap();
    assert!(matches!(read(&mut s).await, Some(ServerMsg::Welcome(_))));
    let err = runtime(100).serve(config()).unwrap_err();
    assert!(matches!(err, ServeError::InUse(_)), "{err}");
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        left,
        std::slice::from_ref(&path),
        "no staging directory left"
    );
    drop(ep);
    assert!(!path.exists());
}

/// Issue 14 item 9: a read-only endpoint grants the observe role, says so in the Welcome, and
/// refuses requests that act, while samples and state renderings still flow.
#[tokio::test]
async fn an_observe_role_watches_but_cannot_act() {
    use beamline::wire::Role;
    let rt = runtime(100);
    let worker = rt.start::<Worker>(()).await.unwrap();
    let open = rt.start::<Open>(7).await.unwrap();
    let ep = serve_with(
        &rt,
        EndpointConfig::parse("127.0.0.1:0")
            .unwrap()
            .read_only(true),
    );
    let mut s = TcpStream::connect(ep.addr).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION, ep.token()))
        .await
        .unwrap();
    match read(&mut s).await {
        Some(ServerMsg::Welcome(w)) => assert_eq!(w.role, Role::Observe),
        other => panic!("{other:?}"),
    }
    let requests = [
        ControlRequest::Kill {
            pid: worker.pid(),
            reason: "kill".into(),
        },
        ControlRequest::Restart { pid: worker.pid() },
        ControlRequest::SetInterval { ms: 5000 },
        ControlRequest::RenderState { pid: open.pid() },
    ];
    for (id, request) in requests.into_iter().enumerate() {
        let msg = ClientMsg::Control {
            id: id as u64,
            request,
        };
        frame::write(&mut s, &msg).await.unwrap();
    }
    let mut replies = Vec::new();
    while replies.len() < 4 {
        if let Some(ServerMsg::Reply { reply, .. }) = read(&mut s).await {
            replies.push(reply);
        }
    }
    for r in &replies[..3] {
        let ControlReply::Error(why) = r else {
            panic!("{r:?}")
        };
        assert!(
            why.starts_with("refused: this connection has the observe role"),
            "{why}"
        );
    }
    assert_eq!(
        replies[3],
        ControlReply::State("Open { secret_free: 7 }".into())
    );
    assert_eq!(worker.call(()).await, Ok(0), "still alive");
    assert_eq!(rt.interval().as_millis(), 100);

    // By default a connection may operate.
    let ep = serve_tcp(&rt);
    let mut s = TcpStream::connect(ep.addr).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION, ep.token()))
        .await
        .unwrap();
    assert!(matches!(read(&mut s).await, Some(ServerMsg::Welcome(w)) if w.role == Role::Operate));
}

/// Issue 14 item 8: a kill reason full of control characters becomes an exit reason with
/// them escaped, so neither the log nor an observer's terminal interprets them.
#[tokio::test]
async fn a_kill_reason_arrives_with_control_characters_escaped() {
    let rt = runtime(100);
    let worker = rt.start::<Worker>(()).await.unwrap();
    let ep = serve_tcp(&rt);
    let mut s = attach(&ep).await;
    let kill = ClientMsg::Control {
        id: 1,
        request: ControlRequest::Kill {
            pid: worker.pid(),
            reason: "bye\nINFO forged line\u{1b}[2J".into(),
        },
    };
    frame::write(&mut s, &kill).await.unwrap();
    loop {
        let m = read(&mut s).await.unwrap();
        if let Some(p) = changed(&m, worker.pid())
            && let beamline::wire::Status::Exited { reason } = p.status
        {
            assert_eq!(reason, "error: bye\\nINFO forged line\\u{1b}[2J");
            break;
        }
    }
}
