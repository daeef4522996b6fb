//! Attach security: private Unix sockets serving only their user, loopback locked by a cookie
//! only its user can read (checked with a real second uid when run as root), remote only with
//! permission and a strong token, wrong tokens refused and logged with the client's name, and
//! what clients send escaped in the logs. The demo binary enforces the same.

use crate::support::{
    DEMO, Demo, LogCapture, OBSERVER, TempDir, closed_port, run, runtime, stderr_lines,
};
use beamline::endpoint::DEFAULT_ADDR;
use beamline::wire::{ClientMsg, Hello, MAX_FRAME_LEN, PROTOCOL_VERSION, ServerMsg, frame};
use beamline::{EndpointConfig, ObserveAddr, ServeError};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::time::Duration;
use tokio::net::TcpStream;

mod second_user;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn unix_socket_is_0600_and_leaves_no_staging_directory() {
    let dir = TempDir::new("sock");
    let path = dir.path("obs.sock");
    let rt = runtime(100);
    let ep = rt
        .serve(EndpointConfig::parse(&format!("unix:{}", path.display())).unwrap())
        .unwrap();
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        mode(&dir.0),
        0o700,
        "the directory only this user can write"
    );
    let entries: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        entries,
        [std::ffi::OsString::from("obs.sock")],
        "staging directory left behind"
    );
    drop(ep);
    assert!(!path.exists(), "socket file removed with the endpoint");
}

#[test]
fn the_demo_serves_a_private_unix_socket() {
    let dir = TempDir::new("demo-sock");
    let path = dir.path("demo.sock");
    let demo = Demo::serve(&format!("unix:{}", path.display()), &[]);
    assert_eq!(demo.addr, format!("unix:{}", path.display()));
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn tcp_is_loopback_by_default_and_remote_needs_permission_and_a_token() {
    match DEFAULT_ADDR.parse::<ObserveAddr>().unwrap() {
        ObserveAddr::Tcp(a) => assert!(a.ip().is_loopback(), "{a}"),
        other => panic!("{other:?}"),
    }
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio.block_on(async {
        let rt = runtime(100);
        let err = rt
            .serve(EndpointConfig::parse("0.0.0.0:0").unwrap())
            .unwrap_err();
        assert!(matches!(err, ServeError::RemoteNotAllowed(_)), "{err}");
        assert!(err.to_string().contains("not a loopback address"), "{err}");
        let err = rt
            .serve(
                EndpointConfig::parse("0.0.0.0:0")
                    .unwrap()
                    .allow_remote(true),
            )
            .unwrap_err();
        assert!(matches!(err, ServeError::TokenRequired(_)), "{err}");
        assert!(err.to_string().contains("without a shared token"), "{err}");
        let ep = rt
            .serve(
                EndpointConfig::parse("0.0.0.0:0")
                    .unwrap()
                    .allow_remote(true)
                    .insecure_plaintext(true)
                    .token("t0k-t0k-t0k-t0k-t0k"),
            )
            .unwrap();
        assert!(ep.local_addr().unwrap().ip().is_unspecified());
    });
}

#[test]
fn wrong_or_missing_tokens_are_refused_and_logged() {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (logs, _guard) = LogCapture::install();
    tokio.block_on(async {
        let rt = runtime(100);
        let ep = rt
            .serve(EndpointConfig::parse("127.0.0.1:0").unwrap().token("right"))
            .unwrap();
        let addr = ep.local_addr().unwrap();
        for (token, client) in [
            (None, "tokenless"),
            (Some("wrong"), "guesser"),
            (Some("righ"), "prefix"),
        ] {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let hello = Hello {
                version: PROTOCOL_VERSION,
                token: token.map(String::from),
                client: client.into(),
            };
            frame::write(&mut s, &ClientMsg::Hello(hello))
                .await
                .unwrap();
            let got = frame::read::<ServerMsg, _>(&mut s, MAX_FRAME_LEN)
                .await
                .unwrap();
            assert_eq!(
                got,
                Some(ServerMsg::Refused("wrong or missing token".into()))
            );
            assert_eq!(
                frame::read::<ServerMsg, _>(&mut s, MAX_FRAME_LEN)
                    .await
                    .unwrap(),
                None
            );
        }
        // The first refusal is logged in full, naming the peer and the client; the others from
        // the same peer are counted, for one line at the end of the minute.
        let line = logs
            .wait_for(
                &["handshake refused", "wrong or missing token"],
                Duration::from_secs(5),
            )
            .await;
        assert!(line.starts_with("WARN"), "{line}");
        assert!(
            line.contains("peer=127.0.0.1:"),
            "the log names the peer: {line}"
        );
        assert!(
            line.contains("client=tokenless"),
            "the log names the client: {line}"
        );
        assert_eq!(
            logs.lines()
                .iter()
                .filter(|l| l.contains("wrong or missing token"))
                .count(),
            1,
            "{:#?}",
            logs.lines()
        );
        // The token itself is never logged.
        assert!(
            !logs
                .lines()
                .iter()
                .any(|l| l.contains("right\"") || l.contains("=right"))
        );
        let mut s = TcpStream::connect(addr).await.unwrap();
        let hello = Hello {
            version: PROTOCOL_VERSION,
            token: Some("right".into()),
            client: "ok".into(),
        };
        frame::write(&mut s, &ClientMsg::Hello(hello))
            .await
            .unwrap();
        assert!(matches!(
            frame::read::<ServerMsg, _>(&mut s, MAX_FRAME_LEN)
                .await
                .unwrap(),
            Some(ServerMsg::Welcome(_))
        ));
    });
}

#[test]
fn demo_refuses_a_public_address_without_a_token() {
    let port = closed_port().port();
    let out = run(
        DEMO,
        &["--serve", &format!("0.0.0.0:{port}"), "--duration", "5"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("demo: refusing to listen on 0.0.0.0:"),
        "{lines:?}"
    );
    assert!(
        lines[0].contains("without a shared token") && lines[0].contains("--token"),
        "{lines:?}"
    );
}

#[test]
fn demo_on_a_public_address_with_a_token_admits_only_that_token() {
    let demo = Demo::serve(
        "0.0.0.0:0",
        &[
            "--token",
            "hunter2-hunter2-hunter2",
            "--insecure-plaintext",
            "--duration",
            "60",
        ],
    );
    let port = demo.addr.rsplit_once(':').unwrap().1.to_string();
    let at = format!("127.0.0.1:{port}");
    for bad in [&["--token", "hunter3-hunter3-hunter3"][..], &[]] {
        let mut args = vec!["--attach", &at, "--once"];
        args.extend_from_slice(bad);
        let out = run(OBSERVER, &args, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert_eq!(
            stderr_lines(&out),
            [format!("observer: {at}: refused: wrong or missing token")]
        );
    }
    let out = run(
        OBSERVER,
        &[
            "--attach",
            &at,
            "--once",
            "--token",
            "hunter2-hunter2-hunter2",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Issue 14 item 8: a client's name and a kill reason full of newlines and escape sequences
/// reach the log escaped (no forged lines, no terminal control), and every control action is
/// logged with the client's name and address.
#[test]
fn what_an_observer_sends_is_escaped_in_the_logs_and_control_names_who_asked() {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (logs, _guard) = LogCapture::install();
    let cookies = TempDir::new("cookies");
    tokio.block_on(async {
        let rt = runtime(100);
        let victim = rt.start::<crate::support::Counter>(()).await.unwrap();
        let ep = rt
            .serve(
                EndpointConfig::parse("127.0.0.1:0")
                    .unwrap()
                    .cookie_dir(cookies.path("c")),
            )
            .unwrap();
        let mut s = TcpStream::connect(ep.local_addr().unwrap()).await.unwrap();
        let hello = Hello {
            version: PROTOCOL_VERSION,
            token: ep.token().map(String::from),
            client: "evil\nINFO forged\u{1b}[2J".into(),
        };
        frame::write(&mut s, &ClientMsg::Hello(hello))
            .await
            .unwrap();
        let kill = ClientMsg::Control {
            id: 1,
            request: beamline::wire::ControlRequest::Kill {
                pid: victim.pid(),
                reason: "bye\nINFO forged line\u{1b}[2J".into(),
            },
        };
        frame::write(&mut s, &kill).await.unwrap();
        loop {
            match frame::read::<ServerMsg, _>(&mut s, MAX_FRAME_LEN)
                .await
                .unwrap()
            {
                Some(ServerMsg::Reply { id: 1, .. }) => break,
                Some(_) => {}
                None => panic!("closed"),
            }
        }
        let line = logs
            .wait_for(
                &["observe endpoint: control request", "Kill"],
                Duration::from_secs(5),
            )
            .await;
        assert!(line.starts_with("INFO"), "{line}");
        assert!(line.contains("peer=127.0.0.1:"), "{line}");
        assert!(
            line.contains(r"client=evil\nINFO forged\u{1b}[2J"),
            "{line}"
        );
        let exited = logs
            .wait_for(&["process exited", "forged line"], Duration::from_secs(5))
            .await;
        assert!(
            exited.contains(r"bye\nINFO forged line\u{1b}[2J"),
            "{exited}"
        );
    });
    let raw: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|l| l.contains(['\n', '\u{1b}']))
        .collect();
    assert!(
        raw.is_empty(),
        "control characters reached the log: {raw:#?}"
    );
}
