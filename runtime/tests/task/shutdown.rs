//! `shutdown/2`, with a timeout and with `:brutal_kill` (task_test.exs). Elixir's "dummy
//! task" already dead with a given reason is a task ended from outside with that reason.

use crate::support::{forever, inside, owner, sleep};
use beamline::supervisor::Shutdown;
use beamline::{ExitReason, Runtime, Task, TaskError};
use std::time::Duration;

const FIVE_S: Shutdown = Shutdown::Timeout(Duration::from_secs(5));

/// A task that already exited with `reason`, without replying.
async fn dummy(rt: &Runtime, reason: ExitReason) -> Task<u64> {
    let t = Task::start_nolink(rt, forever::<u64>()).await.unwrap();
    let p = t.process().unwrap();
    if reason == ExitReason::Killed {
        p.exit(ExitReason::Killed);
        p.wait().await;
    } else {
        p.stop(reason, None).await.expect("the process was running");
    }
    t
}

async fn replied(rt: &Runtime) -> Task<u64> {
    let t = Task::start(rt, async { 7u64 }).await.unwrap();
    t.process().unwrap().wait().await;
    t
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_returns_ok_result_when_reply_and_down_in_message_queue() {
    let rt = Runtime::new();
    assert_eq!(replied(&rt).await.shutdown(FIVE_S).await, Ok(Some(7)));
    assert_eq!(
        replied(&rt).await.shutdown(Shutdown::Brutal).await,
        Ok(Some(7))
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_returns_nil_on_shutting_down_task() {
    let rt = Runtime::new();
    let t = Task::start(&rt, forever::<u64>()).await.unwrap();
    let p = t.process().unwrap();
    assert_eq!(t.shutdown(FIVE_S).await, Ok(None));
    assert_eq!(p.exit_reason(), Some(ExitReason::Shutdown));
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_returns_exit_on_abnormal_down() {
    let rt = Runtime::new();
    let t = dummy(&rt, ExitReason::error("abnormal")).await;
    assert_eq!(
        t.shutdown(FIVE_S).await,
        Err(TaskError::Exited(ExitReason::error("abnormal")))
    );
    let t = dummy(&rt, ExitReason::error("abnormal")).await;
    assert_eq!(
        t.shutdown(Shutdown::Brutal).await,
        Err(TaskError::Exited(ExitReason::error("abnormal")))
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_returns_exit_on_normal_down() {
    let rt = Runtime::new();
    let t = dummy(&rt, ExitReason::Normal).await;
    assert_eq!(
        t.shutdown(FIVE_S).await,
        Err(TaskError::Exited(ExitReason::Normal))
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_returns_nil_on_shutdown_down() {
    let rt = Runtime::new();
    let t = dummy(&rt, ExitReason::Shutdown).await;
    assert_eq!(t.shutdown(FIVE_S).await, Ok(None));
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_returns_exit_on_killed_down() {
    let rt = Runtime::new();
    let t = dummy(&rt, ExitReason::Killed).await;
    assert_eq!(
        t.shutdown(FIVE_S).await,
        Err(TaskError::Exited(ExitReason::Killed))
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_ignores_if_task_pid_is_nil() {
    assert_eq!(Task::completed(1).shutdown(FIVE_S).await, Ok(Some(1)));
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_returns_exit_noproc_if_task_handled() {
    let rt = Runtime::new();
    let mut t = Task::start(&rt, async { 1u64 }).await.unwrap();
    assert_eq!(t.await_timeout(Duration::from_secs(1)).await, Ok(1));
    assert_eq!(
        t.shutdown(FIVE_S).await,
        Err(TaskError::Exited(ExitReason::NoProcess))
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_raises_when_invoked_from_a_non_owner_process() {
    let rt = Runtime::new();
    let (owner, _) = owner(&rt, false).await;
    let t = Task::start(&rt, sleep(1)).await.unwrap();
    let answer = inside(&owner, move |_| async move {
        format!("{:?}", t.shutdown(FIVE_S).await)
    })
    .await;
    assert_eq!(
        answer,
        format!("{:?}", Err::<Option<u64>, _>(TaskError::NotOwner))
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_unlinks_so_the_caller_survives_a_brutal_kill() {
    let rt = Runtime::new();
    let (owner, _) = owner(&rt, false).await;
    inside(&owner, |rt| async move {
        let t = Task::start(&rt, forever::<u64>()).await.unwrap();
        format!("{:?}", t.shutdown(Shutdown::Brutal).await)
    })
    .await;
    inside(&owner, |_| async { String::new() }).await;
    assert!(owner.is_alive());
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_with_brutal_kill_returns_nil_on_killing_task() {
    let rt = Runtime::new();
    let t = Task::start(&rt, forever::<u64>()).await.unwrap();
    let p = t.process().unwrap();
    assert_eq!(t.shutdown(Shutdown::Brutal).await, Ok(None));
    assert_eq!(p.exit_reason(), Some(ExitReason::Killed));
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_with_brutal_kill_returns_nil_on_killed_down() {
    let rt = Runtime::new();
    let t = dummy(&rt, ExitReason::Killed).await;
    assert_eq!(t.shutdown(Shutdown::Brutal).await, Ok(None));
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_with_brutal_kill_returns_exit_on_shutdown_down() {
    let rt = Runtime::new();
    let t = dummy(&rt, ExitReason::Shutdown).await;
    assert_eq!(
        t.shutdown(Shutdown::Brutal).await,
        Err(TaskError::Exited(ExitReason::Shutdown))
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_2_with_brutal_kill_returns_exit_on_normal_down() {
    let rt = Runtime::new();
    let t = dummy(&rt, ExitReason::Normal).await;
    assert_eq!(
        t.shutdown(Shutdown::Brutal).await,
        Err(TaskError::Exited(ExitReason::Normal))
    );
}
