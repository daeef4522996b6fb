//! `await_many` and `yield_many` (task_test.exs).

use crate::support::{forever, sleep};
use beamline::task::{OnTimeout, YieldMany};
use beamline::{ExitReason, Runtime, Task, TaskError};
use std::time::Duration;

const FIVE_S: Duration = Duration::from_secs(5);

async fn tasks(rt: &Runtime, ms: &[u64]) -> Vec<Task<u64>> {
    let mut out = Vec::new();
    for &m in ms {
        out.push(Task::start(rt, sleep(m)).await.unwrap());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn await_many_2_returns_list_of_replies() {
    let rt = Runtime::new();
    let t = tasks(&rt, &[1, 3, 9]).await;
    assert_eq!(Task::await_many(t, FIVE_S).await, Ok(vec![1, 3, 9]));
}

#[tokio::test(start_paused = true)]
async fn await_many_2_returns_replies_in_input_order_ignoring_response_order() {
    let rt = Runtime::new();
    let t = tasks(&rt, &[30, 10, 20]).await;
    assert_eq!(Task::await_many(t, FIVE_S).await, Ok(vec![30, 10, 20]));
}

#[tokio::test(start_paused = true)]
async fn await_many_2_returns_an_empty_list_immediately() {
    assert_eq!(
        Task::<u8>::await_many(Vec::new(), Duration::ZERO).await,
        Ok(vec![])
    );
}

#[tokio::test(start_paused = true)]
async fn await_many_2_exits_on_timeout_and_kills_the_rest() {
    let rt = Runtime::new();
    let t = vec![Task::start(&rt, forever::<u64>()).await.unwrap()];
    let p = t[0].process().unwrap();
    assert_eq!(
        Task::await_many(t, Duration::from_millis(1)).await,
        Err(TaskError::Timeout(Duration::from_millis(1)))
    );
    assert_eq!(p.wait().await, ExitReason::Killed);
}

#[tokio::test(start_paused = true)]
async fn await_many_2_exits_immediately_when_any_task_crashes() {
    let rt = Runtime::new();
    let start = tokio::time::Instant::now();
    let t = vec![
        Task::start(&rt, forever::<u64>()).await.unwrap(),
        Task::start(&rt, async { panic!("unknown") }).await.unwrap(),
    ];
    let first = t[0].process().unwrap();
    assert_eq!(
        Task::await_many(t, FIVE_S).await,
        Err(TaskError::Exited(ExitReason::Panic("unknown".into())))
    );
    assert!(start.elapsed() < FIVE_S);
    // The others do not linger.
    assert_eq!(first.wait().await, ExitReason::Killed);
}

#[tokio::test(start_paused = true)]
async fn await_many_2_exits_with_same_reason_when_task_exits() {
    let rt = Runtime::new();
    let t = vec![Task::start(&rt, forever::<u64>()).await.unwrap()];
    t[0].process()
        .unwrap()
        .stop(ExitReason::Normal, None)
        .await
        .expect("the process was running");
    assert_eq!(
        Task::await_many(t, FIVE_S).await,
        Err(TaskError::Exited(ExitReason::Normal))
    );
}

#[tokio::test(start_paused = true)]
async fn yield_many_2_returns_results_from_multiple_tasks() {
    let rt = Runtime::new();
    let mut t = vec![
        Task::start(&rt, async { 1u64 }).await.unwrap(),
        Task::start(&rt, forever::<u64>()).await.unwrap(),
        Task::start(&rt, forever::<u64>()).await.unwrap(),
    ];
    t[2].process()
        .unwrap()
        .stop(ExitReason::Normal, None)
        .await
        .expect("the process was running");
    t[0].process().unwrap().wait().await;
    let got = Task::yield_many(&mut t, YieldMany::new().timeout(Duration::ZERO)).await;
    assert_eq!(
        got,
        vec![
            Ok(Some(1)),
            Ok(None),
            Err(TaskError::Exited(ExitReason::Normal))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn yield_many_2_returns_results_from_multiple_tasks_with_limit() {
    let rt = Runtime::new();
    let mut t = vec![
        Task::start(&rt, async { 1u64 }).await.unwrap(),
        Task::start(&rt, forever::<u64>()).await.unwrap(),
        Task::start(&rt, forever::<u64>()).await.unwrap(),
    ];
    t[2].process()
        .unwrap()
        .stop(ExitReason::Normal, None)
        .await
        .expect("the process was running");
    t[0].process().unwrap().wait().await;
    let opts = YieldMany::new().limit(1).timeout(Duration::MAX);
    let got = Task::yield_many(&mut t, opts).await;
    assert_eq!(got, vec![Ok(Some(1)), Ok(None), Ok(None)]);
    let got = Task::yield_many(&mut t[1..], opts).await;
    assert_eq!(
        got,
        vec![Ok(None), Err(TaskError::Exited(ExitReason::Normal))]
    );
}

#[tokio::test(start_paused = true)]
async fn yield_many_2_returns_once_all_tasks_have_replied_below_limit() {
    let rt = Runtime::new();
    let mut t = vec![Task::start(&rt, async { 7u64 }).await.unwrap()];
    let opts = YieldMany::new().limit(2).timeout(Duration::MAX);
    assert_eq!(Task::yield_many(&mut t, opts).await, vec![Ok(Some(7))]);
}

#[tokio::test(start_paused = true)]
async fn yield_many_2_shuts_down_on_timeout_when_configured() {
    let rt = Runtime::new();
    let mut t = vec![Task::start(&rt, forever::<u64>()).await.unwrap()];
    let p = t[0].process().unwrap();
    let opts = YieldMany::new()
        .timeout(Duration::ZERO)
        .on_timeout(OnTimeout::KillTask);
    assert_eq!(Task::yield_many(&mut t, opts).await, vec![Ok(None)]);
    assert!(!p.is_alive());
}

#[tokio::test(start_paused = true)]
async fn yield_many_2_ignores_on_timeout_when_configured() {
    let rt = Runtime::new();
    let mut t = vec![Task::start(&rt, sleep(10)).await.unwrap()];
    let p = t[0].process().unwrap();
    let opts = YieldMany::new()
        .timeout(Duration::ZERO)
        .on_timeout(OnTimeout::Ignore);
    assert_eq!(Task::yield_many(&mut t, opts).await, vec![Ok(None)]);
    assert!(p.is_alive());
    assert_eq!(p.wait().await, ExitReason::Normal);
    assert_eq!(t[0].yield_timeout(Duration::ZERO).await, Ok(None));
}

#[tokio::test(start_paused = true)]
async fn yield_many_2_returns_results_from_multiple_tasks_with_limit_and_on_timeout() {
    let rt = Runtime::new();
    let mut t = vec![
        Task::start(&rt, forever::<u64>()).await.unwrap(),
        Task::start(&rt, async { 2u64 }).await.unwrap(),
    ];
    let p = t[0].process().unwrap();
    let opts = YieldMany::new()
        .timeout(Duration::MAX)
        .on_timeout(OnTimeout::KillTask)
        .limit(1);
    assert_eq!(
        Task::yield_many(&mut t, opts).await,
        vec![Ok(None), Ok(Some(2))]
    );
    assert!(p.is_alive());
    let opts = opts.timeout(Duration::ZERO);
    assert_eq!(Task::yield_many(&mut t[..1], opts).await, vec![Ok(None)]);
    assert!(!p.is_alive());
}
