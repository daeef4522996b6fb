//! An owner process to start tasks from: it runs closures inside its own callbacks (so tasks
//! it starts are linked to it) and logs the exit signals it traps.

use beamline::{CallReply, Ctx, GenServer, Info, InitError, Next, Runtime, ServerRef};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

pub type Log = Arc<Mutex<Vec<String>>>;

pub fn seen(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

type Job = Box<dyn FnOnce(Runtime) -> Pin<Box<dyn Future<Output = String> + Send>> + Send>;

/// Runs jobs as itself; logs `exit <reason>` for each trapped exit signal.
pub struct Owner {
    log: Log,
}

impl GenServer for Owner {
    type Args = (bool, Log);
    type Call = Job;
    type Reply = String;
    type Cast = ();
    type Info = ();

    async fn init((trap, log): (bool, Log), ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.trap_exit(trap);
        Ok(Owner { log })
    }

    async fn handle_call(&mut self, job: Job, ctx: &mut Ctx<Self>) -> CallReply<String> {
        CallReply::reply(job(ctx.runtime().clone()).await)
    }

    async fn handle_info(&mut self, msg: Info<()>, _ctx: &mut Ctx<Self>) -> Next {
        if let Info::Exit { reason, .. } = msg {
            self.log.lock().unwrap().push(format!("exit {reason}"));
        }
        Next::noreply()
    }
}

pub async fn owner(rt: &Runtime, trap: bool) -> (ServerRef<Owner>, Log) {
    let log = Log::default();
    let owner = rt.start::<Owner>((trap, log.clone())).await.unwrap();
    (owner, log)
}

/// Run `f` inside the owner, as the owner.
pub async fn inside<F, Fut>(owner: &ServerRef<Owner>, f: F) -> String
where
    F: FnOnce(Runtime) -> Fut + Send + 'static,
    Fut: Future<Output = String> + Send + 'static,
{
    owner
        .call(Box::new(move |rt| Box::pin(f(rt))))
        .await
        .unwrap()
}

/// A future that never finishes (Elixir's `Process.sleep(:infinity)`).
pub async fn forever<T>() -> T {
    std::future::pending().await
}

/// Sleep `ms` on tokio's clock, then return `ms` (Elixir's `sleep/1` helper).
pub async fn sleep(ms: u64) -> u64 {
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    ms
}
