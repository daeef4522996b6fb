//! The default workload: every service under the root supervisor, and a schedule that plays
//! the fault scenarios one at a time between calm spells.
//!
//! ```text
//! root
//! ├── limiter, notify/queue
//! ├── cache/sup ─ cache, cache/clients
//! ├── bank ─ bank/accounts (dynamic) ─ accounts/N; bank/teller; bank/customers
//! ├── contracts/sup ─ contracts (dynamic) ─ contracts/N; contracts/desk
//! ├── sessions/sup ─ sessions (dynamic) ─ sessions/N; sessions/gateway
//! ├── scraper ─ scraper/indexer, scraper/parser, scraper/fetchers ─ fetcher-N, dispatcher
//! ├── reporter
//! └── faults ─ faults/schedule, faults/running (dynamic) ─ scenario/<name> ─ ...
//! ```

use crate::Scenario;
use crate::load::Wave;
use crate::services;
use beamline::supervisor::{
    ChildSpec, DynamicSupervisor, DynamicSupervisorSpec, Restart, Strategy, SupervisorError,
    SupervisorSpec,
};
use beamline::{Ctx, GenServer, Info, InitError, Next, Pid, Runtime, StateSize};
use std::time::Duration;

/// The dynamic supervisor the schedule starts scenarios under.
pub const RUNNING: &str = "faults/running";
/// The schedule's registered name.
pub const SCHEDULE: &str = "faults/schedule";

/// When the faults play.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Calm time before the first fault.
    pub first: Duration,
    /// How long each fault plays.
    pub window: Duration,
    /// Calm time between faults.
    pub gap: Duration,
    /// The faults, played in order, round and round.
    pub scenarios: Vec<Scenario>,
}

impl Default for Schedule {
    /// Long enough for each alert to rise and be read, with calm in between so the reader sees
    /// the system recover: a full round of six takes about six and a half minutes.
    fn default() -> Self {
        Schedule {
            first: Duration::from_secs(20),
            window: Duration::from_secs(45),
            gap: Duration::from_secs(20),
            scenarios: Scenario::ALL.to_vec(),
        }
    }
}

/// Settings of the default workload.
#[derive(Clone, Debug)]
pub struct Workload {
    /// The load's wave.
    pub wave: Wave,
    /// The fault schedule; `None` for a calm system.
    pub schedule: Option<Schedule>,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            wave: Wave::default(),
            schedule: Some(Schedule::default()),
        }
    }
}

/// Start the workload under the runtime's root supervisor.
pub async fn start(rt: &Runtime, w: Workload) -> Result<(), SupervisorError> {
    for spec in services::child_specs(w.wave) {
        rt.supervise(spec).await?;
    }
    if let Some(schedule) = w.schedule {
        rt.supervise(faults_spec(schedule)).await?;
    }
    Ok(())
}

/// `faults` -> `faults/running` (dynamic), `faults/schedule`.
fn faults_spec(schedule: Schedule) -> ChildSpec {
    let spec = SupervisorSpec::new(Strategy::RestForOne)
        .name("faults")
        .child(DynamicSupervisor::child_spec(
            RUNNING,
            DynamicSupervisorSpec::new().name(RUNNING),
        ))
        .child(ChildSpec::worker::<FaultSchedule>(SCHEDULE, schedule).name(SCHEDULE));
    ChildSpec::supervisor("faults", spec)
}

/// Start one scenario alone, under the root supervisor (for `demo --scenario NAME`).
pub async fn start_scenario(rt: &Runtime, scenario: Scenario) -> Result<(), SupervisorError> {
    rt.supervise(scenario.child_spec()).await.map(|_| ())
}

/// Plays the scenarios: starts one under `faults/running`, stops it after its window, waits
/// the gap, starts the next.
pub struct FaultSchedule {
    schedule: Schedule,
    next: usize,
    playing: Option<(Scenario, Pid)>,
}

/// The schedule's timers.
#[derive(Debug)]
pub enum Cue {
    /// Start the next scenario.
    Begin,
    /// Stop the one playing.
    End,
}

impl FaultSchedule {
    /// What is playing now, if anything (for `inspect`).
    fn now_playing(&self) -> String {
        match &self.playing {
            Some((s, pid)) => format!("playing: {s} ({pid})"),
            None => "calm".to_string(),
        }
    }
}

impl GenServer for FaultSchedule {
    type Args = Schedule;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Cue;

    const INSPECTABLE: bool = true;

    async fn init(schedule: Schedule, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        // A restarted schedule does not know what its predecessor left playing: stop it, so
        // that one fault at a time stays true.
        if let Some(running) = DynamicSupervisor::whereis(ctx.runtime(), RUNNING)
            && let Ok(children) = running.which_children().await
        {
            for child in children.into_iter().filter_map(|c| c.process) {
                let _ = running.terminate_child(child.pid()).await;
            }
        }
        if !schedule.scenarios.is_empty() {
            ctx.send_after(Cue::Begin, schedule.first);
        }
        Ok(FaultSchedule {
            schedule,
            next: 0,
            playing: None,
        })
    }

    async fn handle_info(&mut self, msg: Info<Cue>, ctx: &mut Ctx<Self>) -> Next {
        let Some(running) = DynamicSupervisor::whereis(ctx.runtime(), RUNNING) else {
            return Next::noreply();
        };
        match msg {
            Info::Msg(Cue::Begin) => {
                let scenario = self.schedule.scenarios[self.next % self.schedule.scenarios.len()];
                self.next += 1;
                let spec = scenario.child_spec().restart(Restart::Temporary);
                match running.start_child(spec).await {
                    Ok(Some(p)) => {
                        tracing::info!("fault scenario {scenario} begins");
                        self.playing = Some((scenario, p.pid()));
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!("fault scenario {scenario} did not start: {e}"),
                }
                ctx.send_after(Cue::End, self.schedule.window);
            }
            Info::Msg(Cue::End) => {
                if let Some((scenario, pid)) = self.playing.take() {
                    tracing::info!("fault scenario {scenario} ends");
                    let _ = running.terminate_child(pid).await;
                }
                ctx.send_after(Cue::Begin, self.schedule.gap);
            }
            _ => {}
        }
        Next::noreply()
    }

    fn state_size(&self) -> StateSize {
        StateSize::deep(
            std::mem::size_of::<Self>()
                + self.schedule.scenarios.capacity() * std::mem::size_of::<Scenario>(),
        )
    }

    fn inspect(&self) -> String {
        format!(
            "{}\nscenarios played: {}\nwindow {:?}, gap {:?}",
            self.now_playing(),
            self.next,
            self.schedule.window,
            self.schedule.gap
        )
    }
}
