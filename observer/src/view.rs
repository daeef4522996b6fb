//! Drawing: each screen is a file with a `render(&State, area, buf)` function. Views only read
//! the state; what a key does is decided in [`crate::state`], where things go in
//! [`crate::layout`].

pub mod alerts;
pub mod cells;
pub mod chart;
pub mod chrome;
pub mod detail;
pub mod events;
pub mod fmt;
pub mod header;
pub mod memory;
pub mod nodes;
pub mod overlay;
pub mod processes;
pub mod system;
pub mod trace;
pub mod tree;

use crate::layout::areas;
use crate::state::State;
use crate::vocab::ViewId;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

/// Draw everything.
pub fn draw(state: &State, frame: &mut Frame) {
    render(state, frame.area(), frame.buffer_mut());
}

/// Draw everything into a buffer (what tests and the benchmark call).
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let a = areas(area);
    header::render(state, a.header, buf);
    header::render_tabs(state, a.tabs, buf);
    if state.shown().is_none() && !matches!(state.view(), ViewId::System | ViewId::Events) {
        chrome::waiting(state, a.body, buf);
    } else {
        match state.view() {
            ViewId::Tree => tree::render(state, a.body, buf),
            ViewId::Processes => processes::render(state, a.body, buf),
            ViewId::Detail => detail::render(state, a.body, buf),
            ViewId::System => system::render(state, a.body, buf),
            ViewId::Alerts => alerts::render(state, a.body, buf),
            ViewId::Events => events::render(state, a.body, buf),
            ViewId::Memory => memory::render(state, a.body, buf),
        }
    }
    if state.stale_for().is_some() {
        // Not live any more: dim what is shown (the header says how old it is).
        buf.set_style(a.body, Style::new().add_modifier(Modifier::DIM));
    }
    header::render_footer(state, a.footer, buf);
    if state.nav().help {
        overlay::help(state, area, buf);
    }
    if let Some(c) = &state.nav().confirm {
        overlay::confirm(state, c, area, buf);
    }
}

#[cfg(test)]
mod otp_tests;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod trace_tests;
