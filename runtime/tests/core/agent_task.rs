use beamline::{Agent, CallReply, Ctx, ExitReason, GenServer, InitError, Runtime, Task, TaskError};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn agent_get_update_and_get_and_update() {
    let rt = Runtime::new();
    let a = Agent::start(&rt, vec![1, 2]).await.unwrap();
    a.update(|v| v.push(3)).await.unwrap();
    assert_eq!(a.get(|v| v.len()).await, Ok(3));
    let old = a
        .get_and_update(|v| (v.clone(), Some(vec![9])))
        .await
        .unwrap();
    assert_eq!(old, vec![1, 2, 3]);
    assert_eq!(a.get(|v| v.clone()).await, Ok(vec![9]));
    assert_eq!(a.server().info().kind, beamline::wire::ProcessKind::Agent);
}

#[tokio::test(start_paused = true)]
async fn task_awaits_with_a_timeout_and_is_a_visible_process() {
    let rt = Runtime::new();
    let mut t = Task::start(&rt, async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        42
    })
    .await
    .unwrap();
    let info = rt.process(t.pid().unwrap()).unwrap().info();
    assert_eq!(info.kind, beamline::wire::ProcessKind::Task);
    assert_eq!(
        t.await_timeout(Duration::from_secs(1)).await,
        Err(TaskError::Timeout(Duration::from_secs(1)))
    );
    assert_eq!(t.await_timeout(Duration::from_secs(5)).await, Ok(42));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_task_reports_its_exit() {
    let rt = Runtime::new();
    let mut t = Task::start(&rt, async { panic!("task failed") })
        .await
        .unwrap();
    assert_eq!(
        t.await_timeout(Duration::from_secs(5)).await,
        Err::<(), _>(TaskError::Exited(ExitReason::Panic("task failed".into())))
    );
}

#[tokio::test(start_paused = true)]
async fn only_the_owner_may_await_a_task() {
    struct Holder(Option<Task<u8>>);
    impl GenServer for Holder {
        type Args = Task<u8>;
        type Call = ();
        type Reply = Result<u8, TaskError>;
        type Cast = ();
        type Info = ();
        async fn init(t: Task<u8>, _: &mut Ctx<Self>) -> Result<Self, InitError> {
            Ok(Holder(Some(t)))
        }
        async fn handle_call(&mut self, _: (), _: &mut Ctx<Self>) -> CallReply<Self::Reply> {
            let t = self.0.as_mut().unwrap();
            CallReply::reply(t.await_timeout(Duration::from_secs(1)).await)
        }
    }
    let rt = Runtime::new();
    let t = Task::start(&rt, async { 1u8 }).await.unwrap();
    let holder = rt.start::<Holder>(t).await.unwrap();
    assert_eq!(holder.call(()).await, Ok(Err(TaskError::NotOwner)));
}
