//! Pause and scrub: which sample is on screen. History keeps recording while the display is
//! frozen; in a replay, stepping past the newest sample asks the replay for the next one.

use super::effect::Effect;
use crate::model::Model;
use crate::source::Playback;

/// The sample on screen: the newest, or the one the display is paused on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Playhead {
    /// Display frozen at this sample number.
    pub paused: Option<u64>,
    /// A replay step was asked for: follow it when it arrives.
    follow_step: bool,
}

impl Playhead {
    /// Freeze on the newest sample of `model`, or go live again.
    pub fn toggle(&mut self, model: &Model) -> Effect {
        match self.paused {
            Some(_) => {
                self.go_live();
                Effect::Playback(Playback::Resume)
            }
            None => {
                self.paused = model.latest().and_then(|m| m.seq);
                Effect::Playback(Playback::Pause)
            }
        }
    }

    /// Show the newest sample from now on.
    pub fn go_live(&mut self) {
        self.paused = None;
        self.follow_step = false;
    }

    /// While paused, one sample older (`back`) or newer. Past the newest sample of a replay, ask
    /// it for the next one and follow it when it arrives. `None` when not paused.
    pub fn scrub(&mut self, model: &Model, back: bool, replay: bool) -> Option<Vec<Effect>> {
        let seq = self.paused?;
        let latest = model.latest().and_then(|m| m.seq);
        if !back && Some(seq) == latest && replay {
            self.follow_step = true;
            return Some(vec![Effect::Playback(Playback::Step)]);
        }
        self.paused = model.step_from(seq, if back { -1 } else { 1 });
        Some(vec![])
    }

    /// A new sample arrived (now the newest of `model`); whether the display moves with it.
    pub fn on_sample(&mut self, model: &Model) -> bool {
        if self.follow_step {
            self.follow_step = false;
            self.paused = model.latest().and_then(|m| m.seq);
            return true;
        }
        self.paused.is_none()
    }
}
