//! Issue 19: message traces through the real endpoint: batches come between samples, an
//! observe-only connection may trace (it only watches), everything-traces are refused, and a
//! connection that closes leaves no trace running.

use super::{attach, read, serve_tcp};
use crate::support::*;
use beamline::trace::{Direction, TraceKind, TraceSpec, TraceTarget};
use beamline::wire::{ClientMsg, ControlReply, ControlRequest, ServerMsg, frame};
use std::time::Duration;
use tokio::net::TcpStream;

async fn control(s: &mut TcpStream, id: u64, request: ControlRequest) -> ControlReply {
    frame::write(s, &ClientMsg::Control { id, request })
        .await
        .unwrap();
    loop {
        match read(s).await.expect("connection open") {
            ServerMsg::Reply { id: got, reply } if got == id => return reply,
            _ => {}
        }
    }
}

fn start(target: TraceTarget) -> ControlRequest {
    ControlRequest::TraceStart {
        target,
        spec: TraceSpec::default(),
    }
}

#[tokio::test]
async fn a_trace_streams_batches_and_a_disconnect_clears_it() {
    let rt = runtime(100);
    let worker = rt
        .start_with::<Worker>((), beamline::SpawnOpts::new().name("worker"))
        .await
        .unwrap();
    let ep = serve_tcp(&rt);
    let mut s = attach(&ep).await;
    let reply = control(&mut s, 1, start(TraceTarget::Name("worker".into()))).await;
    let ControlReply::TraceStarted { trace, pid, spec } = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(pid, worker.pid());
    assert_eq!(spec.max_events, 1000);
    worker.cast(Work::Busy(Duration::ZERO)).await.unwrap();
    let batch = loop {
        if let Some(ServerMsg::Trace(b)) = read(&mut s).await {
            break b;
        }
    };
    assert_eq!(batch.trace, trace);
    let ev = &batch.events[0];
    assert_eq!((ev.direction, ev.kind), (Direction::In, TraceKind::Cast));
    assert_eq!(ev.type_name, "Work");

    // While the connection holds it, nobody else may trace the worker.
    assert!(
        rt.trace(TraceTarget::Pid(pid), TraceSpec::default())
            .is_err()
    );
    drop(s);
    // The endpoint notices the close on its own task: wait (bounded) until the trace is gone.
    let cleared = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(t) = rt.trace(TraceTarget::Pid(pid), TraceSpec::default()) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(cleared.is_ok(), "the closed connection's trace still runs");
}

#[tokio::test]
async fn tracing_everything_is_refused_over_the_wire() {
    let rt = runtime(100);
    let ep = serve_tcp(&rt);
    let mut s = attach(&ep).await;
    let reply = control(&mut s, 1, start(TraceTarget::All)).await;
    let ControlReply::Error(why) = reply else {
        panic!("{reply:?}")
    };
    assert!(why.starts_with("refused"), "{why}");
    let reply = control(&mut s, 2, ControlRequest::TraceStop { trace: 99 }).await;
    assert!(matches!(reply, ControlReply::Error(_)), "{reply:?}");
}
