//! The real binary: `--list`, bad arguments, `--serve` with `--duration`, and the refusal to
//! serve a non-loopback address without a token.

use std::process::Command;

fn demo() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_demo"));
    c.env_remove("BEAMLINE_OBSERVE")
        .env_remove("BEAMLINE_OBSERVE_TOKEN");
    c
}

#[test]
fn list_prints_one_line_per_scenario() {
    let out = demo().arg("--list").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "overflow",
            "bottleneck",
            "crash",
            "deadlock",
            "self-call",
            "leak"
        ]
    );
}

#[test]
fn bad_arguments_print_usage_and_exit_2() {
    for args in [
        &["--bogus"][..],
        &["--scenario", "nope"],
        &["--duration", "soon"],
        &["--node-name", "a b"],
        &["--list", "--serve"],
    ] {
        let out = demo().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error:"), "{args:?}: {err}");
        assert!(err.contains("--help"), "{args:?}: {err}");
    }
}

#[test]
fn serve_with_a_duration_exits_cleanly() {
    let out = demo()
        .args(["--serve", "127.0.0.1:0", "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("observer --attach 127.0.0.1:"), "{text}");
}

#[test]
fn a_scenario_can_be_served_on_a_unix_socket() {
    let path = std::env::temp_dir().join(format!("beamline-demo-{}.sock", std::process::id()));
    let out = demo()
        .args(["--scenario", "deadlock", "--duration", "1", "--serve"])
        .arg(format!("unix:{}", path.display()))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("scenario deadlock"));
    assert!(!path.exists(), "the socket file is removed on exit");
}

#[test]
fn serving_a_public_address_without_a_token_is_refused() {
    let out = demo()
        .args(["--serve", "0.0.0.0:7431", "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without a shared token"), "{err}");
    assert!(err.contains("--token"), "{err}");
}
