//! `async_stream` (task_test.exs).

use crate::support::{forever, sleep};
use beamline::task::{StreamOnTimeout, StreamOpts, TaskStream};
use beamline::{ExitReason, Runtime, Task, TaskError};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

async fn collect<I, F, Fut, T>(mut s: TaskStream<I, F, T>) -> Vec<Result<T, TaskError>>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut out = Vec::new();
    while let Some(r) = s.next().await {
        out.push(r);
    }
    out
}

fn ok(v: &[u64]) -> Vec<Result<u64, TaskError>> {
    v.iter().map(|&v| Ok(v)).collect()
}

const TIMEOUT: Result<u64, TaskError> = Err(TaskError::Timeout(Duration::from_millis(50)));

#[tokio::test(start_paused = true)]
async fn async_stream_2_timeout() {
    let rt = Runtime::new();
    let opts = StreamOpts::new().timeout(Duration::from_millis(1));
    let s = Task::async_stream(&rt, [0], |_| forever::<u64>(), opts).unwrap();
    assert_eq!(
        collect(s).await,
        vec![Err(TaskError::Timeout(Duration::from_millis(1)))]
    );
}

#[tokio::test(start_paused = true)]
async fn async_stream_2_streams_an_enumerable_with_ordered_false() {
    let rt = Runtime::new();
    let opts = StreamOpts::new().max_concurrency(1).ordered(false);
    let s = Task::async_stream(&rt, [4, 3, 2, 1], |n| sleep(n * 100), opts).unwrap();
    assert_eq!(collect(s).await, ok(&[400, 300, 200, 100]));
    let opts = StreamOpts::new().max_concurrency(4).ordered(false);
    let s = Task::async_stream(&rt, [4, 3, 2, 1], |n| sleep(n * 100), opts).unwrap();
    assert_eq!(collect(s).await, ok(&[100, 200, 300, 400]));
}

#[tokio::test(start_paused = true)]
async fn async_stream_2_streams_an_enumerable_with_ordered_false_on_timeout_kill_task() {
    let rt = Runtime::new();
    let opts = StreamOpts::new()
        .max_concurrency(4)
        .ordered(false)
        .on_timeout(StreamOnTimeout::KillTask)
        .timeout(Duration::from_millis(50));
    let s = Task::async_stream(&rt, [100, 1, 100, 1], sleep, opts).unwrap();
    assert_eq!(collect(s).await, vec![Ok(1), Ok(1), TIMEOUT, TIMEOUT]);
}

#[tokio::test(start_paused = true)]
async fn async_stream_2_streams_an_enumerable_with_infinite_timeout() {
    let rt = Runtime::new();
    let opts = StreamOpts::new().timeout(Duration::MAX);
    let s = Task::async_stream(&rt, [1], |_| async { 1u64 }, opts).unwrap();
    assert_eq!(collect(s).await, ok(&[1]));
}

#[tokio::test(start_paused = true)]
async fn async_stream_2_does_not_allow_streaming_with_max_concurrency_0() {
    let rt = Runtime::new();
    let opts = StreamOpts::new().max_concurrency(0);
    assert_eq!(
        Task::async_stream(&rt, [1], |_| async { 1u64 }, opts).err(),
        Some(TaskError::Invalid(
            "max_concurrency must be greater than zero"
        ))
    );
}

#[tokio::test(start_paused = true)]
async fn async_stream_2_does_not_allow_streaming_with_invalid_timeout() {
    let rt = Runtime::new();
    let opts = StreamOpts::new().timeout(Duration::ZERO);
    assert!(matches!(
        Task::async_stream(&rt, [1], |_| async { 1u64 }, opts),
        Err(TaskError::Invalid(_))
    ));
}

/// Elixir runs each of these with max_concurrency ==, < and > the number of items.
const CONCURRENCIES: [usize; 3] = [4, 2, 8];

#[tokio::test(start_paused = true)]
async fn async_stream_with_max_concurrency_streams_an_enumerable_with_fun() {
    let rt = Runtime::new();
    for c in CONCURRENCIES {
        let opts = StreamOpts::new().max_concurrency(c);
        let s = Task::async_stream(&rt, 1..=4, sleep, opts).unwrap();
        assert_eq!(collect(s).await, ok(&[1, 2, 3, 4]));
    }
}

#[tokio::test(start_paused = true)]
async fn async_stream_with_max_concurrency_streams_an_enumerable_with_slowest_first() {
    let rt = Runtime::new();
    for c in CONCURRENCIES {
        let opts = StreamOpts::new().max_concurrency(c);
        let s = Task::async_stream(&rt, [4, 3, 2, 1], sleep, opts).unwrap();
        assert_eq!(collect(s).await, ok(&[4, 3, 2, 1]));
    }
}

#[tokio::test(start_paused = true)]
async fn async_stream_with_max_concurrency_never_runs_more_tasks_than_allowed() {
    let rt = Runtime::new();
    for c in CONCURRENCIES {
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (n, p) = (now.clone(), peak.clone());
        let opts = StreamOpts::new().max_concurrency(c);
        let s = Task::async_stream(
            &rt,
            [5, 1, 4, 2, 3, 1, 2],
            move |ms| {
                let (n, p) = (n.clone(), p.clone());
                async move {
                    p.fetch_max(n.fetch_add(1, SeqCst) + 1, SeqCst);
                    sleep(ms).await;
                    n.fetch_sub(1, SeqCst);
                    ms
                }
            },
            opts,
        )
        .unwrap();
        assert_eq!(collect(s).await, ok(&[5, 1, 4, 2, 3, 1, 2]));
        assert_eq!(peak.load(SeqCst), c.min(7));
    }
}

#[tokio::test(start_paused = true)]
async fn async_stream_with_max_concurrency_streams_an_enumerable_with_exits() {
    let rt = Runtime::new();
    for c in CONCURRENCIES {
        let opts = StreamOpts::new().max_concurrency(c);
        let s = Task::async_stream(
            &rt,
            1..=4,
            |n| async move {
                sleep(5 - n).await;
                panic!("{n}")
            },
            opts,
        )
        .unwrap();
        let want: Vec<Result<(), TaskError>> = (1..=4)
            .map(|n| Err(TaskError::Exited(ExitReason::Panic(n.to_string()))))
            .collect();
        assert_eq!(collect(s).await, want);
    }
}

#[tokio::test(start_paused = true)]
async fn async_stream_with_max_concurrency_shuts_down_unused_tasks() {
    let rt = Runtime::new();
    for c in CONCURRENCIES {
        let opts = StreamOpts::new().max_concurrency(c);
        let mut s = Task::async_stream(
            &rt,
            [Some(0), None, None, None],
            |ms| async move {
                match ms {
                    Some(ms) => sleep(ms).await,
                    None => forever().await,
                }
            },
            opts,
        )
        .unwrap();
        assert_eq!(s.next().await, Some(Ok(0)));
        let running: Vec<_> = rt
            .processes()
            .into_iter()
            .filter(|p| p.kind == beamline::wire::ProcessKind::Task)
            .map(|p| rt.process(p.pid).unwrap())
            .collect();
        assert_eq!(running.len(), c.min(4) - 1);
        drop(s);
        // Nothing is left running: every task the stream started is killed.
        for p in running {
            let reason = tokio::time::timeout(Duration::from_secs(1), p.wait()).await;
            assert_eq!(reason, Ok(ExitReason::Killed));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn async_stream_with_max_concurrency_with_outer_halt_on_success() {
    let rt = Runtime::new();
    for c in CONCURRENCIES {
        let opts = StreamOpts::new().max_concurrency(c);
        let mut s = Task::async_stream(&rt, 1..=8, sleep, opts).unwrap();
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(s.next().await.unwrap());
        }
        assert_eq!(got, ok(&[1, 2, 3, 4]));
    }
}

#[tokio::test(start_paused = true)]
async fn async_stream_with_max_concurrency_with_on_timeout_set_to_kill_task() {
    let rt = Runtime::new();
    for c in CONCURRENCIES {
        let opts = StreamOpts::new()
            .max_concurrency(c)
            .on_timeout(StreamOnTimeout::KillTask)
            .timeout(Duration::from_millis(50));
        let s = Task::async_stream(&rt, [100, 1, 100, 1], sleep, opts).unwrap();
        assert_eq!(collect(s).await, vec![TIMEOUT, Ok(1), TIMEOUT, Ok(1)]);
    }
}
