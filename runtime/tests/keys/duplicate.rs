//! Duplicate keys (registry/duplicate_test.exs): many entries per key, pub/sub.

use crate::support::{holder, registry, run, s};
use beamline::key_registry::Keys;
use beamline::{Agent, Runtime, SpawnOpts, StartError};

#[tokio::test(start_paused = true)]
async fn counts_the_number_of_keys_in_a_registry() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Duplicate).await;
    let h = holder(&rt).await;
    let r = reg.clone();
    run(&h, move || {
        (r.register(s("hello"), 1), r.register(s("hello"), 1))
    })
    .await;
    assert_eq!(reg.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn has_duplicate_registrations() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Duplicate).await;
    let h = holder(&rt).await;
    let r = reg.clone();
    let me = h.pid();
    run(&h, move || {
        r.register(s("hello"), 1).unwrap();
        r.register(s("hello"), 2).unwrap();
        r.register(s("world"), 3).unwrap();
    })
    .await;
    let mut keys = reg.keys(me);
    keys.sort();
    assert_eq!(keys, vec![s("hello"), s("hello"), s("world")]);
    assert_eq!(reg.values(&s("hello"), me), vec![1, 2]);
}

#[tokio::test(start_paused = true)]
async fn has_duplicate_registrations_across_processes() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Duplicate).await;
    let (a, b) = (holder(&rt).await, holder(&rt).await);
    let r = reg.clone();
    run(&a, move || r.register(s("hello"), 1).unwrap()).await;
    let r = reg.clone();
    run(&b, move || r.register(s("hello"), 2).unwrap()).await;
    assert_eq!(reg.lookup(&s("hello")), vec![(a.pid(), 1), (b.pid(), 2)]);
}

#[tokio::test(start_paused = true)]
async fn dispatches_to_multiple_keys_in_serial() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Duplicate).await;
    reg.dispatch(&s("hello"), |_| panic!("will never be invoked"));
    let h = holder(&rt).await;
    let r = reg.clone();
    run(&h, move || {
        r.register(s("hello"), 1).unwrap();
        r.register(s("hello"), 2).unwrap();
        r.register(s("world"), 3).unwrap();
    })
    .await;
    let mut got = Vec::new();
    reg.dispatch(&s("hello"), |entries| {
        got.extend(entries.iter().map(|e| e.1))
    });
    assert_eq!(got, vec![1, 2]);
    got.clear();
    reg.dispatch(&s("world"), |entries| {
        got.extend(entries.iter().map(|e| e.1))
    });
    assert_eq!(got, vec![3]);
}

#[tokio::test(start_paused = true)]
async fn unregisters_by_key() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Duplicate).await;
    let h = holder(&rt).await;
    let r = reg.clone();
    run(&h, move || {
        r.register(s("hello"), 1).unwrap();
        r.register(s("hello"), 1).unwrap();
        r.register(s("world"), 1).unwrap();
        r.unregister(&s("hello"));
    })
    .await;
    assert_eq!(reg.keys(h.pid()), vec![s("world")]);
}

#[tokio::test(start_paused = true)]
async fn unregister_match_supports_guards() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Duplicate).await;
    let h = holder(&rt).await;
    let r = reg.clone();
    run(&h, move || {
        r.register(s("hello"), 1).unwrap();
        r.register(s("hello"), 2).unwrap();
        r.unregister_match(&s("hello"), |v| *v < 2);
    })
    .await;
    assert_eq!(reg.lookup(&s("hello")), vec![(h.pid(), 2)]);
    assert_eq!(reg.keys(h.pid()), vec![s("hello")]);
}

#[tokio::test(start_paused = true)]
async fn supports_match_patterns() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Duplicate).await;
    let h = holder(&rt).await;
    let r = reg.clone();
    run(&h, move || {
        r.register(s("hello"), 1).unwrap();
        r.register(s("hello"), 2).unwrap();
    })
    .await;
    assert_eq!(
        reg.match_values(&s("hello"), |v| *v == 1),
        vec![(h.pid(), 1)]
    );
    assert_eq!(reg.match_values(&s("hello"), |v| *v > 0).len(), 2);
    assert_eq!(reg.count_match(&s("hello"), |v| *v < 3), 2);
}

#[tokio::test(start_paused = true)]
async fn update_value_is_not_supported() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Duplicate).await;
    let h = holder(&rt).await;
    let r = reg.clone();
    let got = run(&h, move || {
        r.register(s("hello"), 1).unwrap();
        r.update_value(&s("hello"), |v| v + 1)
    })
    .await;
    assert_eq!(got, "None");
}

#[tokio::test(start_paused = true)]
async fn raises_if_attempt_to_be_used_on_via() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Duplicate).await;
    let r = Agent::start_with(&rt, 0, SpawnOpts::new().via(&reg, s("hello"), 0)).await;
    assert!(
        matches!(r, Err(StartError::InvalidSpec(_))),
        "{:?}",
        r.err()
    );
    assert_eq!(reg.count(), 0);
}
