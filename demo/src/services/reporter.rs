//! The periodic reporter of seed 002: wakes itself with `send_after`, writes a report, and
//! schedules the next one.
//!
//! Re-arming `send_after` in the handler (rather than a fixed interval) means a slow report
//! never piles up ticks behind it. Each report asks the bank for its total (which must never
//! change: transfers move money, they do not make it) and counts processes per service. The
//! last reports are in its `inspect` and its log lines.

use super::bank::{TELLER, Teller, TellerCall, TellerReply};
use beamline::supervisor::ChildSpec;
use beamline::{Ctx, GenServer, Info, InitError, Next, StateSize};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// The reporter's registered name.
pub const NAME: &str = "reporter";
/// Reports kept.
const KEEP: usize = 12;

/// The reporter.
pub struct PeriodicReporter {
    every: Duration,
    reports: VecDeque<String>,
    count: u64,
}

/// The reporter's wake-up.
#[derive(Debug)]
pub struct Report;

impl GenServer for PeriodicReporter {
    type Args = Duration;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Report;

    const INSPECTABLE: bool = true;

    async fn init(every: Duration, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_after(Report, every);
        Ok(PeriodicReporter {
            every,
            reports: VecDeque::new(),
            count: 0,
        })
    }

    async fn handle_info(&mut self, msg: Info<Report>, ctx: &mut Ctx<Self>) -> Next {
        if !matches!(msg, Info::Msg(Report)) {
            return Next::noreply();
        }
        let rt = ctx.runtime().clone();
        let total = match rt.call::<Teller>(TELLER, TellerCall::Total).await {
            Ok(TellerReply::Amount(n)) => n.to_string(),
            _ => "unavailable".into(),
        };
        let mut per: BTreeMap<String, usize> = BTreeMap::new();
        let procs = rt.processes();
        for p in &procs {
            let service = match &p.name {
                Some(beamline::Name::Global(n)) => n.split('/').next().unwrap_or(n).to_string(),
                Some(beamline::Name::Via { registry, .. }) => registry.clone(),
                None => "other".into(),
            };
            *per.entry(service).or_default() += 1;
        }
        self.count += 1;
        let line = format!(
            "report {}: {} processes, bank total {total}; {}",
            self.count,
            procs.len(),
            per.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        tracing::info!("{line}");
        if self.reports.len() == KEEP {
            self.reports.pop_front();
        }
        self.reports.push_back(line);
        ctx.send_after(Report, self.every);
        Next::noreply()
    }

    fn state_size(&self) -> StateSize {
        let heap = self
            .reports
            .iter()
            .map(|s| s.capacity() + 24)
            .sum::<usize>();
        StateSize::deep(std::mem::size_of::<Self>() + heap)
    }

    fn inspect(&self) -> String {
        self.reports
            .iter()
            .rev()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The reporter as a permanent worker.
pub fn child_spec(every: Duration) -> ChildSpec {
    ChildSpec::worker::<PeriodicReporter>(NAME, every).name(NAME)
}
