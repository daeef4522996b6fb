//! Murabaha contracts (seed 002): one state machine process per contract id, registered as
//! `contracts/<id>` and started under a dynamic supervisor.
//!
//! A contract goes `draft -> approved -> signed -> active -> settled`; each step is a call,
//! and a step from the wrong state is refused (the seed's "handle all states explicitly"). A
//! settled contract stops with reason `normal`; being `transient`, it is not restarted. The
//! desk (`contracts/desk`) opens contracts as the wave rises and pushes each one along, so
//! the `contracts` supervisor's children come and go.

use super::notifications;
use crate::load::{Rng, Wave};
use beamline::supervisor::{ChildSpec, DynamicSupervisor, Restart, Strategy, SupervisorSpec};
use beamline::{CallReply, Ctx, ExitReason, GenServer, Info, InitError, Name, Next};
use std::time::Duration;

/// The contracts' dynamic supervisor.
pub const SUPERVISOR: &str = "contracts";
/// The registry contracts are registered in.
pub const REGISTRY: &str = "contracts";
/// Open contracts at most.
pub const MAX_OPEN: usize = 40;

/// A contract's name in the registry.
pub fn contract_name(id: u64) -> Name {
    Name::via(REGISTRY, id)
}

/// Where a contract is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Drafted, waiting for approval.
    Draft,
    /// Approved by the bank.
    Approved,
    /// Signed by the customer.
    Signed,
    /// Being paid off in installments.
    Active,
    /// Paid off.
    Settled,
}

/// One Murabaha sale: the bank buys an asset and sells it on at cost plus a disclosed profit,
/// paid in installments.
pub struct Contract {
    id: u64,
    stage: Stage,
    cost: u64,
    profit: u64,
    paid: u64,
}

/// Steps of a contract.
#[derive(Debug)]
pub enum Step {
    /// Draft -> approved.
    Approve,
    /// Approved -> signed.
    Sign,
    /// Signed or active: pay an installment; the last one settles the contract.
    Pay(u64),
    /// Where it is.
    Stage,
}

/// The new stage, or why the step was refused.
pub type StepReply = Result<Stage, String>;

impl Contract {
    fn price(&self) -> u64 {
        self.cost + self.profit
    }
}

impl GenServer for Contract {
    type Args = (u64, u64);
    type Call = Step;
    type Reply = StepReply;
    type Cast = ();
    type Info = ();

    const INSPECTABLE: bool = true;

    async fn init((id, cost): (u64, u64), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Contract {
            id,
            stage: Stage::Draft,
            cost,
            profit: cost / 10,
            paid: 0,
        })
    }

    async fn handle_call(&mut self, step: Step, ctx: &mut Ctx<Self>) -> CallReply<StepReply> {
        let next = match (self.stage, step) {
            (s, Step::Stage) => return CallReply::reply(Ok(s)),
            (Stage::Draft, Step::Approve) => Stage::Approved,
            (Stage::Approved, Step::Sign) => Stage::Signed,
            (Stage::Signed | Stage::Active, Step::Pay(n)) => {
                self.paid = (self.paid + n).min(self.price());
                if self.paid == self.price() {
                    Stage::Settled
                } else {
                    Stage::Active
                }
            }
            (s, step) => {
                return CallReply::reply(Err(format!("cannot {step:?} a contract in {s:?}")));
            }
        };
        if next != self.stage && next != Stage::Active {
            notifications::notify(
                ctx.runtime(),
                format!("contract-{}", self.id),
                format!("contract {} is now {next:?}", self.id),
            );
        }
        self.stage = next;
        if next == Stage::Settled {
            // Done: reply, then stop normally (transient, so not restarted).
            return CallReply::stop(ExitReason::Normal, Some(Ok(next)));
        }
        CallReply::reply(Ok(next))
    }

    fn inspect(&self) -> String {
        format!(
            "contract {}\nstage: {:?}\ncost: {}  profit: {}\npaid: {} of {}",
            self.id,
            self.stage,
            self.cost,
            self.profit,
            self.paid,
            self.price()
        )
    }
}

/// The desk: opens contracts and pushes them through their stages.
pub struct Desk {
    wave: Wave,
    rng: Rng,
    next_id: u64,
}

/// The desk's tick.
#[derive(Debug)]
pub struct Tick;

impl GenServer for Desk {
    type Args = Wave;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Tick;

    async fn init(wave: Wave, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_interval(|| Tick, Duration::from_millis(300));
        let next_id = ctx
            .runtime()
            .registered_keys(REGISTRY)
            .iter()
            .filter_map(|k| k.parse::<u64>().ok())
            .max()
            .map_or(1000, |m| m + 1);
        Ok(Desk {
            wave,
            rng: Rng::new(3),
            next_id,
        })
    }

    async fn handle_info(&mut self, msg: Info<Tick>, ctx: &mut Ctx<Self>) -> Next {
        if !matches!(msg, Info::Msg(Tick)) {
            return Next::noreply();
        }
        let rt = ctx.runtime().clone();
        let open = rt.registered_keys(REGISTRY);
        if open.len() < MAX_OPEN
            && self.rng.chance(self.wave.level() * 0.8)
            && let Some(sup) = DynamicSupervisor::whereis(&rt, SUPERVISOR)
        {
            let id = self.next_id;
            self.next_id += 1;
            let cost = self.rng.between(10, 90) * 100;
            let spec = ChildSpec::worker::<Contract>(format!("contract-{id}"), (id, cost))
                .name(contract_name(id))
                .restart(Restart::Transient);
            let _ = sup.start_child(spec).await;
        }
        // Push a few contracts one step along.
        for _ in 0..3.min(open.len()) {
            let key = &open[self.rng.below(open.len() as u64) as usize];
            let name = Name::via(REGISTRY, key);
            let Ok(Ok(stage)) = rt.call::<Contract>(name.clone(), Step::Stage).await else {
                continue;
            };
            let step = match stage {
                Stage::Draft => Step::Approve,
                Stage::Approved => Step::Sign,
                Stage::Signed | Stage::Active => Step::Pay(self.rng.between(5, 25) * 100),
                Stage::Settled => continue,
            };
            let _ = rt.call::<Contract>(name, step).await;
        }
        Next::noreply()
    }
}

/// The contracts' subtree: `contracts/sup` -> `contracts` (dynamic) -> `contracts/N`, and
/// `contracts/desk`.
pub fn child_spec(wave: Wave) -> ChildSpec {
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .name("contracts/sup")
        .child(super::entities(SUPERVISOR, MAX_OPEN + 10))
        .child(super::named::<Desk>("contracts/desk", wave));
    ChildSpec::supervisor("contracts/sup", spec)
}
