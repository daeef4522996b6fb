//! What the observer sees of registered keys: each process's keys in its samples, capped, gone
//! once unregistered or once the owner exits. (No Elixir counterpart: this is the observer's
//! view of `Registry.keys/2`.)

use crate::support::*;
use beamline::key_registry::Keys;
use beamline::key_registry::shown::{MAX_KEY_CHARS, MAX_SHOWN_KEYS};
use beamline::wire::{Pid, ProcessSample, RegisteredKeys, ServerMsg};
use beamline::{ExitReason, Observation, Runtime};
use std::time::Duration;

fn runtime() -> Runtime {
    Runtime::builder()
        .node("test")
        .observe_from_env(false)
        .interval(Duration::from_millis(1000))
        .build()
}

/// The next snapshot or delta.
async fn sample(obs: &mut Observation) -> ServerMsg {
    loop {
        if let m @ (ServerMsg::Snapshot(_) | ServerMsg::Delta(_)) =
            obs.recv().await.expect("stream ended")
        {
            return m;
        }
    }
}

/// `pid` as the message shows it, if it changed.
fn changed(msg: &ServerMsg, pid: Pid) -> Option<ProcessSample> {
    match msg {
        ServerMsg::Delta(d) => d.changed.iter().find(|p| p.id == pid).cloned(),
        ServerMsg::Snapshot(s) => s.processes.iter().find(|p| p.id == pid).cloned(),
        _ => None,
    }
}

fn keys(shown: &[&str], more: u32) -> Option<RegisteredKeys> {
    Some(RegisteredKeys {
        shown: shown.iter().map(|k| k.to_string()).collect(),
        more,
    })
}

#[tokio::test(start_paused = true)]
async fn a_registered_key_shows_in_the_next_sample_and_goes_after_unregister() {
    let rt = runtime();
    let reg = registry(&rt, Keys::Unique).await;
    let h = holder(&rt).await;
    let mut obs = rt.observe();
    let first = sample(&mut obs).await;
    assert_eq!(
        changed(&first, h.pid()).expect("in the snapshot").keys,
        None
    );

    let r = reg.clone();
    run(&h, move || r.register(s("orders"), 1)).await;
    let next = sample(&mut obs).await;
    let p = changed(&next, h.pid()).expect("registering changes the process");
    assert_eq!(p.keys, keys(&["\"orders\""], 0));
    // The registry process itself holds no keys.
    let registry = changed(&first, reg.process().pid()).expect("in the snapshot");
    assert_eq!(registry.keys, None);

    let r = reg.clone();
    run(&h, move || r.unregister(&s("orders"))).await;
    let next = sample(&mut obs).await;
    let p = changed(&next, h.pid()).expect("unregistering changes the process");
    assert_eq!(p.keys, None);
}

#[tokio::test(start_paused = true)]
async fn keys_in_two_registries_both_show() {
    let rt = runtime();
    let (a, b) = (
        registry(&rt, Keys::Unique).await,
        registry(&rt, Keys::Duplicate).await,
    );
    let h = holder(&rt).await;
    let mut obs = rt.observe();
    sample(&mut obs).await;
    let (ra, rb) = (a.clone(), b.clone());
    run(&h, move || {
        ra.register(s("orders"), 1).unwrap();
        rb.register(s("news"), 2).unwrap();
    })
    .await;
    let p = changed(&sample(&mut obs).await, h.pid()).unwrap();
    assert_eq!(p.keys, keys(&["\"orders\"", "\"news\""], 0));
}

#[tokio::test(start_paused = true)]
async fn keys_are_gone_from_the_sample_once_the_owner_exits() {
    let rt = runtime();
    let reg = registry(&rt, Keys::Unique).await;
    let h = holder(&rt).await;
    let mut obs = rt.observe();
    sample(&mut obs).await;
    let r = reg.clone();
    run(&h, move || r.register(s("orders"), 1)).await;
    let p = changed(&sample(&mut obs).await, h.pid()).unwrap();
    assert!(p.keys.is_some());

    h.stop(ExitReason::Normal, None).await.unwrap();
    let p = changed(&sample(&mut obs).await, h.pid()).expect("the exit is seen once");
    assert_eq!(p.status.as_str(), "exited");
    assert_eq!(p.keys, None);
}

#[tokio::test(start_paused = true)]
async fn many_keys_are_capped_and_long_keys_cut() {
    let rt = runtime();
    let reg = registry(&rt, Keys::Unique).await;
    let h = holder(&rt).await;
    let mut obs = rt.observe();
    sample(&mut obs).await;
    let r = reg.clone();
    run(&h, move || {
        r.register("x".repeat(200), 0).unwrap();
        for i in 0..MAX_SHOWN_KEYS + 2 {
            r.register(format!("k{i}"), 0).unwrap();
        }
    })
    .await;
    let p = changed(&sample(&mut obs).await, h.pid()).unwrap();
    let k = p.keys.expect("keys shown");
    assert_eq!(k.shown.len(), MAX_SHOWN_KEYS);
    assert_eq!(k.more, 3);
    assert_eq!(k.total(), MAX_SHOWN_KEYS as u64 + 3);
    assert_eq!(k.shown[0].chars().count(), MAX_KEY_CHARS + 1);
    assert!(k.shown[0].ends_with('…'), "{}", k.shown[0]);
    assert_eq!(k.shown[1], "\"k0\"");
}
