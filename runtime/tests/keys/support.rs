//! A process to register from: it runs closures as itself.

use beamline::key_registry::{Keys, RegistrySpec};
use beamline::{CallReply, Ctx, GenServer, InitError, Registry, Runtime, ServerRef};

pub type Reg = Registry<String, i64>;

type Job = Box<dyn FnOnce() -> String + Send>;

/// Runs each call's closure inside its own callback, so `self` is this process.
pub struct Holder;

impl GenServer for Holder {
    type Args = ();
    type Call = Job;
    type Reply = String;
    type Cast = ();
    type Info = ();

    async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Holder)
    }

    async fn handle_call(&mut self, job: Job, _ctx: &mut Ctx<Self>) -> CallReply<String> {
        CallReply::reply(job())
    }
}

pub async fn holder(rt: &Runtime) -> ServerRef<Holder> {
    rt.start::<Holder>(()).await.unwrap()
}

/// Run `f` as `holder`; its answer is `{:?}` of what `f` returns.
pub async fn run<R: std::fmt::Debug>(
    holder: &ServerRef<Holder>,
    f: impl FnOnce() -> R + Send + 'static,
) -> String {
    holder
        .call(Box::new(move || format!("{:?}", f())))
        .await
        .unwrap()
}

pub async fn registry(rt: &Runtime, keys: Keys) -> Reg {
    Registry::start(rt, RegistrySpec::new(keys)).await.unwrap()
}

pub fn s(x: &str) -> String {
    x.to_string()
}
