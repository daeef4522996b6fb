//! `--json` output decoded by types declared here, independently of the observer's own, with
//! unknown fields denied: renaming, adding or removing a key fails this test.

use crate::support::{Fake, FakeRuntime, observer};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Line {
    seq: u64,
    at_ms: u64,
    interval_ms: u64,
    node: Option<String>,
    incarnation: Option<u64>,
    missed: u64,
    system: System,
    processes: Vec<Process>,
    alerts: Vec<Alert>,
    resolved: Vec<Alert>,
    nodes: Option<Vec<Node>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Node {
    name: String,
    addr: String,
    state: String,
    reason: Option<String>,
    incarnation: Option<u64>,
    processes: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct System {
    processes: u64,
    msgs_per_s: f64,
    workers: u64,
    worker_busy: f64,
    global_queue_depth: u64,
    dropped_total: u64,
    dead_letters: u64,
    missed_updates: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Process {
    id: u64,
    name: Option<String>,
    parent: Option<u64>,
    kind: String,
    behaviour: String,
    status: String,
    waiting_on: Option<u64>,
    mailbox_len: u64,
    mailbox_peak: u64,
    mailbox_capacity: Option<u64>,
    in_per_s: f64,
    out_per_s: f64,
    busy: f64,
    state_bytes: u64,
    restarts: u32,
    hot_type: Option<String>,
    #[serde(default)]
    by_type: Option<Vec<TypeLine>>,
    #[serde(default)]
    senders: Option<Vec<TalkerLine>>,
    #[serde(default)]
    receivers: Option<Vec<TalkerLine>>,
    node: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct TalkerLine {
    pid: Option<u64>,
    sampled: u64,
    per_s: f64,
    share: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TypeLine {
    #[serde(rename = "type")]
    type_name: String,
    kind: String,
    count: u64,
    handle_us_mean: f64,
    handle_us_max: f64,
    busy_us: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Alert {
    kind: String,
    severity: String,
    processes: Vec<u64>,
    message: String,
    since_ms: u64,
    id: u64,
    severity_log: Vec<SeverityChange>,
    resolved_at_ms: Option<u64>,
    node: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SeverityChange {
    at_ms: u64,
    severity: String,
}

fn lines(stdout: &[u8]) -> Vec<Line> {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn once_prints_one_snapshot_with_stable_keys() {
    let rt = FakeRuntime::start(Fake::default());
    let out = observer(&["--attach", &rt.addr.to_string(), "--json", "--once"]);
    assert!(out.status.success(), "{out:?}");
    let l = lines(&out.stdout);
    assert_eq!(l.len(), 1);
    let s = &l[0];
    assert_eq!(s.seq, 0);
    assert_eq!(s.node.as_deref(), Some("demo"));
    assert_eq!(s.incarnation, Some(7));
    assert_eq!(s.processes.len(), 11);
    assert!(s.alerts.is_empty() || s.alerts.iter().all(|a| !a.processes.is_empty()));
    let root = &s.processes[0];
    assert_eq!((root.id, root.parent), (1, None));
    assert_eq!(root.name.as_deref(), Some("app_sup"));
    assert_eq!(root.kind, "supervisor");
    let stage3 = s.processes.iter().find(|p| p.id == 9).unwrap();
    assert_eq!(stage3.parent, Some(6));
    assert_eq!(stage3.status, "handling_cast");
    assert_eq!(stage3.mailbox_len, 40);
    assert_eq!(stage3.mailbox_capacity, Some(1000));
    assert!((0.0..=1.0).contains(&stage3.busy));
    let stage4 = s.processes.iter().find(|p| p.id == 10).unwrap();
    assert_eq!(stage4.waiting_on, Some(5));
    assert_eq!(stage3.hot_type.as_deref(), Some("Batch::Append"));
    let unnamed = s.processes.iter().find(|p| p.id == 11).unwrap();
    assert_eq!(unnamed.name, None);
    assert_eq!(unnamed.hot_type, None, "null when it handled nothing");
    assert!(
        unnamed.by_type.is_none(),
        "absent when the runtime has none"
    );
    let types = stage3.by_type.as_ref().expect("stage_3's messages by type");
    assert_eq!(types.len(), 2);
    assert_eq!(
        (types[0].type_name.as_str(), types[0].kind.as_str()),
        ("Batch::Append", "cast")
    );
    assert_eq!(types[0].count, 400);
    assert_eq!(types[0].handle_us_mean, 2.0);
    // Who talks to it (sampled): 30 noted of one in 32 over 8 s is 120/s.
    let talker = |pid, sampled, per_s, share| TalkerLine {
        pid,
        sampled,
        per_s,
        share,
    };
    assert_eq!(
        stage3.senders.as_deref(),
        Some(
            &[
                talker(Some(8), 30, 120.0, 0.75),
                talker(None, 10, 40.0, 0.25)
            ][..]
        )
    );
    assert_eq!(
        stage3.receivers.as_deref(),
        Some(&[talker(Some(10), 40, 160.0, 1.0)][..])
    );
    assert!(unnamed.senders.is_none() && unnamed.receivers.is_none());
}

#[test]
fn once_over_two_nodes_names_each_process_and_alert_and_lists_the_nodes() {
    // Type ids are per node: the second numbers its names the other way round.
    let (a, b) = (
        FakeRuntime::start(Fake::default()),
        FakeRuntime::start(Fake {
            type_names: vec!["Batch::Flush".into(), "Batch::Append".into()],
            ..Fake::default()
        }),
    );
    let (a, b) = (a.addr.to_string(), b.addr.to_string());
    let out = observer(&["--attach", &a, "--attach", &b, "--json", "--once"]);
    assert!(out.status.success(), "{out:?}");
    let l = lines(&out.stdout);
    let s = &l[0];
    let nodes = s.nodes.as_ref().expect("a nodes list with several nodes");
    assert_eq!(nodes.len(), 2);
    assert!(
        nodes
            .iter()
            .all(|n| n.state == "up" && n.processes == Some(11))
    );
    // Both fakes call themselves "demo": the observer tells them apart by address.
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    let told_apart =
        |first: &str, second: &str, addr: &str| first == "demo" && second == format!("demo@{addr}");
    assert!(
        told_apart(names[0], names[1], &b) || told_apart(names[1], names[0], &a),
        "{names:?}"
    );
    assert_eq!(s.processes.len(), 22, "every process of both, no node rows");
    for name in nodes.iter().map(|n| &n.name) {
        let mine: Vec<&Process> = s
            .processes
            .iter()
            .filter(|p| p.node.as_ref() == Some(name))
            .collect();
        assert_eq!(mine.len(), 11, "{name}");
        let stage3 = mine.iter().find(|p| p.id == 9).unwrap();
        assert_eq!(stage3.hot_type.as_deref(), Some("Batch::Append"), "{name}");
        let root = mine.iter().find(|p| p.id == 1).unwrap();
        assert_eq!(
            root.parent, None,
            "a node's own pids, its roots without parent"
        );
    }
    assert!(s.alerts.iter().all(|a| a.node.is_some()));
    let one = observer(&["--attach", &a, "--json", "--once"]);
    let one = &lines(&one.stdout)[0];
    assert!(one.nodes.is_none() && one.processes.iter().all(|p| p.node.is_none()));
}

#[test]
fn json_streams_one_line_per_sample_and_record_replays_them() {
    let rt = FakeRuntime::start(Fake::default());
    let dir = std::env::temp_dir().join(format!("observer-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = dir.join("session.rec");
    let rec_s = rec.to_str().unwrap();
    // Record a short session: --once stops after the snapshot, so record through a replay of
    // our own making instead: attach with --json until a few lines have been printed.
    let mut child = std::process::Command::new(crate::support::OBSERVER)
        .args([
            "--attach",
            &rt.addr.to_string(),
            "--json",
            "--record",
            rec_s,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seqs = Vec::new();
    let mut last = None;
    // Five lines: the fifth comes a period after the fourth, by when the recorder has written
    // the fourth (the process is killed below, without a chance to flush).
    for _ in 0..5 {
        let mut l = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut l).unwrap();
        let parsed: Line = serde_json::from_str(&l).unwrap();
        seqs.push(parsed.seq);
        last = Some(parsed);
    }
    // By now diagnosis has seen stage_3 busy with a growing queue.
    let last = last.unwrap();
    let top = last.alerts.first().expect("an alert by the fifth sample");
    assert_eq!((top.kind.as_str(), top.processes[0]), ("bottleneck", 9));
    assert_eq!(top.severity, "critical");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(seqs, [0, 1, 2, 3, 4], "one line per sample, in order");

    let out = observer(&["--replay", rec_s, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let replayed: Vec<u64> = lines(&out.stdout).iter().map(|l| l.seq).collect();
    assert!(replayed.len() >= 4, "replayed {replayed:?}");
    assert_eq!(&replayed[..4], &[0, 1, 2, 3]);
    std::fs::remove_dir_all(&dir).unwrap();
}
