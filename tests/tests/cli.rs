//! Bad input on every command line: usage and exit 2 for bad arguments, one line and the
//! documented code for everything else (table in RELIABILITY.md).

use crate::support::{DEMO, Demo, OBSERVER, SOAK, TempDir, closed_port, run, stderr_lines};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

fn usage_and_2(bin: &str, args: &[&str]) {
    let out = run(bin, args, LIMIT);
    assert_eq!(out.status.code(), Some(2), "{bin} {args:?}: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Usage") || err.contains("--help"),
        "{bin} {args:?}: {err}"
    );
    assert!(out.stdout.is_empty(), "{bin} {args:?}");
}

#[test]
fn bad_arguments_print_usage_and_exit_2() {
    for args in [
        &["--bogus"][..],
        &["--attach", "nowhere"],
        &["--interval", "5"],
        &["--attach", "a:1", "--replay", "x"],
    ] {
        usage_and_2(OBSERVER, args);
    }
    for args in [
        &["--bogus"][..],
        &["--scenario", "meteor"],
        &["--token", "t"],
        &["--duration", "soon"],
        &["--list", "--serve"],
    ] {
        usage_and_2(DEMO, args);
    }
    for args in [&["--bogus"][..], &["rss", "--secs", "x"], &["nonsense"]] {
        usage_and_2(SOAK, args);
    }
}

fn one_line_and_1(bin: &str, args: &[&str], starts: &str, contains: &str) {
    let out = run(bin, args, LIMIT);
    assert_eq!(out.status.code(), Some(1), "{bin} {args:?}: {out:?}");
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{bin} {args:?}: {lines:?}");
    assert!(
        lines[0].starts_with(starts) && lines[0].contains(contains),
        "{bin} {args:?}: {lines:?}"
    );
}

#[test]
fn observer_runtime_problems_are_one_line_and_exit_1() {
    let addr = closed_port().to_string();
    one_line_and_1(
        OBSERVER,
        &["--attach", &addr, "--once"],
        &format!("observer: cannot reach {addr}: "),
        "",
    );
    one_line_and_1(
        OBSERVER,
        &["--attach", "unix:/nonexistent/x.sock", "--json"],
        "observer: cannot reach unix:/nonexistent/x.sock",
        "",
    );
    let dir = TempDir::new("cli");
    let missing = dir.path("missing.rec");
    one_line_and_1(
        OBSERVER,
        &["--replay", missing.to_str().unwrap(), "--once"],
        "observer: ",
        "missing.rec",
    );
    let junk = dir.path("junk.rec");
    std::fs::write(&junk, b"this is not a recording").unwrap();
    one_line_and_1(
        OBSERVER,
        &["--replay", junk.to_str().unwrap(), "--once"],
        "observer: ",
        "junk.rec",
    );
    let conf = dir.path("bad.conf");
    std::fs::write(&conf, "no_such_threshold = 3\n").unwrap();
    one_line_and_1(
        OBSERVER,
        &["--config", conf.to_str().unwrap(), "--once"],
        "observer: ",
        "bad.conf",
    );
    one_line_and_1(
        OBSERVER,
        &["--threshold", "busy_ratio=lots", "--once"],
        "observer: --threshold busy_ratio=lots",
        "",
    );
    // A refused handshake (here a wrong token against the real demo) is exit 1 with the reason.
    let demo = Demo::serve("127.0.0.1:0", &["--token", "good", "--duration", "60"]);
    one_line_and_1(
        OBSERVER,
        &["--attach", &demo.addr, "--once", "--token", "bad"],
        "observer: ",
        "refused: wrong or missing token",
    );
}

#[test]
fn demo_setup_problems_are_one_line_and_exit_1() {
    one_line_and_1(
        DEMO,
        &["--serve", "nonsense", "--duration", "1"],
        "demo: not an observe address",
        "",
    );
    // The port is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = taken.local_addr().unwrap().to_string();
    one_line_and_1(
        DEMO,
        &["--serve", &at, "--duration", "1"],
        &format!("demo: cannot listen on {at}"),
        "",
    );
    // --duration ends cleanly with 0.
    let out = run(
        DEMO,
        &["--serve", "127.0.0.1:0", "--duration", "0.5"],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}
