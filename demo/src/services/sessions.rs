//! User sessions: one process per logged-in user (seed 000's "each socket connection is a
//! GenServer"), registered as `sessions/<id>`, ended by their own idle timeout.
//!
//! Nobody tells a session to end: each asks for an idle timeout after every message, and when
//! it fires the session stops with reason `normal`. The gateway logs users in (if the rate
//! limiter agrees) and keeps some of them busy, so sessions appear in waves and expire in the
//! calm that follows.

use super::limiter;
use crate::load::{Rng, Wave};
use beamline::supervisor::{ChildSpec, DynamicSupervisor, Restart, Strategy, SupervisorSpec};
use beamline::{CallReply, Ctx, ExitReason, GenServer, Info, InitError, Name, Next, StateSize};
use std::time::Duration;

/// The sessions' dynamic supervisor.
pub const SUPERVISOR: &str = "sessions";
/// The registry sessions are registered in.
pub const REGISTRY: &str = "sessions";
/// Sessions at most.
pub const MAX_SESSIONS: usize = 120;

/// One user's session.
pub struct Session {
    user: u64,
    idle: Duration,
    pages: Vec<String>,
}

/// Requests to a session.
#[derive(Debug)]
pub enum SessionCall {
    /// The user viewed a page.
    Visit(String),
}

impl GenServer for Session {
    type Args = (u64, Duration);
    type Call = SessionCall;
    type Reply = usize;
    type Cast = ();
    type Info = ();

    async fn init((user, idle): (u64, Duration), ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.set_idle_timeout(idle);
        Ok(Session {
            user,
            idle,
            pages: Vec::new(),
        })
    }

    async fn handle_call(
        &mut self,
        SessionCall::Visit(page): SessionCall,
        _ctx: &mut Ctx<Self>,
    ) -> CallReply<usize> {
        if self.pages.len() == 32 {
            self.pages.remove(0);
        }
        self.pages.push(page);
        CallReply::reply(self.pages.len()).with_timeout(self.idle)
    }

    async fn handle_info(&mut self, msg: Info<()>, _ctx: &mut Ctx<Self>) -> Next {
        match msg {
            Info::Timeout => {
                tracing::debug!(user = self.user, "session expired");
                Next::stop(ExitReason::Normal)
            }
            _ => Next::timeout(self.idle),
        }
    }

    fn state_size(&self) -> StateSize {
        let heap = self.pages.capacity() * std::mem::size_of::<String>()
            + self.pages.iter().map(String::capacity).sum::<usize>();
        StateSize::deep(std::mem::size_of::<Self>() + heap)
    }
}

/// The gateway: logs users in and keeps some of them clicking.
pub struct Gateway {
    wave: Wave,
    rng: Rng,
    next_user: u64,
}

/// The gateway's tick.
#[derive(Debug)]
pub struct Tick;

impl GenServer for Gateway {
    type Args = Wave;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Tick;

    async fn init(wave: Wave, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_interval(|| Tick, Duration::from_millis(250));
        Ok(Gateway {
            wave,
            rng: Rng::new(4),
            next_user: 1,
        })
    }

    async fn handle_info(&mut self, msg: Info<Tick>, ctx: &mut Ctx<Self>) -> Next {
        if !matches!(msg, Info::Msg(Tick)) {
            return Next::noreply();
        }
        let rt = ctx.runtime().clone();
        let live = rt.registered_keys(REGISTRY);
        let logins = self.wave.ops(2.0, &mut self.rng);
        if let Some(sup) = DynamicSupervisor::whereis(&rt, SUPERVISOR) {
            for _ in 0..logins {
                if live.len() >= MAX_SESSIONS || !limiter::acquire(&rt, "login").await {
                    break;
                }
                let user = self.next_user;
                self.next_user += 1;
                let idle = Duration::from_secs(self.rng.between(3, 8));
                let spec = ChildSpec::worker::<Session>(format!("session-{user}"), (user, idle))
                    .name(Name::via(REGISTRY, user))
                    .restart(Restart::Temporary);
                let _ = sup.start_child(spec).await;
            }
        }
        // Some users click on; the others will time out.
        for _ in 0..self.wave.ops(6.0, &mut self.rng).min(live.len() as u32) {
            let key = &live[self.rng.below(live.len() as u64) as usize];
            let page = format!("/page/{}", self.rng.below(50));
            let _ = rt
                .call::<Session>(Name::via(REGISTRY, key), SessionCall::Visit(page))
                .await;
        }
        Next::noreply()
    }
}

/// The sessions' subtree: `sessions/sup` -> `sessions` (dynamic) -> `sessions/N`, and
/// `sessions/gateway`.
pub fn child_spec(wave: Wave) -> ChildSpec {
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .name("sessions/sup")
        .child(super::entities(SUPERVISOR, MAX_SESSIONS + 10))
        .child(super::named::<Gateway>("sessions/gateway", wave));
    ChildSpec::supervisor("sessions/sup", spec)
}
