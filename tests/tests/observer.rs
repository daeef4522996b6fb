//! The observer binary under trouble: the terminal is restored after a panic, SIGINT, SIGTERM
//! and when the runtime vanishes (checked in a pseudo-terminal), and unexpected data from an
//! endpoint never crashes it.

use crate::support::{Demo, OBSERVER, Pty, run, signal, stderr_lines};
use beamline::wire::{ClientMsg, MAX_FRAME_LEN, PROTOCOL_VERSION, ServerMsg, Welcome, frame};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

fn tree_is_up(s: &str) -> bool {
    s.contains("connected") && s.contains("bank/teller") && s.contains("NAME")
}

fn demo() -> Demo {
    Demo::serve("127.0.0.1:0", &["--duration", "120"])
}

#[test]
fn a_panic_restores_the_terminal() {
    let demo = demo();
    let mut t = Pty::start(
        OBSERVER,
        &["--attach", &demo.addr],
        &[
            ("BEAMLINE_OBSERVER_TEST_PANIC", "1"),
            ("RUST_BACKTRACE", "0"),
        ],
    );
    let status = t.wait_exit();
    assert!(!status.success(), "{status:?}");
    t.assert_restored();
    // The panic message is on the normal screen, readable.
    let screen = t.parser.screen().contents();
    assert!(screen.contains("induced panic"), "{screen}");
    let raw = String::from_utf8_lossy(&t.raw);
    let msg = raw.find("induced panic").unwrap();
    assert!(
        raw.find("\x1b[?1049l").unwrap() < msg,
        "the message was printed before the screen was restored"
    );
}

#[test]
fn sigint_and_sigterm_restore_the_terminal() {
    let demo = demo();
    for sig in ["INT", "TERM"] {
        let mut t = Pty::start(OBSERVER, &["--attach", &demo.addr], &[]);
        t.wait_for("the tree", tree_is_up);
        signal(t.pid, sig);
        let status = t.wait_exit();
        assert!(status.success(), "SIG{sig}: {status:?}");
        t.assert_restored();
    }
}

#[test]
fn the_runtime_vanishing_leaves_the_observer_up_and_the_terminal_restorable() {
    let mut demo = demo();
    let mut t = Pty::start(OBSERVER, &["--attach", &demo.addr], &[]);
    t.wait_for("the tree", tree_is_up);
    demo.child.kill().unwrap();
    demo.child.wait().unwrap();
    t.wait_for("the retry notice", |s| s.contains("disconnected, retrying"));
    t.writer.write_all(b"q").unwrap();
    assert!(t.wait_exit().success());
    t.assert_restored();
}

/// A fake endpoint: reads the client's Hello, then lets `answer` write whatever it likes.
fn fake(answer: fn(&mut std::net::TcpStream)) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut len = [0u8; 4];
                if s.read_exact(&mut len).is_err() {
                    return;
                }
                let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
                if s.read_exact(&mut body).is_err() {
                    return;
                }
                assert!(matches!(
                    frame::decode_body::<ClientMsg>(&body),
                    Ok(ClientMsg::Hello(_))
                ));
                answer(&mut s);
                let _ = s.flush();
            });
        }
    });
    addr
}

fn welcome(version: u16) -> Vec<u8> {
    frame::encode(&ServerMsg::Welcome(Welcome {
        version,
        node: "fake".into(),
        os_pid: 1,
        incarnation: 1,
        started_unix_ms: 0,
        interval_ms: 100,
        role: beamline::wire::Role::Operate,
    }))
    .unwrap()
}

#[test]
fn unexpected_data_is_an_error_line_never_a_crash() {
    type Answer = fn(&mut std::net::TcpStream);
    let cases: [(&str, Answer, &str); 9] = [
        (
            "garbage",
            |s| {
                let _ = s.write_all(&[0, 0, 0, 5, 0xff, 0xfe, 0xfd, 0xfc, 0xfb]);
            },
            "malformed frame",
        ),
        (
            "a newer protocol",
            |s| {
                let _ = s.write_all(&welcome(PROTOCOL_VERSION + 1));
            },
            "protocol version mismatch",
        ),
        (
            "a truncated frame",
            |s| {
                let _ = s.write_all(&welcome(PROTOCOL_VERSION)[..9]);
            },
            "",
        ),
        (
            "a 4 GiB frame",
            |s| {
                let _ = s.write_all(&[0xff, 0xff, 0xff, 0xff, 0]);
            },
            "exceeds the limit",
        ),
        ("silence, then close", |_| {}, "closed during the handshake"),
        // Issue 18: these used to read as "frame of 1213486160 bytes exceeds the limit".
        (
            "an HTTP server",
            |s| {
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            },
            "not a Beamline endpoint: an HTTP server answered: \"HTTP/1.1 400 Bad Request\"",
        ),
        (
            "an SSH server",
            |s| {
                let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n");
            },
            "not a Beamline endpoint: an SSH server answered: \"SSH-2.0-OpenSSH_9.6\"",
        ),
        (
            "a TLS server",
            |s| {
                let _ = s.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]);
            },
            "not a Beamline endpoint: a TLS server answered",
        ),
        (
            "a Delta instead of a Welcome",
            |s| {
                let empty = beamline::wire::ProcessTable::default().to_snapshot();
                let d = beamline::wire::table::diff(&empty, &empty);
                let _ = s.write_all(&frame::encode(&ServerMsg::Delta(d)).unwrap());
            },
            "not a Beamline endpoint",
        ),
    ];
    for (what, answer, says) in cases {
        let addr = fake(answer).to_string();
        let out = run(
            OBSERVER,
            &["--attach", &addr, "--once"],
            Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(1), "{what}: {out:?}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{what}: {lines:?}");
        assert!(
            lines[0].starts_with("observer: ") && lines[0].contains(says),
            "{what}: {lines:?}"
        );
        assert!(out.stdout.is_empty(), "{what}");
    }
    let _ = MAX_FRAME_LEN;
}

/// After a good Welcome, garbage: the TUI shows it is retrying and stays usable.
#[test]
fn garbage_after_the_welcome_shows_as_a_retry_in_the_tui() {
    let addr = fake(|s| {
        let _ = s.write_all(&welcome(PROTOCOL_VERSION));
        let _ = s.write_all(&[0, 0, 0, 3, 9, 9, 9]);
    })
    .to_string();
    let mut t = Pty::start(OBSERVER, &["--attach", &addr], &[]);
    t.wait_for("the retry notice", |s| s.contains("disconnected, retrying"));
    t.writer.write_all(b"q").unwrap();
    assert!(t.wait_exit().success());
    t.assert_restored();
}

/// `q` in the embedded demo ends it within half a second even while a process sits in a long
/// callback with a backlog behind it (`--scenario bottleneck` used to blank the screen ~4 s).
#[test]
fn quitting_the_embedded_demo_under_a_backlog_takes_under_half_a_second() {
    let mut t = Pty::start(crate::support::DEMO, &["--scenario", "bottleneck"], &[]);
    t.wait_for("the bottleneck", |s| {
        s.contains("bottleneck/") && s.contains("NAME")
    });
    std::thread::sleep(Duration::from_secs(4));
    let asked = std::time::Instant::now();
    t.writer.write_all(b"q").unwrap();
    assert!(t.wait_exit().success());
    let took = t.exited_at.unwrap() - asked;
    assert!(took < Duration::from_millis(500), "quit took {took:?}");
    t.assert_restored();
}
