//! What the state asks the loop to do on its behalf, so no view and no key handler does I/O.

use crate::source::Playback;
use beamline_wire::ControlRequest;

/// Something the loop must do on the state's behalf.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Leave the observer.
    Quit,
    /// Send a request to the runtime; the reply comes back through `State::on_reply`.
    Control(ControlRequest),
    /// Steer a replay.
    Playback(Playback),
}
