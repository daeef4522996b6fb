//! Issue 19: `observer --attach ADDR --trace NAME --json` against the real demo: one JSON
//! object per traced message on stdout, how the trace ended on stderr; a refusal exits 1.

use crate::support::{Demo, OBSERVER, run, stderr_lines};
use std::time::Duration;

#[test]
fn observer_trace_json_streams_the_cache_s_messages() {
    let demo = Demo::serve("127.0.0.1:0", &["--duration", "120"]);
    let out = run(
        OBSERVER,
        &[
            "--attach",
            &demo.addr,
            "--trace",
            "cache",
            "--trace-events",
            "20",
            "--json",
        ],
        Duration::from_secs(60),
    );
    let err = stderr_lines(&out);
    assert!(out.status.success(), "{:?} {err:?}", out.status);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert!(
        !lines.is_empty() && lines.len() <= 20,
        "{} lines",
        lines.len()
    );
    for l in &lines {
        assert!(l["at_ms"].is_u64(), "{l}");
        assert!(
            ["in", "out"].contains(&l["direction"].as_str().unwrap()),
            "{l}"
        );
        assert!(
            ["call", "cast", "info", "reply"].contains(&l["kind"].as_str().unwrap()),
            "{l}"
        );
        assert!(!l["type"].as_str().unwrap().is_empty(), "{l}");
        assert!(l["peer"].is_string(), "{l}");
        assert!(l["bytes"].is_u64(), "{l}");
    }
    assert!(
        lines.iter().any(|l| l["direction"] == "in"),
        "the cache receives requests: {lines:?}"
    );
    let ended = err.iter().find(|l| l.contains("trace ended"));
    let ended = ended.unwrap_or_else(|| panic!("{err:?}"));
    assert!(
        ended.contains("event limit reached") || ended.contains("rate limit tripped"),
        "{ended}"
    );
}

#[test]
fn observer_trace_of_nothing_is_refused_with_exit_1() {
    let demo = Demo::serve("127.0.0.1:0", &["--duration", "120"]);
    let out = run(
        OBSERVER,
        &["--attach", &demo.addr, "--trace", "no/such/name", "--json"],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_lines(&out).join("\n");
    assert!(
        err.contains("nothing is registered as \"no/such/name\""),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
