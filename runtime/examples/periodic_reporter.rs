//! The seeds' PeriodicReporter: re-arms itself with `send_after` after each report, so a slow
//! report never causes reports to pile up.
//!
//! `cargo run -p beamline --example periodic_reporter`

use beamline::{Ctx, GenServer, Info, InitError, Next, Runtime};
use std::time::Duration;

struct Reporter {
    every: Duration,
    reports: u32,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}

struct Report;

impl GenServer for Reporter {
    type Args = (Duration, tokio::sync::oneshot::Sender<()>);
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = Report;

    async fn init((every, done): Self::Args, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        ctx.send_after(Report, every);
        Ok(Reporter {
            every,
            reports: 0,
            done: Some(done),
        })
    }

    async fn handle_info(&mut self, msg: Info<Report>, ctx: &mut Ctx<Self>) -> Next {
        if let Info::Msg(Report) = msg {
            self.reports += 1;
            println!("report #{}: all systems nominal", self.reports);
            if self.reports == 5 {
                if let Some(done) = self.done.take() {
                    let _ = done.send(());
                }
            } else {
                ctx.send_after(Report, self.every);
            }
        }
        Next::noreply()
    }
}

#[tokio::main]
async fn main() {
    let rt = Runtime::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    rt.start::<Reporter>((Duration::from_millis(200), tx))
        .await
        .expect("reporter starts");
    rx.await.ok();
}
