//! Starting tasks, links, `completed`, `ignore`, `await` and `yield` (task_test.exs).

use crate::support::{forever, inside, owner, seen, sleep};
use beamline::wire::{MsgKind, Pid, ProcessKind, Status};
use beamline::{ExitReason, Runtime, Task, TaskError};
use std::time::Duration;

fn pid_of(s: &str) -> Pid {
    Pid(s.parse().unwrap())
}

#[tokio::test(start_paused = true)]
async fn async_1_a_crashing_task_takes_its_non_trapping_caller_down() {
    let rt = Runtime::new();
    let (owner, _) = owner(&rt, false).await;
    inside(&owner, |rt| async move {
        let t = Task::start(&rt, async {
            sleep(10).await;
            panic!("boom")
        })
        .await
        .unwrap();
        std::mem::forget(t);
        String::new()
    })
    .await;
    assert_eq!(
        owner.process().wait().await,
        ExitReason::Panic("boom".into())
    );
}

#[tokio::test(start_paused = true)]
async fn async_1_a_trapping_caller_receives_the_tasks_exit() {
    let rt = Runtime::new();
    let (owner, log) = owner(&rt, true).await;
    let pid = inside(&owner, |rt| async move {
        let t = Task::start(&rt, async { panic!("boom") }).await.unwrap();
        t.pid().unwrap().0.to_string()
    })
    .await;
    rt.process(pid_of(&pid)).unwrap().wait().await;
    // System messages come before calls: by the time this call is handled, the exit was.
    inside(&owner, |_| async { String::new() }).await;
    assert_eq!(seen(&log), vec!["exit panic: boom"]);
    assert!(owner.is_alive());
}

#[tokio::test(start_paused = true)]
async fn async_1_a_crashing_caller_stops_its_task() {
    let rt = Runtime::new();
    let (owner, _) = owner(&rt, false).await;
    let pid = inside(&owner, |rt| async move {
        let t = Task::start(&rt, forever::<()>()).await.unwrap();
        t.pid().unwrap().0.to_string()
    })
    .await;
    let task = rt.process(pid_of(&pid)).unwrap();
    owner.process().exit(ExitReason::error("caller failed"));
    assert_eq!(task.wait().await, ExitReason::error("caller failed"));
}

#[tokio::test(start_paused = true)]
async fn start_1_a_nolink_task_does_not_take_its_caller_down() {
    let rt = Runtime::new();
    let (owner, log) = owner(&rt, false).await;
    let pid = inside(&owner, |rt| async move {
        let mut t = Task::start_nolink(&rt, async { panic!("boom") })
            .await
            .unwrap();
        let pid = t.pid().unwrap().0.to_string();
        let r = t.await_timeout(Duration::from_secs(1)).await;
        assert_eq!(r, Err(TaskError::Exited(ExitReason::Panic("boom".into()))));
        pid
    })
    .await;
    rt.process(pid_of(&pid)).unwrap().wait().await;
    inside(&owner, |_| async { String::new() }).await;
    assert!(owner.is_alive());
    assert!(seen(&log).is_empty());
}

#[tokio::test(start_paused = true)]
async fn start_link_1_a_spawned_linked_task_takes_its_caller_down() {
    let rt = Runtime::new();
    let (owner, _) = owner(&rt, false).await;
    inside(&owner, |rt| async move {
        Task::spawn_link(&rt, async { panic!("boom") })
            .await
            .unwrap();
        String::new()
    })
    .await;
    assert_eq!(
        owner.process().wait().await,
        ExitReason::Panic("boom".into())
    );
}

#[tokio::test(start_paused = true)]
async fn start_1_a_spawned_task_runs_unlinked_and_ends_normally() {
    let rt = Runtime::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let p = Task::spawn(&rt, async move {
        let _ = tx.send(beamline::self_pid());
    })
    .await
    .unwrap();
    assert_eq!(p.info().kind, ProcessKind::Task);
    // Inside the future, `self` is the task's own process.
    assert_eq!(rx.await.unwrap(), Some(p.pid()));
    assert_eq!(p.wait().await, ExitReason::Normal);
}

#[tokio::test(start_paused = true)]
async fn a_running_task_shows_as_busy() {
    let rt = Runtime::new();
    let mut t = Task::start(&rt, sleep(1000)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let info = t.process().unwrap().info();
    assert!(
        matches!(
            info.status,
            Status::Handling {
                kind: MsgKind::Cast,
                ..
            }
        ),
        "{:?}",
        info.status
    );
    assert_eq!(t.await_timeout(Duration::from_secs(5)).await, Ok(1000));
}

#[tokio::test(start_paused = true)]
async fn completed_1() {
    let mut t = Task::completed("done");
    assert_eq!(t.pid(), None);
    assert_eq!(t.await_timeout(Duration::ZERO).await, Ok("done"));
}

#[tokio::test(start_paused = true)]
async fn ignore_1_discards_on_time_replies() {
    let rt = Runtime::new();
    let t = Task::start(&rt, async { "ok" }).await.unwrap();
    t.process().unwrap().wait().await;
    assert_eq!(t.ignore(), Ok(Some("ok")));
}

#[tokio::test(start_paused = true)]
async fn ignore_1_discards_late_replies_and_the_task_runs_on() {
    let rt = Runtime::new();
    let t = Task::start(&rt, sleep(10)).await.unwrap();
    let p = t.process().unwrap();
    assert_eq!(t.ignore(), Ok(None));
    assert_eq!(p.wait().await, ExitReason::Normal);
}

#[tokio::test(start_paused = true)]
async fn ignore_1_discards_on_time_failures() {
    let rt = Runtime::new();
    let t = Task::start(&rt, async { panic!("oops") }).await.unwrap();
    t.process().unwrap().wait().await;
    assert_eq!(
        t.ignore(),
        Err::<Option<()>, _>(TaskError::Exited(ExitReason::Panic("oops".into())))
    );
}

#[tokio::test(start_paused = true)]
async fn ignore_1_unlinks_so_a_late_failure_spares_the_caller() {
    let rt = Runtime::new();
    let (owner, _) = owner(&rt, false).await;
    let pid = inside(&owner, |rt| async move {
        let t = Task::start(&rt, async {
            sleep(10).await;
            panic!("oops")
        })
        .await
        .unwrap();
        let pid = t.pid().unwrap().0.to_string();
        assert_eq!(t.ignore(), Ok(None));
        pid
    })
    .await;
    rt.process(pid_of(&pid)).unwrap().wait().await;
    inside(&owner, |_| async { String::new() }).await;
    assert!(owner.is_alive());
}

#[tokio::test(start_paused = true)]
async fn ignore_1_can_ignore_completed_tasks() {
    assert_eq!(Task::completed("done").ignore(), Ok(Some("done")));
}

#[tokio::test(start_paused = true)]
async fn await_2_exits_on_normal_exit() {
    let rt = Runtime::new();
    let mut t = Task::start(&rt, forever::<()>()).await.unwrap();
    t.process()
        .unwrap()
        .stop(ExitReason::Normal, None)
        .await
        .expect("the process was running");
    assert_eq!(
        t.await_timeout(Duration::from_secs(5)).await,
        Err(TaskError::Exited(ExitReason::Normal))
    );
}

#[tokio::test(start_paused = true)]
async fn await_2_exits_on_task_error() {
    let rt = Runtime::new();
    let mut t = Task::start(&rt, async { panic!("oops") }).await.unwrap();
    assert_eq!(
        t.await_timeout(Duration::from_secs(5)).await,
        Err::<(), _>(TaskError::Exited(ExitReason::Panic("oops".into())))
    );
}

#[tokio::test(start_paused = true)]
async fn yield_2_returns_the_result_and_nil_on_timeout() {
    let rt = Runtime::new();
    let mut t = Task::start(&rt, sleep(100)).await.unwrap();
    assert_eq!(t.yield_timeout(Duration::from_millis(10)).await, Ok(None));
    assert_eq!(t.yield_timeout(Duration::from_secs(1)).await, Ok(Some(100)));
    // The result was taken: like a demonitored task, it never answers again.
    assert_eq!(t.yield_timeout(Duration::ZERO).await, Ok(None));
}

#[tokio::test(start_paused = true)]
async fn yield_2_return_exit_on_normal_exit() {
    let rt = Runtime::new();
    let mut t = Task::start(&rt, forever::<()>()).await.unwrap();
    t.process()
        .unwrap()
        .stop(ExitReason::Normal, None)
        .await
        .expect("the process was running");
    assert_eq!(
        t.yield_timeout(Duration::from_secs(5)).await,
        Err(TaskError::Exited(ExitReason::Normal))
    );
}

#[tokio::test(start_paused = true)]
async fn yield_2_raises_when_invoked_from_a_non_owner_process() {
    let rt = Runtime::new();
    let (owner, _) = owner(&rt, false).await;
    let t = Task::start(&rt, sleep(1)).await.unwrap();
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(t)));
    let s = slot.clone();
    let answer = inside(&owner, move |_| async move {
        let mut t = s.lock().unwrap().take().unwrap();
        format!("{:?}", t.yield_timeout(Duration::ZERO).await)
    })
    .await;
    assert_eq!(
        answer,
        format!("{:?}", Err::<Option<u64>, _>(TaskError::NotOwner))
    );
}
