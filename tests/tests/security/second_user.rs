//! Issue 14 item 1 with a real second user: as uid 65534 (`nobody`), clients are refused on a
//! root runtime's loopback TCP endpoint and Unix socket. Needs root to start the client as
//! another user (CI runs as root); otherwise the second-user part says loudly that it did not
//! run.

use crate::support::{Demo, OBSERVER, TempDir, run, runtime, signal, stderr_lines};
use beamline::EndpointConfig;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

/// The user id clients run as in the second-user tests (`nobody`).
const NOBODY: u32 = 65534;

/// Whether this test process may run others as another user.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Say loudly that the part of a test needing a second user did not run.
fn second_user_not_run(test: &str) {
    eprintln!(
        "\n*** {test}: NOT RUN: the second-user part needs root to start a client as uid {NOBODY}; run the tests as root (CI does) ***\n"
    );
}

/// `bin args` as uid and gid 65534 (std drops root's supplementary groups too), within 30 s.
fn run_as_nobody(bin: &str, args: &[&str]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let child = std::process::Command::new(bin)
        .args(args)
        .uid(NOBODY)
        .gid(NOBODY)
        .env_remove("BEAMLINE_OBSERVE_TOKEN")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            signal(id, "KILL");
            panic!("{bin} {args:?} as uid {NOBODY} did not finish within 30 s");
        }
    }
}

/// Issue 14 item 1: as uid 65534, a client reached a root demo's loopback endpoint and killed
/// its root supervisor. Now the endpoint's token is in a file only root can read: the same user's
/// observer finds it by itself, another user's is refused and says where the token is.
#[test]
fn another_user_is_refused_on_loopback_tcp_and_the_same_user_gets_in_by_the_cookie() {
    let demo = Demo::serve("127.0.0.1:0", &["--duration", "60"]);
    let out = run(
        OBSERVER,
        &["--attach", &demo.addr, "--once"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "same user, no --token: {out:?}");
    if !is_root() {
        return second_user_not_run("another_user_is_refused_on_loopback_tcp");
    }
    let out = run_as_nobody(OBSERVER, &["--attach", &demo.addr, "--once"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!(
            "observer: {}: refused: wrong or missing token: this endpoint's token is in ",
            demo.addr
        )),
        "{lines:?}"
    );
    assert!(
        lines[0].contains("readable only by the user running it"),
        "{lines:?}"
    );
}

/// Issue 14 item 1, Unix sockets: mode 0600 keeps another user from connecting at all, and if
/// the socket is opened up by mistake, the peer-credential check still refuses them.
#[test]
fn another_user_is_refused_on_a_unix_socket_even_when_its_mode_is_loosened() {
    if !is_root() {
        return second_user_not_run("another_user_is_refused_on_a_unix_socket");
    }
    let dir = TempDir::new("uid-sock");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path("obs.sock");
    let at = format!("unix:{}", path.display());
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (_rt, _ep) = tokio.block_on(async {
        let rt = runtime(100);
        let ep = rt.serve(EndpointConfig::parse(&at).unwrap()).unwrap();
        (rt, ep)
    });

    let out = run_as_nobody(OBSERVER, &["--attach", &at, "--once"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = stderr_lines(&out);
    assert!(
        lines.len() == 1
            && lines[0].starts_with(&format!("observer: cannot reach {at}: "))
            && lines[0].contains("ermission denied"),
        "{lines:?}"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = run_as_nobody(OBSERVER, &["--attach", &at, "--once"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stderr_lines(&out),
        [format!(
            "observer: {at}: refused: this endpoint serves only its own user (uid 0); you are uid {NOBODY}"
        )]
    );

    let out = run(
        OBSERVER,
        &["--attach", &at, "--once"],
        Duration::from_secs(30),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the owner still gets in: {out:?}"
    );
}
