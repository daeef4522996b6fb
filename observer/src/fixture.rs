//! Synthetic runtimes: deterministic snapshots for tests, the render benchmark and trying the
//! observer without a runtime. Nothing here is used by the observer itself.

use beamline_wire::{
    MsgKind, Pid, ProcessKind, ProcessSample, Snapshot, Status, SupervisorInfo, SystemSample,
    Welcome,
};

/// A handshake for the synthetic runtime.
pub fn welcome(incarnation: u64) -> Welcome {
    Welcome {
        version: beamline_wire::PROTOCOL_VERSION,
        node: "demo".into(),
        os_pid: 4242,
        incarnation,
        started_unix_ms: 1_700_000_000_000,
        interval_ms: 1000,
        role: beamline_wire::Role::Operate,
    }
}

fn proc(id: u64, parent: Option<u64>, name: Option<&str>, kind: ProcessKind) -> ProcessSample {
    let behaviour = match kind {
        ProcessKind::Supervisor => "beamline::Supervisor",
        ProcessKind::Agent => "beamline::Agent",
        ProcessKind::Task => "beamline::Task",
        ProcessKind::Server => "demo::Worker",
    };
    let mut p = ProcessSample::new(Pid(id), kind, behaviour);
    p.parent = parent.map(Pid);
    p.name = name.map(String::from);
    if kind == ProcessKind::Supervisor {
        p.supervisor = Some(SupervisorInfo {
            strategy: "one_for_one".into(),
            max_restarts: 3,
            period_ms: 5000,
            restarts_in_window: 0,
            children: 0,
            restarting: 0,
        });
    }
    p
}

/// A small application at sample `seq`: a bank, a cache and a 4-stage pipeline whose third stage
/// is slow, so its mailbox grows with every sample.
pub fn small(seq: u64) -> Snapshot {
    use ProcessKind::*;
    let t = seq as f64;
    let mut ps = vec![
        proc(1, None, Some("app_sup"), Supervisor),
        proc(2, Some(1), Some("bank_sup"), Supervisor),
        proc(3, Some(2), Some("account_alice"), Server),
        proc(4, Some(2), Some("account_bob"), Server),
        proc(5, Some(1), Some("cache"), Agent),
        proc(6, Some(1), Some("pipeline_sup"), Supervisor),
        proc(7, Some(6), Some("stage_1"), Server),
        proc(8, Some(6), Some("stage_2"), Server),
        proc(9, Some(6), Some("stage_3"), Server),
        proc(10, Some(6), Some("stage_4"), Server),
        proc(11, Some(1), None, Task),
    ];
    for p in ps.iter_mut() {
        let k = p.id.0 as f64;
        p.spawned_ms = 100 * p.id.0;
        p.in_per_s = ((k * 3.0 + t * 1.7) % 20.0).round() * 5.0;
        p.out_per_s = p.in_per_s * 0.9;
        p.busy = ((k * 7.0 + t * 3.0) % 40.0) / 100.0;
        p.state_bytes = 512 * p.id.0 + 64 * seq;
        p.received = (p.in_per_s as u64) * seq;
        p.handled = p.received;
    }
    let s3 = &mut ps[8];
    s3.mailbox_len = 40 * (seq + 1);
    s3.mailbox_peak = s3.mailbox_len + 5;
    s3.mailbox_capacity = Some(1000);
    s3.busy = 0.98;
    s3.status = Status::Handling {
        kind: MsgKind::Cast,
        since_ms: seq * 1000,
    };
    s3.inspectable = true;
    let s4 = &mut ps[9];
    s4.in_per_s = 2.0;
    s4.status = Status::Waiting {
        on: Pid(5),
        since_ms: seq * 1000,
    };
    let bob = &mut ps[3];
    bob.restarts = 2;
    bob.exit_history = vec!["{badarith, deposit}".into(), "killed".into()];
    bob.links = vec![Pid(2)];
    bob.monitors = vec![Pid(5)];
    ps[6].mailbox_len = 3;
    Snapshot {
        seq,
        at_ms: 60_000 + seq * 1000,
        interval_ms: 1000,
        system: SystemSample {
            processes: ps.len() as u64,
            spawned_total: 14,
            exited_total: 3,
            msgs_per_s: 1200.0 + 35.0 * t,
            dropped_total: 7,
            dead_letters: 1,
            workers: 2,
            worker_busy: 0.35 + (seq % 5) as f64 * 0.05,
            global_queue_depth: seq % 4,
            local_queue_depth: 1,
            alive_tasks: 20,
            sample_cost_us: 180,
            missed_updates: 0,
        },
        processes: ps,
    }
}

/// `n` processes (at least 2): a root supervisor with 100 supervisors under it and workers
/// spread under those, with figures varying by pid and sample.
pub fn large(seq: u64, n: usize) -> Snapshot {
    let sups = 100.min(n.saturating_sub(1)) as u64;
    let mut ps = Vec::with_capacity(n);
    ps.push(proc(1, None, Some("root_sup"), ProcessKind::Supervisor));
    for i in 0..sups {
        let name = format!("sup_{i}");
        ps.push(proc(2 + i, Some(1), Some(&name), ProcessKind::Supervisor));
    }
    for id in (2 + sups)..(n as u64 + 1) {
        let parent = 2 + id % sups.max(1);
        let mut p = proc(id, Some(parent), None, ProcessKind::Server);
        if id % 7 == 0 {
            p.name = Some(format!("worker_{id}"));
        }
        p.mailbox_len = (id * 31 + seq * 7) % 500;
        p.in_per_s = ((id * 13 + seq) % 1000) as f64;
        p.out_per_s = p.in_per_s / 2.0;
        p.busy = ((id * 17 + seq) % 100) as f64 / 100.0;
        p.state_bytes = 256 + id % 4096;
        ps.push(p);
    }
    Snapshot {
        seq,
        at_ms: seq * 1000,
        interval_ms: 1000,
        system: SystemSample {
            processes: ps.len() as u64,
            workers: 8,
            ..SystemSample::default()
        },
        processes: ps,
    }
}
