//! Helpers: find processes by name, step virtual time.

use beamline::wire::Status;
use beamline::{Name, Pid, ProcessInfo, Runtime};
use std::time::Duration;

/// The live process registered as `name`; panics with the names that do exist.
pub fn named(rt: &Runtime, name: &str) -> ProcessInfo {
    let want = Name::new(name);
    let all = rt.processes();
    all.iter()
        .find(|p| p.name.as_ref() == Some(&want))
        .cloned()
        .unwrap_or_else(|| {
            let names: Vec<String> = all
                .iter()
                .filter_map(|p| p.name.as_ref().map(ToString::to_string))
                .collect();
            panic!("no live process named {name}; live names: {names:?}")
        })
}

/// Let `d` of virtual time pass (the clock is paused; tokio jumps it when everything waits).
pub async fn advance(d: Duration) {
    tokio::time::sleep(d).await;
}

/// Whom a process waits on, if it is blocked in a call.
pub fn waiting_on(p: &ProcessInfo) -> Option<Pid> {
    match p.status {
        Status::Waiting { on, .. } => Some(on),
        _ => None,
    }
}
