//! Issue 19: a trace started through an in-process observation comes with its samples, and
//! ends when the observation is dropped.

use crate::support::*;
use beamline::trace::{TraceSpec, TraceTarget};
use beamline::wire::{ControlReply, ControlRequest, ServerMsg};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn batches_come_between_samples_and_a_dropped_observation_stops_its_traces() {
    let rt = runtime(1000);
    let w = rt.start::<Worker>(()).await.unwrap();
    let mut obs = rt.observe();
    let reply = obs
        .control(ControlRequest::TraceStart {
            target: TraceTarget::Pid(w.pid()),
            spec: TraceSpec {
                max_events: 2,
                ..TraceSpec::default()
            },
        })
        .await;
    assert!(
        matches!(reply, ControlReply::TraceStarted { .. }),
        "{reply:?}"
    );
    for _ in 0..3 {
        w.cast(Work::Busy(Duration::ZERO)).await.unwrap();
    }
    w.call(()).await.unwrap();
    let batch = loop {
        if let Some(ServerMsg::Trace(b)) = obs.recv().await {
            break b;
        }
    };
    assert_eq!(batch.events.len(), 2);
    assert_eq!(batch.ended.as_deref(), Some("event limit reached"));

    let reply = obs
        .control(ControlRequest::TraceStart {
            target: TraceTarget::Pid(w.pid()),
            spec: TraceSpec::default(),
        })
        .await;
    assert!(
        matches!(reply, ControlReply::TraceStarted { .. }),
        "{reply:?}"
    );
    assert!(
        rt.trace(TraceTarget::Pid(w.pid()), TraceSpec::default())
            .is_err()
    );
    drop(obs);
    assert!(
        rt.trace(TraceTarget::Pid(w.pid()), TraceSpec::default())
            .is_ok(),
        "a dropped observation leaves no trace running"
    );
}
