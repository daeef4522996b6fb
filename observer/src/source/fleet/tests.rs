//! The fleet without sockets: the `--nodes` file, merging nodes' samples (restarts never mixed),
//! and routing control requests to the right node.

use super::merge::Merger;
use super::spec::{NodeSpec, parse};
use super::*;
use crate::fixture;
use beamline_wire::table::diff;
use beamline_wire::{Delta, ProcessTable, Snapshot};

fn specs(names: &[&str]) -> Vec<NodeSpec> {
    (names.iter().enumerate())
        .map(|(i, n)| NodeSpec {
            addr: format!("127.0.0.1:{}", 9001 + i).parse().unwrap(),
            name: Some(n.to_string()),
            token: None,
        })
        .collect()
}

fn welcome(incarnation: u64) -> SourceEvent {
    SourceEvent::Msg(ServerMsg::Welcome(fixture::welcome(incarnation)))
}

/// Node `k` connects (run `incarnation`) and sends the small fixture's snapshot.
fn connect(m: &mut Merger, k: usize, incarnation: u64) {
    m.on_event(k, SourceEvent::Conn(ConnState::Connected), 0);
    m.on_event(k, welcome(incarnation), 0);
    m.on_event(
        k,
        SourceEvent::Msg(ServerMsg::Snapshot(fixture::small(0))),
        0,
    );
}

/// Fold merged samples into a table, as the model does.
struct Folded(Option<ProcessTable>);

impl Folded {
    fn apply(&mut self, msg: ServerMsg) {
        self.0 = Some(match (msg, self.0.take()) {
            (ServerMsg::Snapshot(s), _) => ProcessTable::from_snapshot(s),
            (ServerMsg::Delta(d), Some(t)) => t.successor(d).expect("merged deltas follow on"),
            (m, _) => panic!("unexpected {m:?}"),
        });
    }

    fn pids_of(&self, k: usize) -> Vec<Pid> {
        let t = self.0.as_ref().unwrap();
        (t.processes.iter())
            .map(|p| p.id)
            .filter(|p| ids::node_of(*p) == Some(k) && !ids::is_node_row(*p))
            .collect()
    }
}

#[test]
fn nodes_file_lines_take_an_address_then_name_and_token() {
    let text = "# fleet\n\n127.0.0.1:9001 name=a\n  10.0.0.7:9000 token=s3cret name=db  # the database\nunix:/run/c.sock\n";
    let nodes = parse(text).unwrap();
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[0].name.as_deref(), Some("a"));
    assert_eq!(nodes[1].addr.to_string(), "10.0.0.7:9000");
    assert_eq!(nodes[1].token.as_deref(), Some("s3cret"));
    assert_eq!(nodes[1].name.as_deref(), Some("db"));
    assert_eq!(nodes[2].addr.to_string(), "unix:/run/c.sock");
    assert_eq!(nodes[2].name, None);
}

#[test]
fn bad_nodes_file_lines_are_refused_with_their_line_number() {
    let cases = [
        ("127.0.0.1:1\nnot-an-address\n", "line 2:"),
        (
            "127.0.0.1:1 nick=a\n",
            "line 1: \"nick=a\" is not understood",
        ),
        (
            "127.0.0.1:1 name=\n",
            "line 1: \"name=\" has an empty value",
        ),
        (
            "127.0.0.1:1 name=a\n# x\n127.0.0.1:2 name=a\n",
            "line 3: the name \"a\"",
        ),
        ("# only comments\n\n", "no nodes listed"),
    ];
    for (text, says) in cases {
        let err = parse(text).unwrap_err();
        assert!(err.starts_with(says), "{text:?}: {err}");
    }
    let many: String = (0..256)
        .map(|i| format!("127.0.0.1:{}\n", 1000 + i))
        .collect();
    assert!(parse(&many).unwrap_err().contains("at most 255"));
}

#[test]
fn a_bad_nodes_file_exits_2_through_clap() {
    use clap::Parser;
    let dir = std::env::temp_dir().join(format!("beamline-nodes-{}", std::process::id()));
    std::fs::write(&dir, "127.0.0.1:1\n127.0.0.1:2 colour=red\n").unwrap();
    let err = crate::cli::Cli::try_parse_from(["observer", "--nodes", dir.to_str().unwrap()])
        .unwrap_err();
    let _ = std::fs::remove_file(&dir);
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("line 2:"), "{err}");
}

#[test]
fn merged_samples_hold_every_node_under_its_own_row_with_pids_apart() {
    let mut m = Merger::new(&specs(&["a", "b"]));
    let mut t = Folded(None);
    t.apply(m.flush(0, 1000));
    connect(&mut m, 0, 1);
    connect(&mut m, 1, 7);
    t.apply(m.flush(1000, 1000));
    let n = fixture::small(0).processes.len();
    let (a, b) = (t.pids_of(0), t.pids_of(1));
    assert_eq!((a.len(), b.len()), (n, n));
    assert!(a.iter().all(|p| !b.contains(p)), "same local pids, apart");
    assert_eq!(a[0].to_string(), format!("<1.{}.1>", ids::local(a[0]).0));
    let table = t.0.as_ref().unwrap();
    for p in &table.processes {
        match ids::is_node_row(p.id) {
            true => assert_eq!(p.parent, None, "a node row is a root"),
            false => assert_eq!(
                p.parent.and_then(ids::node_of),
                ids::node_of(p.id),
                "{} sits under its own node",
                p.id
            ),
        }
    }
    assert_eq!(m.totals().processes, 2 * fixture::small(0).system.processes);
}

#[test]
fn a_restarted_node_gets_a_new_run_and_none_of_its_old_pids() {
    let mut m = Merger::new(&specs(&["a", "b"]));
    let mut t = Folded(None);
    t.apply(m.flush(0, 1000));
    connect(&mut m, 0, 1);
    connect(&mut m, 1, 1);
    t.apply(m.flush(1000, 1000));
    let before = t.pids_of(1);
    m.on_event(1, lost(), 1500);
    t.apply(m.flush(2000, 1000));
    assert!(t.pids_of(1).is_empty(), "a down node's processes leave");
    assert_eq!(t.pids_of(0).len(), before.len(), "the others go on");
    assert_eq!(m.view().nodes[1].state_word(), "down");
    connect(&mut m, 1, 2);
    t.apply(m.flush(3000, 1000));
    let after = t.pids_of(1);
    assert_eq!(after.len(), before.len());
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "no pid of the old run"
    );
    assert!(after.iter().all(|p| ids::generation(*p) == 2));
    assert_eq!(m.view().nodes[1].state_word(), "up");
}

#[test]
fn a_node_reconnecting_to_the_same_run_keeps_its_pids_and_drops_the_gone() {
    let mut m = Merger::new(&specs(&["a"]));
    let mut t = Folded(None);
    connect(&mut m, 0, 1);
    t.apply(m.flush(0, 1000));
    let before = t.pids_of(0);
    m.on_event(0, lost(), 10);
    m.on_event(0, SourceEvent::Conn(ConnState::Connected), 20);
    m.on_event(0, welcome(1), 20);
    let mut fewer: Snapshot = fixture::small(1);
    fewer.processes.pop();
    m.on_event(0, SourceEvent::Msg(ServerMsg::Snapshot(fewer)), 20);
    t.apply(m.flush(1000, 1000));
    let after = t.pids_of(0);
    assert_eq!(after.len(), before.len() - 1);
    assert!(after.iter().all(|p| before.contains(p)));
}

#[test]
fn node_deltas_become_one_merged_delta_with_removals_translated() {
    let mut m = Merger::new(&specs(&["a", "b"]));
    let mut t = Folded(None);
    connect(&mut m, 0, 1);
    connect(&mut m, 1, 1);
    t.apply(m.flush(0, 1000));
    let (s0, mut s1) = (fixture::small(0), fixture::small(1));
    let gone = s1.processes.pop().unwrap().id;
    let d: Delta = diff(&s0, &s1);
    m.on_event(1, SourceEvent::Msg(ServerMsg::Delta(d)), 500);
    t.apply(m.flush(1000, 1000));
    assert!(!t.pids_of(1).contains(&ids::global(1, 1, gone)));
    assert!(t.pids_of(0).contains(&ids::global(0, 1, gone)));
}

fn lost() -> SourceEvent {
    SourceEvent::Conn(ConnState::Retrying {
        reason: "connection refused".into(),
        retry_in_ms: 100,
        ever_connected: true,
    })
}

/// What each fake node was sent, in order.
type Sent = Arc<Mutex<Vec<(usize, ControlRequest)>>>;

/// A router over `n` fake nodes that records what each was sent.
fn router(n: usize) -> (Router, Sent) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let controls: Vec<Control> = (0..n)
        .map(|k| {
            let sent = sent.clone();
            Arc::new(move |req| {
                sent.lock().unwrap().push((k, req));
                Box::pin(async { ControlReply::Ok }) as ControlFuture
            }) as Control
        })
        .collect();
    let mut m = Merger::new(&specs(&["a", "b", "c"][..n]));
    for k in 0..n {
        m.on_event(k, SourceEvent::Conn(ConnState::Connected), 0);
        m.on_event(k, welcome(1), 0);
    }
    m.on_event(1, welcome(2), 0);
    (Router::new(controls, m.view()), sent)
}

#[tokio::test]
async fn a_control_action_goes_to_the_node_of_its_pid_with_that_nodes_pid() {
    let (r, sent) = router(3);
    let on_b = ids::global(1, 2, Pid(42));
    assert_eq!(
        r.control(ControlRequest::Restart { pid: on_b }).await,
        ControlReply::Ok
    );
    let kill = ControlRequest::Kill {
        pid: ids::global(2, 1, Pid(7)),
        reason: "kill".into(),
    };
    assert_eq!(r.control(kill).await, ControlReply::Ok);
    assert_eq!(
        *sent.lock().unwrap(),
        [
            (1, ControlRequest::Restart { pid: Pid(42) }),
            (
                2,
                ControlRequest::Kill {
                    pid: Pid(7),
                    reason: "kill".into()
                }
            )
        ]
    );
}

#[tokio::test]
async fn a_pid_of_an_earlier_run_or_a_node_row_is_refused_not_sent() {
    let (r, sent) = router(3);
    let stale = ids::global(1, 1, Pid(42));
    let ControlReply::Error(why) = r.control(ControlRequest::Logs { pid: stale }).await else {
        panic!("a stale pid was sent");
    };
    assert!(why.contains("earlier run of node b"), "{why}");
    let ControlReply::Error(why) = r
        .control(ControlRequest::Restart {
            pid: ids::node_row(0),
        })
        .await
    else {
        panic!("a node row was sent");
    };
    assert!(why.contains("a is a node"), "{why}");
    let plain = ControlRequest::Logs { pid: Pid(3) };
    assert!(matches!(r.control(plain).await, ControlReply::Error(_)));
    assert!(sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_new_interval_goes_to_every_node() {
    let (r, sent) = router(3);
    assert_eq!(
        r.control(ControlRequest::SetInterval { ms: 500 }).await,
        ControlReply::Ok
    );
    let to: Vec<usize> = sent.lock().unwrap().iter().map(|(k, _)| *k).collect();
    assert_eq!(to, [0, 1, 2]);
}

#[tokio::test(start_paused = true)]
async fn a_fleet_of_unreachable_nodes_says_so_and_keeps_retrying_each() {
    let addrs: Vec<NodeSpec> = (0..2)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            NodeSpec::at(l.local_addr().unwrap().to_string().parse().unwrap())
        })
        .collect();
    let mut f = FleetSource::spawn(addrs, None, None);
    let mut saw_sample = false;
    let mut retrying = false;
    while !(saw_sample && retrying) {
        match f.next().await.unwrap() {
            SourceEvent::Msg(ServerMsg::Snapshot(s)) => {
                assert_eq!(s.processes.len(), 2, "one row per node");
                saw_sample = true;
            }
            SourceEvent::Conn(ConnState::Retrying { ever_connected, .. }) => {
                assert!(!ever_connected);
                retrying = true;
            }
            _ => {}
        }
    }
    assert!(
        f.describe().starts_with("2 nodes · 0 up · down: "),
        "{}",
        f.describe()
    );
}

/// Messages by type through the fleet: the talkers' pids come back in the fleet's pids, on the
/// node of the process asked about; an outside sender stays outside.
#[tokio::test]
async fn talkers_come_back_in_the_fleets_pids() {
    use beamline_wire::{Talker, TypeCounts};
    let talker = |pid: Option<Pid>| Talker {
        pid,
        sampled: 3,
        share: 0.5,
    };
    let controls: Vec<Control> = (0..2)
        .map(|_| {
            Arc::new(move |req| {
                let ControlRequest::MessageTypes { pids } = req else {
                    return Box::pin(async { ControlReply::Ok }) as ControlFuture;
                };
                let counts = (pids.into_iter())
                    .map(|pid| TypeCounts {
                        pid,
                        at_ms: 0,
                        types: vec![],
                        senders: vec![talker(Some(Pid(5))), talker(None)],
                        receivers: vec![talker(Some(Pid(6)))],
                        talk_window_ms: 5_000,
                        talk_every: 32,
                    })
                    .collect();
                Box::pin(async { ControlReply::MessageTypes(counts) }) as ControlFuture
            }) as Control
        })
        .collect();
    let mut m = Merger::new(&specs(&["a", "b"]));
    for k in 0..2 {
        m.on_event(k, SourceEvent::Conn(ConnState::Connected), 0);
        m.on_event(k, welcome(1), 0);
    }
    let r = Router::new(controls, m.view());
    let on_b = ids::global(1, 1, Pid(42));
    let ControlReply::MessageTypes(counts) = r
        .control(ControlRequest::MessageTypes { pids: vec![on_b] })
        .await
    else {
        panic!("no counts");
    };
    assert_eq!(counts[0].pid, on_b);
    let pids = |t: &[Talker]| t.iter().map(|t| t.pid).collect::<Vec<_>>();
    assert_eq!(
        pids(&counts[0].senders),
        [Some(ids::global(1, 1, Pid(5))), None]
    );
    assert_eq!(
        pids(&counts[0].receivers),
        [Some(ids::global(1, 1, Pid(6)))]
    );
}
