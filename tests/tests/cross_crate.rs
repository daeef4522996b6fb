//! The demo served by the real `demo` binary, read by the real `observer` binary as JSON: the
//! supervision tree and the named services arrive intact across process, crate and wire.

use crate::support::{Demo, OBSERVER, TempDir, run};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

/// Every field of `observer --json`, declared here, apart from the observer's own types, and
/// unknown fields refused: a field added, renamed or removed in the format fails here, so the
/// README's table of keys is updated with it. The test reads only some of them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Sample {
    seq: u64,
    at_ms: u64,
    interval_ms: u64,
    node: Option<String>,
    incarnation: Option<u64>,
    missed: u64,
    system: System,
    processes: Vec<Proc>,
    alerts: Vec<Alert>,
    resolved: Vec<Alert>,
}

#[derive(Deserialize)]
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Proc {
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
    by_type: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    senders: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    receivers: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SeverityChange {
    at_ms: u64,
    severity: String,
}

fn check_tree(addr: &str) {
    let out = run(
        OBSERVER,
        &["--attach", addr, "--json", "--once"],
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let s: Sample = serde_json::from_str(&text).unwrap();
    assert_eq!(s.node.as_deref(), Some("demo"));
    let by_name: HashMap<&str, &Proc> = s
        .processes
        .iter()
        .filter_map(|p| p.name.as_deref().map(|n| (n, p)))
        .collect();
    let children = |id: u64| s.processes.iter().filter(|p| p.parent == Some(id)).count();
    for name in [
        "limiter",
        "notify/queue",
        "cache",
        "bank/teller",
        "reporter",
        "scraper/indexer",
    ] {
        let p = by_name
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing: {:?}", by_name.keys()));
        assert_ne!(p.status, "exited", "{name}");
    }
    for sup in ["bank", "scraper", "scraper/fetchers"] {
        let p = by_name[sup];
        assert_eq!(p.kind, "supervisor", "{sup}");
        assert!(children(p.id) >= 2, "{sup} has {} children", children(p.id));
    }
    // Edges hold: the teller's parent is the bank supervisor, the fetchers' is theirs.
    assert_eq!(by_name["bank/teller"].parent, Some(by_name["bank"].id));
    assert_eq!(
        by_name["scraper/fetcher-0"].parent,
        Some(by_name["scraper/fetchers"].id)
    );
}

#[test]
fn observer_reads_the_demo_tree_over_tcp() {
    let demo = Demo::serve("127.0.0.1:0", &["--duration", "60"]);
    check_tree(&demo.addr);
}

#[test]
fn observer_reads_the_demo_tree_over_a_unix_socket() {
    let dir = TempDir::new("cross");
    let demo = Demo::serve(
        &format!("unix:{}", dir.path("demo.sock").display()),
        &["--duration", "60"],
    );
    check_tree(&demo.addr);
}

/// "What is this bottleneck doing?" from a script (issue 19): in the demo's `bottleneck`
/// scenario, `--json --once` names the ledger's hottest message type, the one call it serves.
#[test]
fn json_once_names_the_bottleneck_s_hot_type() {
    let demo = Demo::serve(
        "127.0.0.1:0",
        &["--scenario", "bottleneck", "--duration", "60"],
    );
    // The sampler ticks while the endpoint serves, so a busy process's sample is built at tick
    // time with its hot type; give the scenario a tick or two to get going.
    let mut last = String::new();
    for _ in 0..20 {
        let out = run(
            OBSERVER,
            &[
                "--attach",
                &demo.addr,
                "--json",
                "--once",
                "--filter",
                "bottleneck/ledger",
            ],
            Duration::from_secs(60),
        );
        assert!(out.status.success(), "{out:?}");
        let s: Sample = serde_json::from_slice(&out.stdout).unwrap();
        let ledger = s
            .processes
            .iter()
            .find(|p| p.name.as_deref() == Some("bottleneck/ledger"))
            .expect("the ledger");
        if let Some(t) = &ledger.hot_type {
            assert_eq!(t, "Post");
            return;
        }
        last = String::from_utf8_lossy(&out.stdout).into_owned();
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("the ledger never had a hot type: {last}");
}

/// Embedded mode (issue 19): the in-process subscription's type names and hot types reach the
/// observer's model, which names each busy process's hottest type.
#[tokio::test(start_paused = true)]
async fn an_embedded_observer_names_hot_types() {
    use beamline::{CallReply, Ctx, GenServer, InitError};
    use beamline_observer::model::Model;
    use beamline_observer::source::SourceEvent;

    struct Counter;
    enum Op {
        Bump,
        #[allow(dead_code)]
        Read,
    }
    impl GenServer for Counter {
        type Args = ();
        type Call = Op;
        type Reply = ();
        type Cast = ();
        type Info = ();
        const MESSAGE_VARIANTS: beamline::VariantNames = beamline::VariantNames {
            call: &["Bump", "Read"],
            ..beamline::VariantNames::NONE
        };
        async fn init(_: (), _: &mut Ctx<Self>) -> Result<Self, InitError> {
            Ok(Counter)
        }
        async fn handle_call(&mut self, _: Op, _: &mut Ctx<Self>) -> CallReply<()> {
            CallReply::reply(())
        }
    }

    let rt = crate::support::runtime(1000);
    let mut obs = rt.observe();
    let counter = rt.start::<Counter>(()).await.unwrap();
    let mut model = Model::new(Default::default());
    for _ in 0..5 {
        counter.call(Op::Bump).await.unwrap();
        let mut samples = 0;
        while samples < 1 {
            let m = obs.recv().await.expect("stream");
            samples += matches!(
                m,
                beamline::wire::ServerMsg::Snapshot(_) | beamline::wire::ServerMsg::Delta(_)
            ) as u32;
            model.apply(SourceEvent::Msg(m));
        }
        let table = model.latest().expect("a table");
        let p = table.get(counter.pid()).expect("the counter");
        if let Some(name) = beamline_observer::type_names::hot_type(p) {
            assert_eq!(name, "Op::Bump");
            return;
        }
    }
    panic!("the counter never had a hot type");
}
