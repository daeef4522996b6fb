use crate::support::*;
use beamline::{CallReply, Ctx, ExitReason, GenServer, InitError, Next, ProcessRef, Runtime};

/// A server that links to or monitors whatever it is told to.
struct Watcher {
    log: Log,
}

enum W {
    Link(ProcessRef),
    Monitor(ProcessRef),
    Trap,
}

impl GenServer for Watcher {
    type Args = Log;
    type Call = W;
    type Reply = ();
    type Cast = ();
    type Info = ();
    async fn init(log: Log, _: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Watcher { log })
    }
    async fn handle_call(&mut self, msg: W, ctx: &mut Ctx<Self>) -> CallReply<()> {
        match msg {
            W::Link(p) => ctx.link(&p),
            W::Monitor(p) => {
                ctx.monitor(&p);
            }
            W::Trap => ctx.trap_exit(true),
        }
        CallReply::reply(())
    }
    async fn handle_info(&mut self, msg: beamline::Info<()>, _: &mut Ctx<Self>) -> Next {
        let line = match msg {
            beamline::Info::Down(d) => format!("down {} {}", d.pid, d.reason),
            beamline::Info::Exit { from, reason } => format!("exit {from} {reason}"),
            _ => "other".into(),
        };
        self.log.lock().unwrap().push(line);
        Next::noreply()
    }
    async fn terminate(&mut self, reason: &ExitReason, _: &mut Ctx<Self>) {
        self.log.lock().unwrap().push(format!("terminate {reason}"));
    }
}

#[tokio::test(start_paused = true)]
async fn linked_processes_exit_together_on_an_abnormal_exit() {
    let rt = Runtime::new();
    let l = log();
    let w = rt.start::<Watcher>(l.clone()).await.unwrap();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    w.call(W::Link(p.process())).await.unwrap();
    p.cast(Cast::Panic).await.unwrap();
    assert_eq!(
        w.process().wait().await,
        ExitReason::Panic("cast exploded".into())
    );
    assert!(
        seen(&l).is_empty(),
        "an untrapped exit signal skips terminate, as in OTP"
    );
}

#[tokio::test(start_paused = true)]
async fn a_normal_exit_does_not_propagate_through_links() {
    let rt = Runtime::new();
    let w = rt.start::<Watcher>(log()).await.unwrap();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    w.call(W::Link(p.process())).await.unwrap();
    p.stop(ExitReason::Normal, None).await.unwrap();
    settle().await;
    assert!(w.is_alive());
}

#[tokio::test(start_paused = true)]
async fn a_process_trapping_exits_gets_an_exit_message() {
    let rt = Runtime::new();
    let l = log();
    let w = rt.start::<Watcher>(l.clone()).await.unwrap();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    w.call(W::Trap).await.unwrap();
    w.call(W::Link(p.process())).await.unwrap();
    p.process().exit(ExitReason::error("bye"));
    p.process().wait().await;
    settle().await;
    assert!(w.is_alive());
    assert_eq!(seen(&l), vec![format!("exit {} error: bye", p.pid())]);
}

#[tokio::test(start_paused = true)]
async fn a_monitor_delivers_down_with_the_reason() {
    let rt = Runtime::new();
    let l = log();
    let w = rt.start::<Watcher>(l.clone()).await.unwrap();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    w.call(W::Monitor(p.process())).await.unwrap();
    p.stop(ExitReason::ShutdownWith("maintenance".into()), None)
        .await
        .unwrap();
    settle().await;
    assert_eq!(
        seen(&l),
        vec![format!("down {} shutdown: maintenance", p.pid())]
    );
    assert!(w.is_alive(), "monitors never kill the watcher");
}

#[tokio::test(start_paused = true)]
async fn monitoring_a_dead_process_delivers_noproc_at_once() {
    let rt = Runtime::new();
    let l = log();
    let w = rt.start::<Watcher>(l.clone()).await.unwrap();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    p.stop(ExitReason::Normal, None).await.unwrap();
    w.call(W::Monitor(p.process())).await.unwrap();
    settle().await;
    assert_eq!(seen(&l), vec![format!("down {} noproc", p.pid())]);
}

#[tokio::test(start_paused = true)]
async fn linking_to_a_dead_process_is_a_noproc_exit_signal() {
    let rt = Runtime::new();
    let w = rt.start::<Watcher>(log()).await.unwrap();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    p.stop(ExitReason::Normal, None).await.unwrap();
    let _ = w.call(W::Link(p.process())).await;
    assert_eq!(w.process().wait().await, ExitReason::NoProcess);
}
