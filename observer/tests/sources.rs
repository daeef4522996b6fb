//! The observer's sources from outside, through its binary: a runtime going away under `--json`,
//! recording to a full disk, replaying damaged recordings, replay speeds, and `--top`/`--filter`.

use crate::support::{Fake, FakeRuntime, TempDir, observer, spawn_observer};
use beamline_observer::fixture;
use beamline_wire::record::{HEADER_LEN, MAGIC, RecordEntry, RecordWriter, encode_entry};
use beamline_wire::{ServerMsg, table::diff};
use std::io::{BufRead, BufReader};
use std::process::Output;
use std::time::{Duration, Instant};

fn stderr(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(String::from)
        .collect()
}

fn stdout(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn seqs(out: &Output) -> Vec<u64> {
    stdout(out)
        .iter()
        .map(|l| l["seq"].as_u64().unwrap())
        .collect()
}

/// Issue 14: `--json` used to retry forever after the runtime died.
#[test]
fn json_exits_1_when_the_runtime_goes_away() {
    let rt = FakeRuntime::start(Fake {
        close_after: Some(3),
        ..Fake::default()
    });
    let addr = rt.addr.to_string();
    let out = observer(&["--attach", &addr, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(seqs(&out), [0, 1, 2, 3]);
    assert_eq!(
        stderr(&out),
        [format!(
            "observer: {addr}: connection lost (the runtime closed the connection); --reconnect keeps trying"
        )]
    );
}

#[test]
fn with_reconnect_json_carries_on_across_a_drop() {
    let rt = FakeRuntime::start(Fake {
        close_after: Some(2),
        ..Fake::default()
    });
    let addr = rt.addr.to_string();
    let mut child = spawn_observer(&["--attach", &addr, "--json", "--reconnect"]);
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for l in lines.lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&l).unwrap();
            if tx.send(v["seq"].as_u64().unwrap()).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    while seen.len() < 6 {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(seq) => seen.push(seq),
            Err(e) => panic!("{e}; printed {seen:?}"),
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    // Each connection starts over at the fake's first snapshot.
    assert_eq!(seen, [0, 1, 2, 0, 1, 2], "{out:?}");
    let err = stderr(&out);
    assert!(
        err[0].ends_with("disconnected (the runtime closed the connection), retrying"),
        "{err:?}"
    );
}

/// Issue 14: `--once --record` on a full disk exited 0 with a partial file.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_ends_a_headless_run_with_exit_1() {
    let rt = FakeRuntime::start(Fake::default());
    let addr = rt.addr.to_string();
    for mode in ["--once", "--json"] {
        let out = observer(&["--attach", &addr, mode, "--record", "/dev/full"]);
        assert_eq!(out.status.code(), Some(1), "{mode}: {out:?}");
        let err = stderr(&out);
        assert_eq!(err.len(), 1, "{mode}: {err:?}");
        assert!(
            err[0].starts_with("observer: recording stopped: ")
                && err[0].contains("No space left on device"),
            "{mode}: {err:?}"
        );
    }
}

/// Welcome, a snapshot, then a delta a second for `deltas` seconds; and where each entry
/// starts.
pub(crate) fn recording(deltas: u64) -> (Vec<u8>, Vec<usize>) {
    let mut msgs = vec![
        ServerMsg::Welcome(fixture::welcome(7)),
        ServerMsg::Snapshot(fixture::small(0)),
    ];
    for seq in 1..=deltas {
        msgs.push(ServerMsg::Delta(diff(
            &fixture::small(seq - 1),
            &fixture::small(seq),
        )));
    }
    let mut w = RecordWriter::new(Vec::new()).unwrap();
    let mut starts = Vec::new();
    let mut at = HEADER_LEN;
    for (i, msg) in msgs.into_iter().enumerate() {
        let entry = RecordEntry {
            offset_ms: (i as u64).saturating_sub(1) * 1000,
            msg,
        };
        starts.push(at);
        at += encode_entry(&entry).unwrap().len();
        w.append(&entry).unwrap();
    }
    (w.into_inner(), starts)
}

fn replay(dir: &TempDir, bytes: &[u8], extra: &[&str]) -> Output {
    let path = dir.file("r.rec");
    std::fs::write(&path, bytes).unwrap();
    let mut args = vec!["--replay", &path, "--json", "--speed", "max"];
    args.extend_from_slice(extra);
    observer(&args)
}

/// Issue 14 item 11 and issue 18 item 9: a damaged entry stops a headless replay with exit 1
/// and says where; `--allow-partial` prints the samples before it and warns.
#[test]
fn a_damaged_recording_is_exit_1_unless_allow_partial() {
    let dir = TempDir::new("damaged");
    let (mut bytes, starts) = recording(4);
    bytes[starts[3] + 12] ^= 0x20;
    let out = replay(&dir, &bytes, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "nothing printed from a damaged file");
    let err = stderr(&out);
    assert_eq!(err.len(), 1, "{err:?}");
    let at = format!(
        "damaged recording: entry 4 at byte {} of {}",
        starts[3],
        bytes.len()
    );
    assert!(
        err[0].starts_with(&format!(
            "observer: replay r.rec at max: {at}: its checksum"
        )),
        "{err:?}"
    );
    assert!(
        err[0].contains("read 3 entries (1.0 s) before it"),
        "{err:?}"
    );
    assert!(
        err[0].ends_with("--allow-partial replays the entries before it"),
        "{err:?}"
    );

    let out = replay(&dir, &bytes, &["--allow-partial"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(seqs(&out), [0, 1]);
    let err = stderr(&out);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].contains(&at), "{err:?}");
}

#[test]
fn a_length_past_the_end_and_a_cut_file_are_reported() {
    let dir = TempDir::new("cut");
    let (bytes, starts) = recording(4);
    let mut long = bytes.clone();
    long[starts[4]..starts[4] + 4].copy_from_slice(&1_000_000u32.to_be_bytes());
    let out = replay(&dir, &long, &["--allow-partial"]);
    assert_eq!(seqs(&out), [0, 1, 2]);
    assert!(
        stderr(&out)[0].contains("it announces 1000000 bytes but only"),
        "{out:?}"
    );
    let out = replay(&dir, &long, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    let cut = &bytes[..starts[3] + 5];
    let out = replay(&dir, cut, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stderr(&out)[0].contains(&format!("entry 4 at byte {}", starts[3])));
}

/// Issue 18: an 8-byte file with the right magic was "bad magic bytes"; a header and no
/// entries printed nothing and exited 0.
#[test]
fn a_cut_header_is_truncated_and_an_empty_recording_is_exit_1() {
    let dir = TempDir::new("empty");
    let out = replay(&dir, MAGIC, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stderr(&out)[0].contains("truncated recording: the file ends after 8 of its header's"));
    let (bytes, _) = recording(0);
    let out = replay(&dir, &bytes[..HEADER_LEN], &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stderr(&out),
        ["observer: replay r.rec at max: ended before the first sample"]
    );
}

/// Any one changed byte is either found (exit 1) or changes nothing printed.
#[test]
fn changed_bytes_are_detected_or_harmless() {
    let dir = TempDir::new("flips");
    let (bytes, _) = recording(3);
    let good = replay(&dir, &bytes, &[]);
    assert!(good.status.success(), "{good:?}");
    let step = (bytes.len() / 40).max(1);
    for pos in (0..bytes.len()).step_by(step) {
        let mut b = bytes.clone();
        b[pos] ^= 0x5a;
        let out = replay(&dir, &b, &[]);
        assert!(
            out.status.code() == Some(1) || out.stdout == good.stdout,
            "byte {pos} changed the output without a word: {out:?}"
        );
    }
}

#[test]
fn max_speed_replays_a_minute_at_once() {
    let dir = TempDir::new("speed");
    let (bytes, _) = recording(60);
    let start = Instant::now();
    let out = replay(&dir, &bytes, &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(seqs(&out).len(), 61);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    for bad in [
        &["--replay", "x.rec", "--speed", "2"][..],
        &["--attach", "127.0.0.1:1", "--top", "3"],
        &["--once", "--allow-partial"],
    ] {
        assert_eq!(observer(bad).status.code(), Some(2), "{bad:?}");
    }
}

/// Issue 15: scripts at a million processes read only what they ask for.
#[test]
fn top_sort_and_filter_pick_the_processes_listed() {
    let rt = FakeRuntime::start(Fake::default());
    let addr = rt.addr.to_string();
    let out = observer(&["--attach", &addr, "--once", "--top", "2", "--sort", "busy"]);
    let line = &stdout(&out)[0];
    let ps = line["processes"].as_array().unwrap();
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0]["name"], "stage_3", "the busiest first");
    assert!(ps[0]["busy"].as_f64() >= ps[1]["busy"].as_f64());
    assert_eq!(line["system"]["processes"], 11, "totals still cover all");

    let out = observer(&["--attach", &addr, "--once", "--filter", "ACCOUNT"]);
    let names: Vec<_> = stdout(&out)[0]["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["account_alice", "account_bob"]);

    let out = observer(&["--attach", &addr, "--once", "--sort", "cpu"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mailbox_len"));
}
