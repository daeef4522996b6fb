//! Keeping the sampler ticking for the flight recorder when nobody subscribes: while an
//! endpoint serves (it holds a [`Keep`]), and from the start when a black box is armed.

use super::super::hub::Publish;
use super::super::sampler;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

/// Keeps the sampler ticking for the flight recorder while held (an endpoint holds one).
pub(crate) struct Keep {
    publish: Arc<Publish>,
}

impl Drop for Keep {
    fn drop(&mut self) {
        self.publish.flight.keepers.fetch_sub(1, Relaxed);
        if let Some(hub) = self.publish.hub.get() {
            hub.wake.notify_one();
        }
    }
}

/// Keep the sampler ticking for the recorder until the guard is dropped (nothing when the
/// recorder is off).
pub(crate) fn keep(publish: &Arc<Publish>) -> Option<Keep> {
    if !publish.flight.enabled() {
        return None;
    }
    publish.flight.keepers.fetch_add(1, Relaxed);
    sampler::hub(publish).wake.notify_one();
    Some(Keep {
        publish: publish.clone(),
    })
}

/// A black box records from the start, observed or not: start the sampler (inside a tokio
/// runtime; outside one it starts with the first subscriber, and an error says so).
pub(crate) fn arm(publish: &Arc<Publish>) {
    if publish.flight.black_box.is_none() {
        return;
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        sampler::hub(publish);
    } else {
        tracing::error!("black box not recording yet: build the runtime inside a tokio runtime");
    }
}
