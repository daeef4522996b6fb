//! The default workload's services, one module each. Every module offers a `child_spec` that
//! places the service (usually a supervisor and its workers) in the tree, plus the GenServers
//! themselves so tests and other services can talk to them by name.
//!
//! Names follow `service/role` (`bank/teller`, `scraper/parser`) so the observer's tree and
//! table read like an architecture diagram; per-entity processes use keyed names
//! ([`beamline::Name::via`]): `accounts/7`, `contracts/42`, `sessions/1001`.

pub mod bank;
pub mod cache;
pub mod contracts;
pub mod limiter;
pub mod notifications;
pub mod reporter;
pub mod scraper;
pub mod sessions;

use beamline::GenServer;
use beamline::supervisor::{ChildSpec, DynamicSupervisor, DynamicSupervisorSpec};
use std::time::Duration;

/// Every service's child spec, in start order. Services that others call (the limiter, the
/// notification queue) come first so they are up before their clients, and are stopped last.
pub fn child_specs(wave: crate::load::Wave) -> Vec<ChildSpec> {
    vec![
        limiter::child_spec(),
        notifications::child_spec(),
        cache::child_spec(wave),
        bank::child_spec(wave),
        contracts::child_spec(wave),
        sessions::child_spec(wave),
        scraper::child_spec(wave),
        reporter::child_spec(Duration::from_secs(5)),
    ]
}

/// A short pause standing for real work (a database write, a parse): it makes busy time and
/// latency visible in the observer without burning CPU.
pub(crate) async fn work(d: Duration) {
    tokio::time::sleep(d).await;
}

/// A dynamic supervisor registered as `name`, for one process per entity (accounts, contracts,
/// sessions), refusing more than `max_children`.
pub(crate) fn entities(name: &str, max_children: usize) -> ChildSpec {
    DynamicSupervisor::child_spec(
        name,
        DynamicSupervisorSpec::new()
            .max_children(max_children)
            .name(name),
    )
}

/// A worker whose child id is also its registered name.
pub(crate) fn named<S: GenServer>(name: &str, args: S::Args) -> ChildSpec
where
    S::Args: Clone + Sync,
{
    ChildSpec::worker::<S>(name, args).name(name)
}
