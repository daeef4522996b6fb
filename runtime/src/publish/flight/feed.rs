//! The sampler's side of the flight recorder: after each tick, hand it what the tick found
//! changed. Samples built at tick time are read in place; deferred ones (zero rates, see
//! `frames.rs`) are read from their process now, a slice at a time, at most a tick's share.

use super::super::frames::Tick;
use super::super::hub::Publish;
use super::super::slice::Slicer;
use super::super::to_wire;

/// Record `tick` (made at `now`, runtime nanoseconds) in the runtime's flight recorder; whether
/// a trim is due, left to the caller to run off the worker (`FlightRecorder::trim_now`).
pub(crate) async fn tick(publish: &Publish, tick: &Tick, now: u64) -> bool {
    let flight = &publish.flight;
    if !flight.enabled() {
        return false;
    }
    let d = &tick.deltas.deferred;
    let room = flight.per_tick().saturating_sub(tick.built.len());
    let mut read = Vec::with_capacity(d.cells.len().min(room));
    let mut slicer = Slicer::new();
    for cell in d.cells.iter().take(room) {
        read.push(to_wire::deferred_sample(cell, now, None, d.rates));
        slicer.step().await;
    }
    let h = &tick.header;
    // The state a tick leaves is that of its last sequence number.
    let seq = h.first_seq + tick.len().saturating_sub(1) as u64;
    let trim = flight
        .record_sliced(
            (seq, h.at_ms, h.interval_ms, &h.system),
            tick.built.iter().chain(&read).collect(),
            &tick.removed,
        )
        .await;
    if let Some(armed) = &flight.black_box
        && let Some(why) = tick
            .built
            .iter()
            .chain(&read)
            .find_map(|p| armed.config.trigger(p))
        && armed.begin(h.at_ms)
    {
        armed.write(
            super::super::welcome::welcome(publish),
            flight.history(),
            why,
        );
    }
    // Tens of thousands of samples, each with its strings: freed off the worker.
    super::super::frames::drop_elsewhere(read);
    trim
}
