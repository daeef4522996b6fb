//! Colours, or none: `--no-color` and `NO_COLOR` give a plain theme where emphasis is carried by
//! bold, reverse video and symbols alone, so nothing relies on colour to be understood.
//!
//! Two palettes: the dark one (the default) and a light one for light terminal backgrounds
//! (`BEAMLINE_OBSERVER_THEME=light`), which avoids yellow, cyan and white text that vanish on
//! white, and dark grey secondary text that is too faint there.

use crate::model::pressure::Level;
use ratatui::style::{Color, Modifier, Style};

/// How things look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Whether colours are used at all.
    pub color: bool,
    /// The palette for light backgrounds.
    pub light: bool,
}

/// The environment variable choosing the palette: `light` or `dark` (the default).
pub const THEME_VAR: &str = "BEAMLINE_OBSERVER_THEME";

impl Theme {
    /// Colours on (the dark palette) or off.
    pub fn new(color: bool) -> Self {
        Theme {
            color,
            light: false,
        }
    }

    /// The palette for light backgrounds (plain if `color` is off).
    pub fn light(color: bool) -> Self {
        Theme { color, light: true }
    }

    /// The palette `BEAMLINE_OBSERVER_THEME` names, colours on or off.
    pub fn from_env(color: bool) -> Self {
        match std::env::var(THEME_VAR).as_deref() {
            Ok("light") => Theme::light(color),
            _ => Theme::new(color),
        }
    }

    /// Pick the dark or the light variant of a colour.
    fn pick(&self, dark: Color, light: Color) -> Color {
        if self.light { light } else { dark }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        Style::new()
    }

    /// Secondary text.
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(self.pick(Color::DarkGray, Color::Gray))
        } else {
            Style::new()
        }
    }

    /// Column headers and titles.
    pub fn heading(&self) -> Style {
        self.fg(self.pick(Color::Cyan, Color::Blue))
            .add_modifier(Modifier::BOLD)
    }

    /// The selected row.
    pub fn selected(&self) -> Style {
        if self.color {
            let bg = self.pick(Color::Blue, Color::LightBlue);
            Style::new()
                .bg(bg)
                .fg(self.pick(Color::White, Color::Black))
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// A figure at `level`.
    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Calm => self.fg(Color::Green),
            Level::Warn => self.fg(self.pick(Color::Yellow, Color::Magenta)),
            Level::Bad => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    /// Something good (connected).
    pub fn good(&self) -> Style {
        self.fg(Color::Green)
    }

    /// Something wrong (disconnected, culprit).
    pub fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Needs attention (paused, retrying).
    pub fn warn(&self) -> Style {
        self.fg(self.pick(Color::Yellow, Color::Magenta))
            .add_modifier(Modifier::BOLD)
    }

    /// A key name in hints.
    pub fn key(&self) -> Style {
        self.fg(self.pick(Color::Yellow, Color::Blue))
            .add_modifier(Modifier::BOLD)
    }

    /// Charts.
    pub fn chart(&self) -> Style {
        self.fg(self.pick(Color::Cyan, Color::Blue))
    }

    /// The active tab.
    pub fn tab(&self) -> Style {
        self.fg(self.pick(Color::Yellow, Color::Blue))
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }
}
