//! Every blocking wait is a wait-for edge: awaiting a task, waiting for a process to stop, an
//! agent's get. Not from Elixir's tests: Erlang shows the same thing as `current_function` and
//! `status: waiting` in `process_info`, which the observer reads as whom a process waits on.

use crate::support::{inside, owner, sleep};
use beamline::wire::Pid;
use beamline::{Agent, ExitReason, ProcessRef, Runtime, Task};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn waiting_on(p: &ProcessRef) -> Option<Pid> {
    p.info().status.waiting_on()
}

/// A slot the test fills with a task's pid from inside the owner.
type Seen = Arc<Mutex<Option<Pid>>>;

#[tokio::test(start_paused = true)]
async fn an_owner_awaiting_its_task_waits_on_it() {
    let rt = Runtime::new();
    let (owner, _) = owner(&rt, false).await;
    let seen = Seen::default();
    let s2 = seen.clone();
    let o2 = owner.clone();
    let pending = tokio::spawn(async move {
        inside(&o2, move |rt| async move {
            let mut t = Task::start(&rt, sleep(3000)).await.unwrap();
            *s2.lock().unwrap() = t.pid();
            t.await_timeout(Duration::from_secs(10))
                .await
                .unwrap()
                .to_string()
        })
        .await
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let task = seen.lock().unwrap().expect("the task started");
    assert_eq!(waiting_on(&owner.process()), Some(task));
    assert_eq!(pending.await.unwrap(), "3000");
    assert_eq!(
        waiting_on(&owner.process()),
        None,
        "the edge goes with the wait"
    );
}

/// The deadlock of the issue: a handler awaits a task that calls back into it. Both show
/// whom they wait on, so the wait-for graph has the cycle.
#[tokio::test(start_paused = true)]
async fn a_task_calling_back_into_its_awaiting_owner_closes_a_cycle() {
    let rt = Runtime::new();
    let (owner, _) = owner(&rt, false).await;
    let seen = Seen::default();
    let (s2, o2, o3) = (seen.clone(), owner.clone(), owner.clone());
    let pending = tokio::spawn(async move {
        inside(&o2, move |rt| async move {
            let back = Task::start(&rt, async move {
                inside(&o3, |_| async { String::new() }).await;
            });
            let mut t = back.await.unwrap();
            *s2.lock().unwrap() = t.pid();
            format!("{:?}", t.await_timeout(Duration::from_secs(30)).await)
        })
        .await
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let task = seen.lock().unwrap().expect("the task started");
    let task_ref = rt.process(task).unwrap();
    assert_eq!(waiting_on(&owner.process()), Some(task));
    assert_eq!(waiting_on(&task_ref), Some(owner.pid()));
    // The task's call times out after 5 s and it crashes; the owner, linked, goes down too.
    let _ = pending.await;
    assert!(!task_ref.is_alive());
}

#[tokio::test(start_paused = true)]
async fn await_many_waits_on_the_first_task_still_running() {
    let rt = Runtime::new();
    let (owner, _) = owner(&rt, false).await;
    let seen: Arc<Mutex<Vec<Pid>>> = Arc::default();
    let (s2, o2) = (seen.clone(), owner.clone());
    let pending = tokio::spawn(async move {
        inside(&o2, move |rt| async move {
            let quick = Task::start(&rt, sleep(1000)).await.unwrap();
            let slow = Task::start(&rt, sleep(4000)).await.unwrap();
            s2.lock()
                .unwrap()
                .extend([quick.pid().unwrap(), slow.pid().unwrap()]);
            let r = Task::await_many(vec![quick, slow], Duration::from_secs(10)).await;
            format!("{r:?}")
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pids = seen.lock().unwrap().clone();
    assert_eq!(waiting_on(&owner.process()), Some(pids[0]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(waiting_on(&owner.process()), Some(pids[1]), "moved on");
    assert_eq!(pending.await.unwrap(), "Ok([1000, 4000])");
    assert_eq!(waiting_on(&owner.process()), None);
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_process_to_stop_is_an_edge() {
    let rt = Runtime::new();
    let (victim, _) = owner(&rt, true).await;
    let (owner, _) = owner(&rt, false).await;
    // Keep the victim busy for 2 s so the stop waits behind it.
    let v2 = victim.clone();
    tokio::spawn(async move { inside(&v2, |_| async { sleep(2000).await.to_string() }).await });
    tokio::time::sleep(Duration::from_millis(10)).await;
    let (o2, v3) = (owner.clone(), victim.clone());
    let pending = tokio::spawn(async move {
        inside(&o2, move |_| async move {
            format!("{:?}", v3.stop(ExitReason::Normal, None).await)
        })
        .await
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(waiting_on(&owner.process()), Some(victim.pid()));
    assert_eq!(pending.await.unwrap(), "Ok(Normal)");
    assert_eq!(waiting_on(&owner.process()), None);
}

/// An agent's closures are synchronous, so the agent is held inside one until the test has
/// seen the edge. The get is sent only once the agent is inside that closure: sent at the same
/// time (two spawned tasks), it could reach the agent first under load, be answered at once,
/// and the edge never shown while the test looked (it failed on its deadline). The
/// closure blocks in `block_in_place`, which hands its worker's run queue and LIFO slot to
/// another thread, so no task is stranded behind the held agent on a 2-worker runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_get_is_an_edge() {
    let rt = Runtime::new();
    let (owner, _) = owner(&rt, false).await;
    let agent = Agent::start(&rt, 5u32).await.unwrap();
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (entered, inside_update) = tokio::sync::oneshot::channel::<()>();
    let a2 = agent.clone();
    let holding = tokio::spawn(async move {
        a2.update(move |_| {
            entered.send(()).expect("the test waits for it");
            tokio::task::block_in_place(|| held.recv().expect("released"));
        })
        .await
    });
    inside_update.await.expect("the agent runs the update");
    let (o2, a3) = (owner.clone(), agent.clone());
    let pending = tokio::spawn(async move {
        inside(&o2, move |_| async move {
            format!("{:?}", a3.get(|v| *v).await)
        })
        .await
    });
    // The edge is certain to appear now (the agent is held); the deadline only stops a hang.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while waiting_on(&owner.process()) != Some(agent.server().pid()) {
        assert!(std::time::Instant::now() < deadline, "the get never showed");
        tokio::task::yield_now().await;
    }
    release.send(()).unwrap();
    assert_eq!(holding.await.unwrap(), Ok(()));
    assert_eq!(pending.await.unwrap(), "Ok(5)");
    assert_eq!(waiting_on(&owner.process()), None);
}

/// A wait given up half-way (its future dropped by a `timeout`) takes its edge with it; it
/// used to leave the caller shown as waiting until its callback returned.
#[tokio::test(start_paused = true)]
async fn a_dropped_wait_removes_its_edge() {
    let rt = Runtime::new();
    let (busy, _) = owner(&rt, false).await;
    let (owner, _) = owner(&rt, false).await;
    let b2 = busy.clone();
    tokio::spawn(async move { inside(&b2, |_| async { sleep(5000).await.to_string() }).await });
    tokio::time::sleep(Duration::from_millis(10)).await;
    let (o2, b3) = (owner.clone(), busy.clone());
    let pending = tokio::spawn(async move {
        inside(&o2, move |_| async move {
            let asked = inside(&b3, |_| async { String::new() });
            let gave_up = tokio::time::timeout(Duration::from_secs(1), asked).await;
            sleep(2000).await;
            format!("{}", gave_up.is_err())
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(waiting_on(&owner.process()), None);
    assert_eq!(pending.await.unwrap(), "true");
}
