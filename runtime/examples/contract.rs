//! The seeds' Murabaha contract: one state-machine process per contract id, found through the
//! registry by key, started on demand under a DynamicSupervisor.
//!
//! `cargo run -p beamline --example contract`

use beamline::supervisor::{ChildSpec, DynamicSupervisor, DynamicSupervisorSpec, Restart};
use beamline::{CallReply, Ctx, GenServer, InitError, Name, Runtime};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    Draft,
    Approved,
    Purchased,
    Settled,
}

struct Contract {
    id: u32,
    stage: Stage,
}

#[derive(Debug)]
enum Event {
    Approve,
    Purchase,
    Settle,
    Stage,
}

impl GenServer for Contract {
    type Args = u32;
    type Call = Event;
    type Reply = Result<Stage, String>;
    type Cast = ();
    type Info = ();

    async fn init(id: u32, _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Contract {
            id,
            stage: Stage::Draft,
        })
    }

    async fn handle_call(&mut self, ev: Event, _ctx: &mut Ctx<Self>) -> CallReply<Self::Reply> {
        let next = match (self.stage, &ev) {
            (s, Event::Stage) => Ok(s),
            (Stage::Draft, Event::Approve) => Ok(Stage::Approved),
            (Stage::Approved, Event::Purchase) => Ok(Stage::Purchased),
            (Stage::Purchased, Event::Settle) => Ok(Stage::Settled),
            (s, e) => Err(format!("contract {}: cannot {e:?} when {s:?}", self.id)),
        };
        if let Ok(s) = next {
            self.stage = s;
        }
        CallReply::reply(next)
    }
}

/// Find contract `id`, starting it under the supervisor if it is not running yet.
async fn contract(rt: &Runtime, sup: &DynamicSupervisor, id: u32) -> beamline::ServerRef<Contract> {
    let name = Name::via("contracts", id);
    if let Some(c) = rt.whereis::<Contract>(name.clone()) {
        return c;
    }
    let spec = ChildSpec::worker::<Contract>(format!("contract-{id}"), id)
        .name(name)
        .restart(Restart::Transient);
    sup.start_child(spec)
        .await
        .expect("contract starts")
        .and_then(|p| p.downcast())
        .expect("a contract process")
}

#[tokio::main]
async fn main() {
    let rt = Runtime::new();
    let sup = DynamicSupervisor::start(&rt, DynamicSupervisorSpec::new().name("contracts"))
        .await
        .expect("supervisor starts");
    for id in [101, 102] {
        let c = contract(&rt, &sup, id).await;
        println!("{id}: {:?}", c.call(Event::Approve).await);
    }
    let c = contract(&rt, &sup, 101).await;
    println!("101: {:?}", c.call(Event::Purchase).await);
    println!("101: {:?}", c.call(Event::Settle).await);
    let c = contract(&rt, &sup, 102).await;
    println!("102: {:?}", c.call(Event::Settle).await);
    println!("102 is at {:?}", c.call(Event::Stage).await);
    println!("contracts running: {:?}", rt.registered_keys("contracts"));
}
