//! Colours, or none: `--no-color` and `NO_COLOR` give a plain theme where emphasis is carried by
//! bold, reverse video and symbols alone, so nothing relies on colour to be understood.

use crate::model::pressure::Level;
use ratatui::style::{Color, Modifier, Style};

/// How things look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Whether colours are used at all.
    pub color: bool,
}

impl Theme {
    /// Colours on or off.
    pub fn new(color: bool) -> Self {
        Theme { color }
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
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    /// Column headers and titles.
    pub fn heading(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The selected row.
    pub fn selected(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// A figure at `level`.
    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Calm => self.fg(Color::Green),
            Level::Warn => self.fg(Color::Yellow),
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
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// A key name in hints.
    pub fn key(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// Charts.
    pub fn chart(&self) -> Style {
        self.fg(Color::Cyan)
    }

    /// The active tab.
    pub fn tab(&self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }
}
