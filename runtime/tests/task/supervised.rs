//! Tasks under supervision: `{Task, fun}` children (task_test.exs) and `Task.Supervisor`
//! (task/supervisor_test.exs).

use crate::support::{forever, inside, owner, sleep};
use beamline::supervisor::{
    ChildSpec, Counts, DynamicSupervisorSpec, Restart, Shutdown, Strategy, Supervisor,
    SupervisorSpec,
};
use beamline::task::TaskOpts;
use beamline::wire::ProcessKind;
use beamline::{ExitReason, Runtime, Task, TaskError, TaskSupervisor};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

async fn task_sup(rt: &Runtime) -> TaskSupervisor {
    TaskSupervisor::start(rt, DynamicSupervisorSpec::new())
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn can_be_supervised_directly() {
    let rt = Runtime::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let spec = SupervisorSpec::new(Strategy::OneForOne).child(ChildSpec::task("t", move || {
        let r = r.clone();
        async move {
            sleep(10).await;
            r.fetch_add(1, SeqCst);
        }
    }));
    let sup = Supervisor::start(&rt, spec).await.unwrap();
    let child = sup.which_children().await.unwrap()[0].clone();
    assert_eq!(child.restart, Restart::Temporary);
    let p = child.process.unwrap();
    assert_eq!(p.info().kind, ProcessKind::Task);
    assert_eq!(p.wait().await, ExitReason::Normal);
    // Temporary: it ran once and is forgotten.
    assert_eq!(sup.count_children().await.unwrap().specs, 0);
    assert_eq!(runs.load(SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn counts_and_returns_children() {
    let rt = Runtime::new();
    let sup = task_sup(&rt).await;
    assert_eq!(sup.children().await, Ok(vec![]));
    assert_eq!(sup.count_children().await, Ok(Counts::default()));
}

#[tokio::test(start_paused = true)]
async fn async_1_spawns_tasks_under_the_supervisor() {
    let rt = Runtime::new();
    let sup = task_sup(&rt).await;
    let mut t = sup.start_task(sleep(10)).await.unwrap();
    let pid = t.pid().unwrap();
    assert_eq!(sup.children().await, Ok(vec![pid]));
    let info = t.process().unwrap().info();
    assert_eq!(
        (info.kind, info.parent),
        (ProcessKind::Task, Some(sup.pid()))
    );
    assert_eq!(t.await_timeout(Duration::from_secs(5)).await, Ok(10));
}

#[tokio::test(start_paused = true)]
async fn async_1_links_the_task_to_the_caller() {
    let rt = Runtime::new();
    let sup = task_sup(&rt).await;
    let (owner, _) = owner(&rt, false).await;
    inside(&owner, move |_| async move {
        std::mem::forget(sup.start_task(async { panic!("oops") }).await.unwrap());
        String::new()
    })
    .await;
    assert_eq!(
        owner.process().wait().await,
        ExitReason::Panic("oops".into())
    );
}

#[tokio::test(start_paused = true)]
async fn async_1_with_custom_shutdown() {
    let rt = Runtime::new();
    let sup = task_sup(&rt).await;
    let brutal = sup.with(TaskOpts::new().shutdown(Shutdown::Brutal));
    let t = brutal.start_task(forever::<()>()).await.unwrap();
    let p = t.process().unwrap();
    sup.stop().await.expect("the process was running");
    assert_eq!(p.wait().await, ExitReason::Killed);
}

#[tokio::test(start_paused = true)]
async fn async_1_raises_when_max_children_is_reached() {
    let rt = Runtime::new();
    let sup = TaskSupervisor::start(&rt, DynamicSupervisorSpec::new().max_children(1))
        .await
        .unwrap();
    let _running = sup.start_task(forever::<()>()).await.unwrap();
    let refused = sup.start_task(async {}).await.unwrap_err();
    assert!(
        matches!(&refused, TaskError::NotStarted(m) if m.contains("reached the maximum number of tasks")),
        "{refused:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn async_nolink_1_spawns_a_task_under_the_supervisor_without_linking_to_the_caller() {
    let rt = Runtime::new();
    let sup = task_sup(&rt).await;
    let (owner, _) = owner(&rt, false).await;
    let s = sup.clone();
    let got = inside(&owner, move |_| async move {
        let mut t = s.start_task_nolink(async { panic!("oops") }).await.unwrap();
        format!("{:?}", t.await_timeout(Duration::from_secs(5)).await)
    })
    .await;
    let want: Result<(), _> = Err(TaskError::Exited(ExitReason::Panic("oops".into())));
    assert_eq!(got, format!("{want:?}"));
    inside(&owner, |_| async { String::new() }).await;
    assert!(owner.is_alive());
}

#[tokio::test(start_paused = true)]
async fn start_child_1() {
    let rt = Runtime::new();
    let sup = task_sup(&rt).await;
    let p = sup.start_child(|| sleep(10).map_unit()).await.unwrap();
    assert_eq!(sup.children().await, Ok(vec![p.pid()]));
    assert_eq!(p.wait().await, ExitReason::Normal);
    assert_eq!(sup.children().await, Ok(vec![]));
}

#[tokio::test(start_paused = true)]
async fn start_child_1_with_custom_shutdown() {
    let rt = Runtime::new();
    let sup = task_sup(&rt).await;
    let brutal = sup.with(TaskOpts::new().shutdown(Shutdown::Brutal));
    let p = brutal.start_child(forever::<()>).await.unwrap();
    sup.stop().await.expect("the process was running");
    assert_eq!(p.wait().await, ExitReason::Killed);
}

#[tokio::test(start_paused = true)]
async fn start_child_1_with_custom_restart() {
    let rt = Runtime::new();
    let sup = task_sup(&rt).await;
    let starts = Arc::new(AtomicUsize::new(0));
    let s = starts.clone();
    let permanent = sup.with(TaskOpts::new().restart(Restart::Permanent));
    let p = permanent
        .start_child(move || {
            s.fetch_add(1, SeqCst);
            forever::<()>()
        })
        .await
        .unwrap();
    p.stop(ExitReason::Shutdown, None)
        .await
        .expect("the process was running");
    let again = sup.children().await.unwrap();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0], p.pid());
    assert_eq!(starts.load(SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn terminate_child_2() {
    let rt = Runtime::new();
    let sup = task_sup(&rt).await;
    let p = sup.start_child(forever::<()>).await.unwrap();
    assert_eq!(sup.children().await, Ok(vec![p.pid()]));
    assert_eq!(sup.terminate_child(p.pid()).await, Ok(()));
    assert_eq!(sup.children().await, Ok(vec![]));
    assert_eq!(
        sup.terminate_child(p.pid()).await,
        Err(beamline::supervisor::SupervisorError::NotFound)
    );
}

#[tokio::test(start_paused = true)]
async fn await_1_exits_on_task_error() {
    let rt = Runtime::new();
    let sup = task_sup(&rt).await;
    let mut t: Task<()> = sup.start_task(async { panic!("oops") }).await.unwrap();
    assert_eq!(
        t.await_timeout(Duration::from_secs(5)).await,
        Err(TaskError::Exited(ExitReason::Panic("oops".into())))
    );
}

trait MapUnit {
    async fn map_unit(self);
}

impl<F: std::future::Future + Send> MapUnit for F {
    async fn map_unit(self) {
        self.await;
    }
}
