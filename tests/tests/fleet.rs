//! One observer over three demo nodes (issue 20): `--json` names each process's and alert's
//! node; a node killed shows as down while the others go on; restarted, it is up again with its
//! new run's processes and none of the old ones.

use crate::support::{DEMO, Demo, OBSERVER, closed_port};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TOKEN: &str = "fleet-test-token";

/// `demo --serve ADDR --node-name NAME` plus `extra`.
fn node(addr: &str, name: &str, extra: &[&str]) -> Demo {
    let mut args = vec!["--node-name", name, "--token", TOKEN];
    args.extend_from_slice(extra);
    Demo::serve(addr, &args)
}

/// The observer's JSON lines, killed when dropped.
struct Lines {
    child: Child,
    rx: mpsc::Receiver<Value>,
}

impl Lines {
    fn start(args: &[&str]) -> Lines {
        let mut child = Command::new(OBSERVER)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                    return;
                }
            }
        });
        Lines { child, rx }
    }

    /// The first line `want` accepts, within 60 s.
    fn until(&self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(60);
        let mut last = Value::Null;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok(v) if want(&v) => return v,
                Ok(v) => last = v,
                Err(_) => break,
            }
        }
        panic!("never saw {what}; last line's nodes: {}", last["nodes"]);
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn state_of<'a>(v: &'a Value, name: &str) -> &'a str {
    let nodes = v["nodes"].as_array().unwrap();
    // Until a node's handshake, the observer calls it by its address.
    nodes
        .iter()
        .find(|n| n["name"] == name)
        .map_or("unnamed", |n| n["state"].as_str().unwrap())
}

fn processes_of<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    (v["processes"].as_array().unwrap().iter())
        .filter(|p| p["node"] == name)
        .collect()
}

/// Every process and alert names a node of the fleet, and each process's parent (if any) is a
/// process of the same node: the tree is node, then that node's supervisors.
fn check_nodes_named(v: &Value) {
    for p in v["processes"].as_array().unwrap() {
        let node = p["node"].as_str().expect("every process names its node");
        assert!(["a", "b", "c"].contains(&node), "{p}");
        if let Some(parent) = p["parent"].as_u64() {
            let same = processes_of(v, node).iter().any(|q| q["id"] == parent);
            assert!(same, "{p}: its parent is on its own node");
        }
    }
    for a in v["alerts"].as_array().unwrap() {
        assert!(a["node"].is_string(), "every alert names its node: {a}");
    }
}

#[test]
fn one_observer_watches_three_nodes_and_a_restarted_one_comes_back_new() {
    let c_addr = closed_port().to_string();
    let a = node("127.0.0.1:0", "a", &[]);
    let b = node("127.0.0.1:0", "b", &["--scenario", "overflow"]);
    let c = node(&c_addr, "c", &[]);
    let obs = Lines::start(&[
        "--attach",
        &a.addr,
        "--attach",
        &b.addr,
        "--attach",
        &c.addr,
        "--token",
        TOKEN,
        "--json",
        "--interval",
        "500",
    ]);
    let all_up = obs.until("three nodes up with processes", |v| {
        ["a", "b", "c"]
            .iter()
            .all(|n| state_of(v, n) == "up" && !processes_of(v, n).is_empty())
    });
    check_nodes_named(&all_up);
    let old_c = all_up["nodes"][2]["incarnation"].as_u64().unwrap();
    let alerted = obs.until("node b's overflow alert, naming b", |v| {
        (v["alerts"].as_array().unwrap().iter())
            .any(|a| a["kind"] == "overflow" && a["node"] == "b")
    });
    check_nodes_named(&alerted);

    drop(c);
    let down = obs.until("node c down and its processes gone", |v| {
        state_of(v, "c") == "down" && processes_of(v, "c").is_empty()
    });
    assert_eq!(state_of(&down, "a"), "up", "the others go on");
    assert!(!processes_of(&down, "a").is_empty());

    let _c = node(&c_addr, "c", &[]);
    let back = obs.until("node c up again with its new run's processes", |v| {
        state_of(v, "c") == "up"
            && v["nodes"][2]["incarnation"].as_u64() != Some(old_c)
            && !processes_of(v, "c").is_empty()
    });
    check_nodes_named(&back);
    // Only the new run's processes: as many listed as the new runtime reports alive, give or
    // take those that spawned or exited between its sample and the observer's.
    let listed = processes_of(&back, "c").len() as i64;
    let live = back["nodes"][2]["processes"].as_i64().unwrap();
    assert!(
        (listed - live).abs() <= live / 5 + 5,
        "{listed} listed, {live} alive"
    );
    let _ = DEMO;
}
