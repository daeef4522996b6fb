//! Exit codes and the one-line errors users see.

use crate::support::{Fake, FakeRuntime, closed_port, observer};

fn stderr_lines(out: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn bad_arguments_print_usage_and_exit_2() {
    for args in [
        &["--bogus"][..],
        &["--attach", "nonsense"],
        &["--interval", "5"],
        &["--attach", "127.0.0.1:1", "--replay", "x.rec"],
    ] {
        let out = observer(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        // clap prints the usage line, or for a bad value the reason and where to find it.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("Usage") || err.contains("try '--help'"),
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn unreachable_address_is_one_line_and_exit_1() {
    let addr = closed_port().to_string();
    for mode in ["--once", "--json"] {
        let out = observer(&["--attach", &addr, mode]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(&format!("observer: cannot reach {addr}: ")),
            "{lines:?}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_refused_handshake_says_why() {
    let rt = FakeRuntime::start(Fake {
        token: Some("secret".into()),
        ..Fake::default()
    });
    let addr = rt.addr.to_string();
    let out = observer(&["--attach", &addr, "--once", "--token", "wrong"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_lines(&out),
        [format!("observer: {addr}: refused: bad token")]
    );
    let ok = observer(&["--attach", &addr, "--once", "--token", "secret"]);
    assert!(ok.status.success(), "{ok:?}");
}

#[test]
fn a_missing_or_foreign_recording_is_one_line_and_exit_1() {
    let out = observer(&["--replay", "/nonexistent/x.rec"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr_lines(&out).len(), 1);
    let f = std::env::temp_dir().join(format!("observer-notrec-{}", std::process::id()));
    std::fs::write(&f, b"hello, not a recording").unwrap();
    let out = observer(&["--replay", f.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_lines(&out)[0].contains("not a Beamline recording"));
    std::fs::remove_file(&f).unwrap();
}

#[test]
fn thresholds_come_from_a_config_file_and_flags() {
    let rt = FakeRuntime::start(Fake::default());
    let addr = rt.addr.to_string();
    let f = std::env::temp_dir().join(format!("observer-cfg-{}", std::process::id()));
    std::fs::write(
        &f,
        "# make the first sample alarming\nfill_ratio = 0.01\nspike_ms = 0\n",
    )
    .unwrap();
    let out = observer(&["--attach", &addr, "--once", "--config", f.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#""kind":"overflow""#), "{text}");
    let out = observer(&["--attach", &addr, "--once", "--threshold", "bogus=1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_lines(&out)[0].contains("unknown threshold"),
        "{out:?}"
    );
    std::fs::remove_file(&f).unwrap();
}
