//! The handshake answer describing a runtime (`Welcome`), for subscriptions, connections and
//! the black box's recordings.

use super::hub::Publish;
use super::interval::clamp_ms;
use beamline_wire::{PROTOCOL_VERSION, Welcome};

/// The handshake answer describing this runtime.
pub(crate) fn welcome(publish: &Publish) -> Welcome {
    let shared = &publish.shared;
    Welcome {
        version: PROTOCOL_VERSION,
        node: shared.node.clone(),
        os_pid: std::process::id(),
        incarnation: shared.incarnation,
        started_unix_ms: shared.started_unix_ms,
        interval_ms: clamp_ms(publish.runtime_interval_ms()),
        // In-process watchers own the runtime; the endpoint narrows this per connection.
        role: beamline_wire::Role::Operate,
    }
}
