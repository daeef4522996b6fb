//! Behaviour shared by unique and duplicate registries (registry_test.exs and the tests both
//! unique_test.exs and duplicate_test.exs have), run for both kinds.

use crate::support::{Reg, holder, registry, run, s};
use beamline::key_registry::{Keys, RegisterError, RegistryEvent, RegistrySpec};
use beamline::{ExitReason, Registry, Runtime};
use std::sync::{Arc, Mutex};

const BOTH: [Keys; 2] = [Keys::Unique, Keys::Duplicate];

#[tokio::test(start_paused = true)]
async fn clean_up_registry_on_process_crash() {
    for keys in BOTH {
        let rt = Runtime::new();
        let reg = registry(&rt, keys).await;
        let (a, b) = (holder(&rt).await, holder(&rt).await);
        let r = reg.clone();
        run(&a, move || r.register(s("hello"), 1)).await;
        let r = reg.clone();
        run(&b, move || r.register(s("world"), 2)).await;
        assert_eq!(reg.keys(a.pid()), vec![s("hello")]);
        a.process().exit(ExitReason::Killed);
        a.process().wait().await;
        b.process().exit(ExitReason::error("crash"));
        b.process().wait().await;
        // Readers never see an exited owner, even before the registry has handled its exit.
        assert_eq!(reg.lookup(&s("hello")), vec![]);
        assert_eq!(reg.count(), 0);
        // And the registry, having handled the exits, holds nothing for them.
        reg.sync().await.unwrap();
        assert_eq!(reg.keys(a.pid()), Vec::<String>::new());
        assert_eq!(reg.keys(b.pid()), Vec::<String>::new());
    }
}

#[tokio::test(start_paused = true)]
async fn counts_0_keys_in_an_empty_registry() {
    for keys in BOTH {
        let rt = Runtime::new();
        assert_eq!(registry(&rt, keys).await.count(), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn unregisters_with_no_entries() {
    for keys in BOTH {
        let rt = Runtime::new();
        let reg = registry(&rt, keys).await;
        let h = holder(&rt).await;
        let r = reg.clone();
        run(&h, move || r.unregister(&s("hello"))).await;
        assert_eq!(reg.count(), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn register_outside_a_process_is_refused() {
    let rt = Runtime::new();
    let reg = registry(&rt, Keys::Unique).await;
    assert_eq!(reg.register(s("hello"), 1), Err(RegisterError::NotAProcess));
}

#[tokio::test(start_paused = true)]
async fn raises_on_unknown_registry_name() {
    let rt = Runtime::new();
    assert!(
        Registry::<String, i64>::whereis(&rt, "unknown")
            .await
            .is_none()
    );
    let reg = Registry::<String, i64>::start(&rt, RegistrySpec::new(Keys::Unique).name("known"))
        .await
        .unwrap();
    let found = Registry::<String, i64>::whereis(&rt, "known")
        .await
        .unwrap();
    assert_eq!(found.process().pid(), reg.process().pid());
    // A stopped registry refuses registrations.
    reg.process()
        .stop(ExitReason::Shutdown, None)
        .await
        .expect("the process was running");
    let h = holder(&rt).await;
    let answer = run(&h, move || reg.register(s("hello"), 1)).await;
    assert_eq!(
        answer,
        format!("{:?}", Err::<(), _>(RegisterError::NotRunning))
    );
}

#[tokio::test(start_paused = true)]
async fn allows_listeners() {
    for keys in BOTH {
        let rt = Runtime::new();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let h2 = heard.clone();
        let spec = RegistrySpec::new(keys).listener(move |ev| h2.lock().unwrap().push(ev));
        let reg: Reg = Registry::start(&rt, spec).await.unwrap();
        let h = holder(&rt).await;
        let r = reg.clone();
        run(&h, move || {
            r.register(s("world"), 1).unwrap();
            r.unregister(&s("world"));
        })
        .await;
        let pid = h.pid();
        assert_eq!(
            *heard.lock().unwrap(),
            vec![
                RegistryEvent::Register {
                    key: s("world"),
                    pid,
                    value: 1
                },
                RegistryEvent::Unregister {
                    key: s("world"),
                    pid
                }
            ]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn unregistering_the_last_key_stops_the_monitor() {
    for keys in BOTH {
        let rt = Runtime::new();
        let reg = registry(&rt, keys).await;
        let h = holder(&rt).await;
        let r = reg.clone();
        run(&h, move || {
            r.register(s("hello"), 1).unwrap();
            r.unregister(&s("hello"));
            r.register(s("world"), 2).unwrap();
        })
        .await;
        h.process().exit(ExitReason::Killed);
        h.process().wait().await;
        reg.sync().await.unwrap();
        assert_eq!(reg.keys(h.pid()), Vec::<String>::new());
    }
}

#[tokio::test(start_paused = true)]
async fn empty_list_for_empty_registry() {
    for keys in BOTH {
        let rt = Runtime::new();
        let reg = registry(&rt, keys).await;
        assert_eq!(reg.select(|_, _, _| true), vec![]);
    }
}

#[tokio::test(start_paused = true)]
async fn select_supports_guard_conditions_and_count_select() {
    for keys in BOTH {
        let rt = Runtime::new();
        let reg = registry(&rt, keys).await;
        let h = holder(&rt).await;
        let r = reg.clone();
        run(&h, move || {
            r.register(s("hello"), 1).unwrap();
            r.register(s("world"), 2).unwrap();
        })
        .await;
        let mut all = reg.select(|_, _, _| true);
        all.sort();
        assert_eq!(
            all,
            vec![(s("hello"), h.pid(), 1), (s("world"), h.pid(), 2)]
        );
        assert_eq!(reg.select(|_, _, v| *v > 1), vec![(s("world"), h.pid(), 2)]);
        assert_eq!(reg.count_select(|k, _, _| k.starts_with('h')), 1);
        assert_eq!(reg.count_select(|_, _, v| *v > 2), 0);
    }
}
