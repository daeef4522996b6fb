//! The default workload for 30 virtual seconds: the tree is up and deep, dynamic children
//! come and go, the schedule plays every fault, and no process exits abnormally outside the
//! faults' subtree.

use crate::support::{advance, named};
use beamline::{Name, Pid, ProcessInfo, Runtime};
use demo::Scenario;
use demo::services::{bank, contracts, sessions};
use demo::workload::{self, Schedule, Workload};
use std::collections::HashMap;
use std::time::Duration;

/// Everything the test saw of a process while it was alive.
struct Seen {
    info: ProcessInfo,
    in_faults: bool,
}

fn label(p: &ProcessInfo) -> String {
    p.name
        .as_ref()
        .map(ToString::to_string)
        .or_else(|| p.child_id.clone())
        .unwrap_or_else(|| p.behaviour.to_string())
}

#[tokio::test(start_paused = true)]
async fn thirty_seconds_of_the_default_workload() {
    let rt = Runtime::builder().observe_from_env(false).build();
    // The whole schedule, compressed into the 30 seconds.
    let schedule = Schedule {
        first: Duration::from_secs(2),
        window: Duration::from_secs(3),
        gap: Duration::from_secs(1),
        scenarios: Scenario::ALL.to_vec(),
    };
    workload::start(
        &rt,
        Workload {
            schedule: Some(schedule),
            ..Workload::default()
        },
    )
    .await
    .unwrap();

    let mut seen: HashMap<Pid, Seen> = HashMap::new();
    let mut unexpected = Vec::new();
    let mut fault_exits = 0;
    let mut normal_exits = 0;
    let mut scenarios_seen = Vec::new();
    let mut max_sessions = 0;
    let mut max_contracts = 0;
    for _ in 0..120 {
        advance(Duration::from_millis(250)).await;
        let now = rt.processes();
        let by_pid: HashMap<Pid, &ProcessInfo> = now.iter().map(|p| (p.pid, p)).collect();
        for p in &now {
            let in_faults =
                std::iter::successors(Some(p.pid), |pid| by_pid.get(pid).and_then(|q| q.parent))
                    .any(|pid| {
                        by_pid.get(&pid).and_then(|q| q.name.as_ref()) == Some(&Name::new("faults"))
                    })
                    || seen.get(&p.pid).is_some_and(|s| s.in_faults);
            seen.insert(
                p.pid,
                Seen {
                    info: p.clone(),
                    in_faults,
                },
            );
            if let Some(Name::Global(n)) = &p.name
                && let Some(s) = n.strip_prefix("scenario/")
                && !scenarios_seen.contains(&s.to_string())
            {
                scenarios_seen.push(s.to_string());
            }
        }
        let gone: Vec<Pid> = seen
            .keys()
            .filter(|pid| !by_pid.contains_key(pid))
            .copied()
            .collect();
        for pid in gone {
            let s = seen.remove(&pid).unwrap();
            let reason = rt.process(pid).and_then(|p| p.exit_reason());
            match reason {
                Some(r) if r.is_abnormal() && !s.in_faults => {
                    unexpected.push(format!("{} ({pid}): {r}", label(&s.info)))
                }
                Some(r) if r.is_abnormal() => fault_exits += 1,
                _ => normal_exits += 1,
            }
        }
        max_sessions = max_sessions.max(rt.registered_keys(sessions::REGISTRY).len());
        max_contracts = max_contracts.max(rt.registered_keys(contracts::REGISTRY).len());
    }
    assert!(unexpected.is_empty(), "unexpected exits: {unexpected:#?}");

    // The schedule played every fault, and the faults did fail things.
    let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(scenarios_seen, names);
    assert!(fault_exits > 0, "the crash scenario's panics");
    // Sessions expired and contracts settled: normal exits.
    assert!(normal_exits > 0);
    assert!(max_sessions > 3, "sessions at most {max_sessions}");
    assert!(max_contracts > 3, "contracts at most {max_contracts}");

    // At least three levels: root -> bank -> bank/accounts -> accounts/N.
    let account = rt
        .processes()
        .into_iter()
        .find(|p| p.name == Some(bank::account_name(1)))
        .expect("account 1 is open");
    let accounts_sup = named(&rt, bank::ACCOUNTS);
    let bank_sup = named(&rt, "bank");
    let root = named(&rt, "root");
    assert_eq!(account.parent, Some(accounts_sup.pid));
    assert_eq!(accounts_sup.parent, Some(bank_sup.pid));
    assert_eq!(bank_sup.parent, Some(root.pid));

    // Every service is still up, and none was restarted.
    for name in [
        "limiter",
        "notify/queue",
        "cache",
        "bank/teller",
        "bank/customers",
        "contracts/desk",
        "sessions/gateway",
        "scraper/dispatcher",
        "scraper/parser",
        "scraper/indexer",
        "reporter",
    ] {
        assert_eq!(named(&rt, name).restarts, 0, "{name} was restarted");
    }
    // Transfers went through the teller and the indexer got documents.
    assert!(named(&rt, bank::TELLER).handled_calls > 50);
    assert!(named(&rt, "scraper/indexer").handled_casts > 20);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn money_is_neither_made_nor_lost_by_transfers() {
    let rt = Runtime::builder().observe_from_env(false).build();
    workload::start(
        &rt,
        Workload {
            schedule: None,
            ..Workload::default()
        },
    )
    .await
    .unwrap();
    advance(Duration::from_secs(2)).await;
    let teller = rt.whereis::<bank::Teller>(bank::TELLER).unwrap();
    // Transfers alone keep the total; opening and closing accounts change it, so compare
    // totals over the same set of accounts, asked in one call each (the teller serialises).
    let ids = |r| match r {
        Ok(bank::TellerReply::Ids(ids)) => ids,
        other => panic!("{other:?}"),
    };
    let mut checked = 0;
    for _ in 0..10 {
        let before = ids(teller.call(bank::TellerCall::Accounts).await);
        let t0 = teller.call(bank::TellerCall::Total).await.unwrap();
        advance(Duration::from_millis(700)).await;
        let after = ids(teller.call(bank::TellerCall::Accounts).await);
        let t1 = teller.call(bank::TellerCall::Total).await.unwrap();
        if before == after {
            assert_eq!(t0, t1, "transfers changed the total");
            checked += 1;
        }
    }
    assert!(checked > 3);
    rt.shutdown().await;
}
