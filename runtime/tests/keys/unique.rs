//! Unique keys (registry/unique_test.exs).

use crate::support::{holder, registry, run, s};
use beamline::key_registry::{Keys, RegisterError};
use beamline::{Agent, ExitReason, Runtime, SpawnOpts, StartError};

#[tokio::test(start_paused = true)]
async fn counts_the_number_of_keys_in_a_registry() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    let h = holder(&rt).await;
    let r = reg.clone();
    run(&h, move || {
        (r.register(s("hello"), 1), r.register(s("world"), 1))
    })
    .await;
    assert_eq!(reg.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn has_unique_registrations() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    let h = holder(&rt).await;
    let r = reg.clone();
    let me = h.pid();
    let got = run(&h, move || {
        let first = r.register(s("hello"), 1);
        let again = r.register(s("hello"), 1);
        let keys = r.keys(me);
        let values = r.values(&s("hello"), me);
        r.register(s("world"), 1).unwrap();
        let mut both = r.keys(me);
        both.sort();
        (first, again, keys, values, both)
    })
    .await;
    let want = (
        Ok::<(), RegisterError>(()),
        Err::<(), _>(RegisterError::AlreadyRegistered(me)),
        vec![s("hello")],
        vec![1i64],
        vec![s("hello"), s("world")],
    );
    assert_eq!(got, format!("{want:?}"));
}

#[tokio::test(start_paused = true)]
async fn has_unique_registrations_across_processes() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    let (a, b) = (holder(&rt).await, holder(&rt).await);
    let r = reg.clone();
    run(&a, move || r.register(s("hello"), 1)).await;
    let r = reg.clone();
    let got = run(&b, move || r.register(s("hello"), 2)).await;
    assert_eq!(
        got,
        format!(
            "{:?}",
            Err::<(), _>(RegisterError::AlreadyRegistered(a.pid()))
        )
    );
    assert_eq!(reg.keys(b.pid()), Vec::<String>::new());
    assert_eq!(reg.values(&s("hello"), a.pid()), vec![1]);
}

#[tokio::test(start_paused = true)]
async fn has_unique_registrations_even_if_partition_is_delayed() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    let (a, b) = (holder(&rt).await, holder(&rt).await);
    let r = reg.clone();
    run(&a, move || r.register(s("hello"), 1)).await;
    a.process().exit(ExitReason::Killed);
    a.process().wait().await;
    // The registry process has not handled the exit yet; the key is free all the same.
    let r = reg.clone();
    run(&b, move || r.register(s("hello"), 2).unwrap()).await;
    assert_eq!(reg.lookup(&s("hello")), vec![(b.pid(), 2)]);
    // The late exit of the old holder does not take the new registration with it.
    reg.sync().await.unwrap();
    assert_eq!(reg.lookup(&s("hello")), vec![(b.pid(), 2)]);
}

#[tokio::test(start_paused = true)]
async fn supports_match_patterns_and_guards() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    let h = holder(&rt).await;
    let r = reg.clone();
    run(&h, move || r.register(s("hello"), 3)).await;
    assert_eq!(
        reg.match_values(&s("hello"), |v| *v > 1),
        vec![(h.pid(), 3)]
    );
    assert_eq!(reg.match_values(&s("hello"), |v| *v > 3), vec![]);
    assert_eq!(reg.match_values(&s("other"), |_| true), vec![]);
    assert_eq!(reg.count_match(&s("hello"), |v| *v == 3), 1);
    assert_eq!(reg.count_match(&s("hello"), |v| *v == 2), 0);
}

#[tokio::test(start_paused = true)]
async fn unregister_match_supports_patterns() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    let h = holder(&rt).await;
    let r = reg.clone();
    run(&h, move || {
        r.register(s("hello"), 1).unwrap();
        r.unregister_match(&s("hello"), |v| *v == 2);
    })
    .await;
    assert_eq!(reg.lookup(&s("hello")), vec![(h.pid(), 1)]);
    let r = reg.clone();
    run(&h, move || r.unregister_match(&s("hello"), |v| *v < 2)).await;
    assert_eq!(reg.lookup(&s("hello")), vec![]);
}

#[tokio::test(start_paused = true)]
async fn updates_current_process_value() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    let (a, b) = (holder(&rt).await, holder(&rt).await);
    let r = reg.clone();
    assert_eq!(
        run(&b, move || r.update_value(&s("hello"), |v| v + 1)).await,
        "None"
    );
    let r = reg.clone();
    run(&a, move || r.register(s("hello"), 1)).await;
    let r = reg.clone();
    assert_eq!(
        run(&b, move || r.update_value(&s("hello"), |v| v + 1)).await,
        "None"
    );
    let r = reg.clone();
    assert_eq!(
        run(&a, move || r.update_value(&s("hello"), |v| v + 1)).await,
        "Some((2, 1))"
    );
    assert_eq!(reg.lookup(&s("hello")), vec![(a.pid(), 2)]);
}

#[tokio::test(start_paused = true)]
async fn dispatches_to_a_single_key() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    reg.dispatch(&s("hello"), |_| panic!("will never be invoked"));
    let h = holder(&rt).await;
    let r = reg.clone();
    run(&h, move || r.register(s("hello"), 7)).await;
    let mut got = Vec::new();
    reg.dispatch(&s("hello"), |entries| got.extend_from_slice(entries));
    assert_eq!(got, vec![(h.pid(), 7)]);
}

#[tokio::test(start_paused = true)]
async fn unregisters_process_by_key() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    let h = holder(&rt).await;
    let r = reg.clone();
    let me = h.pid();
    let got = run(&h, move || {
        r.register(s("hello"), 1).unwrap();
        r.register(s("world"), 1).unwrap();
        r.unregister(&s("hello"));
        let one = r.keys(me);
        r.unregister(&s("world"));
        (one, r.keys(me))
    })
    .await;
    assert_eq!(
        got,
        format!("{:?}", (vec![s("world")], Vec::<String>::new()))
    );
}

#[tokio::test(start_paused = true)]
async fn via_callbacks() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    let opts = SpawnOpts::new().via(&reg, s("hello"), 0);
    let agent = Agent::start_with(&rt, 0, opts.clone()).await.unwrap();
    // whereis_name: the typed handle of the holder.
    let found = reg
        .whereis_key::<beamline::agent::AgentServer<i32>>(&s("hello"))
        .unwrap();
    assert_eq!(found.pid(), agent.server().pid());
    // errors: a second start under the same key.
    match Agent::start_with(&rt, 0, opts.clone()).await {
        Err(StartError::AlreadyStarted(p)) => assert_eq!(p.pid(), agent.server().pid()),
        other => panic!("{:?}", other.err()),
    }
    // unregister_name: the key is freed when the holder exits.
    agent
        .server()
        .stop(ExitReason::Normal, None)
        .await
        .expect("the process was running");
    let again = Agent::start_with(&rt, 1, opts).await.unwrap();
    assert_eq!(reg.lookup(&s("hello")), vec![(again.server().pid(), 0)]);
}

#[tokio::test(start_paused = true)]
async fn uses_value_provided_in_via() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    let agent = Agent::start_with(&rt, 0, SpawnOpts::new().via(&reg, s("hello"), 42))
        .await
        .unwrap();
    assert_eq!(reg.lookup(&s("hello")), vec![(agent.server().pid(), 42)]);
}
