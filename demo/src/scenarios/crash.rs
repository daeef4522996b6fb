//! `crash`: a worker that panics now and then, and then too often.
//!
//! `crash/flaky` panics every [`PERIOD`]; its supervisor `crash/sup` restarts it each time (the
//! restart count on the child slot goes 1, 2, 3: the observer keeps it on the slot, so the new
//! process shows it). After the third restart the worker fails within a second, which is one
//! restart more than `crash/sup` allows in its window: it gives up, stops, and escalates to
//! `scenario/crash`, which restarts the whole `crash/sup` subtree and the cycle begins again.
//! In the observer: the restart_storm alert on the slot, then the escalation.
//!
//! Bounded: a cycle lasts about 13 s and `scenario/crash` tolerates 10 escalations a minute,
//! far more than one cycle makes.

use super::WORKER_SHUTDOWN;
use beamline::supervisor::{ChildSpec, Strategy, SupervisorSpec};
use beamline::{Ctx, GenServer, Info, InitError, Next};
use std::time::Duration;

/// The worker's registered name.
pub const WORKER: &str = "crash/flaky";
/// The worker's supervisor.
pub const SUPERVISOR: &str = "crash/sup";
/// Time between ordinary crashes.
pub const PERIOD: Duration = Duration::from_secs(4);
/// Restarts `crash/sup` tolerates within [`WINDOW`].
pub const MAX_RESTARTS: u32 = 3;
/// The intensity window of `crash/sup`.
pub const WINDOW: Duration = Duration::from_secs(20);

/// The flaky worker.
pub struct Flaky {
    jobs: u64,
}

/// The worker's timers: a job, and the crash.
#[derive(Debug)]
pub enum Timer {
    /// Ordinary work, so the worker looks alive between crashes.
    Job,
    /// Time to fail.
    Crash,
}

impl GenServer for Flaky {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Timer;

    async fn init(_: (), ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        // The restart count lives on the child slot, so a new incarnation knows how many came
        // before it; the last one allowed fails fast and tips the supervisor over.
        let restarts = ctx.myself().info().restarts;
        let after = if restarts >= MAX_RESTARTS {
            Duration::from_secs(1)
        } else {
            PERIOD
        };
        ctx.send_after(Timer::Crash, after);
        ctx.send_interval(|| Timer::Job, Duration::from_millis(250));
        Ok(Flaky { jobs: 0 })
    }

    async fn handle_info(&mut self, msg: Info<Timer>, ctx: &mut Ctx<Self>) -> Next {
        match msg {
            Info::Msg(Timer::Job) => self.jobs += 1,
            Info::Msg(Timer::Crash) => panic!(
                "flaky worker failed after {} jobs (restart {} of its slot)",
                self.jobs,
                ctx.myself().info().restarts
            ),
            _ => {}
        }
        Next::noreply()
    }
}

/// `scenario/crash` -> `crash/sup` -> `crash/flaky`.
pub fn child_spec() -> ChildSpec {
    let inner = SupervisorSpec::new(Strategy::OneForOne)
        .name(SUPERVISOR)
        .intensity(MAX_RESTARTS, WINDOW)
        .child(
            ChildSpec::worker::<Flaky>(WORKER, ())
                .name(WORKER)
                .shutdown(WORKER_SHUTDOWN),
        );
    let outer = SupervisorSpec::new(Strategy::OneForOne)
        .name("scenario/crash")
        .intensity(10, Duration::from_secs(60))
        .child(ChildSpec::supervisor(SUPERVISOR, inner));
    ChildSpec::supervisor("scenario/crash", outer)
}
