//! Keys and mouse to [`Action`]s: small pure functions, tested without a terminal.

use crate::vocab::{Column, ViewId};
use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

/// What the user asked for, independent of which key they pressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave.
    Quit,
    /// Toggle the help overlay.
    Help,
    /// Close whatever is on top: help, confirmation, filter, detail.
    Back,
    /// Go to a view.
    View(ViewId),
    /// Next tab.
    NextView,
    /// Previous tab.
    PrevView,
    /// Move the cursor by rows.
    Move(isize),
    /// Move the cursor by pages.
    Page(isize),
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Open the detail of the focused process (or the alert's process).
    Open,
    /// Start typing a filter.
    FilterStart,
    /// A character typed into the filter.
    FilterInput(char),
    /// Delete the filter's last character.
    FilterBackspace,
    /// Keep the filter and return to the list.
    FilterApply,
    /// Drop the filter.
    FilterCancel,
    /// Sort the table by a column (again: reverse).
    Sort(Column),
    /// Reverse the sort.
    Reverse,
    /// Freeze or unfreeze the display.
    Pause,
    /// Paused: one sample back. Tree: collapse.
    Left,
    /// Paused: one sample forward. Tree: expand.
    Right,
    /// Collapse or expand the focused tree node.
    ToggleCollapse,
    /// Collapse every node.
    CollapseAll,
    /// Expand every node.
    ExpandAll,
    /// Longer sampling interval.
    Slower,
    /// Shorter sampling interval.
    Faster,
    /// Ask to kill the focused process.
    Kill,
    /// Ask to restart the focused process through its supervisor.
    Restart,
    /// Detail: peek at the first queued messages of the process shown.
    PeekQueue,
    /// Yes to the pending confirmation.
    Confirm,
    /// Replay: jump by this many milliseconds (`i64::MIN` / `MAX`: to the first / last entry).
    Seek(i64),
    /// A click at a screen cell.
    Click {
        /// Column.
        column: u16,
        /// Row.
        row: u16,
    },
    /// The terminal changed size.
    Resize(u16, u16),
}

/// Which keys mean what depends on what is on top.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Browsing.
    Normal,
    /// Typing a filter.
    Filter,
    /// A yes/no question is open.
    Confirm,
    /// The help overlay is open.
    Help,
}

/// Map any terminal event.
pub fn event(ev: &Event, mode: Mode) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => key(k, mode),
        Event::Mouse(m) => mouse(m),
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

/// Map a key press.
pub fn key(k: &KeyEvent, mode: Mode) -> Option<Action> {
    use Action as A;
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        return match k.code {
            KeyCode::Char('c') => Some(A::Quit),
            KeyCode::Char('f') => Some(A::Page(1)),
            KeyCode::Char('b') => Some(A::Page(-1)),
            _ => None,
        };
    }
    match mode {
        Mode::Filter => {
            return match k.code {
                KeyCode::Enter => Some(A::FilterApply),
                KeyCode::Esc => Some(A::FilterCancel),
                KeyCode::Backspace => Some(A::FilterBackspace),
                KeyCode::Char(c) => Some(A::FilterInput(c)),
                KeyCode::Up => Some(A::Move(-1)),
                KeyCode::Down => Some(A::Move(1)),
                _ => None,
            };
        }
        Mode::Confirm => {
            return match k.code {
                KeyCode::Char('y' | 'Y') | KeyCode::Enter => Some(A::Confirm),
                KeyCode::Char('q') => Some(A::Quit),
                _ => Some(A::Back),
            };
        }
        Mode::Help => {
            return match k.code {
                KeyCode::Char('q') => Some(A::Quit),
                _ => Some(A::Back),
            };
        }
        Mode::Normal => {}
    }
    Some(match k.code {
        KeyCode::Char('q') => A::Quit,
        KeyCode::Char('?') | KeyCode::F(1) => A::Help,
        KeyCode::Esc => A::Back,
        KeyCode::Tab => A::NextView,
        KeyCode::BackTab => A::PrevView,
        KeyCode::Char(c @ '1'..='7') => A::View(ViewId::ALL[(c as u8 - b'1') as usize]),
        KeyCode::Up | KeyCode::Char('k') => A::Move(-1),
        KeyCode::Down | KeyCode::Char('j') => A::Move(1),
        KeyCode::PageUp => A::Page(-1),
        KeyCode::PageDown => A::Page(1),
        KeyCode::Home | KeyCode::Char('g') => A::Top,
        KeyCode::End | KeyCode::Char('G') => A::Bottom,
        KeyCode::Enter => A::Open,
        KeyCode::Char('/') => A::FilterStart,
        KeyCode::Char('r') => A::Reverse,
        KeyCode::Char(' ') => A::Pause,
        KeyCode::Left | KeyCode::Char('h') => A::Left,
        KeyCode::Right | KeyCode::Char('l') => A::Right,
        KeyCode::Char('c') => A::ToggleCollapse,
        KeyCode::Char('C') => A::CollapseAll,
        KeyCode::Char('E') => A::ExpandAll,
        KeyCode::Char('+' | '=') => A::Slower,
        KeyCode::Char('-' | '_') => A::Faster,
        KeyCode::Char('K') => A::Kill,
        KeyCode::Char('R') => A::Restart,
        KeyCode::Char('Q') => A::PeekQueue,
        KeyCode::Char('[') => A::Seek(-10_000),
        KeyCode::Char(']') => A::Seek(10_000),
        KeyCode::Char('{') => A::Seek(i64::MIN),
        KeyCode::Char('}') => A::Seek(i64::MAX),
        KeyCode::Char(c) => A::Sort(Column::from_key(c)?),
        _ => return None,
    })
}

/// Map a mouse event: wheel scrolls, a left click selects (a second click opens).
pub fn mouse(m: &MouseEvent) -> Option<Action> {
    match m.kind {
        MouseEventKind::ScrollUp => Some(Action::Move(-3)),
        MouseEventKind::ScrollDown => Some(Action::Move(3)),
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click {
            column: m.column,
            row: m.row,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn normal_keys() {
        let n = Mode::Normal;
        assert_eq!(key(&k(KeyCode::Char('q')), n), Some(Action::Quit));
        assert_eq!(
            key(
                &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
                Mode::Filter
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            key(&k(KeyCode::Char('3')), n),
            Some(Action::View(ViewId::Detail))
        );
        assert_eq!(key(&k(KeyCode::Char('j')), n), Some(Action::Move(1)));
        assert_eq!(key(&k(KeyCode::Up), n), Some(Action::Move(-1)));
        assert_eq!(key(&k(KeyCode::Char('G')), n), Some(Action::Bottom));
        assert_eq!(
            key(&k(KeyCode::Char('m')), n),
            Some(Action::Sort(Column::Mailbox))
        );
        assert_eq!(key(&k(KeyCode::Char('K')), n), Some(Action::Kill));
        assert_eq!(key(&k(KeyCode::Char('Q')), n), Some(Action::PeekQueue));
        assert_eq!(key(&k(KeyCode::Char(' ')), n), Some(Action::Pause));
        assert_eq!(key(&k(KeyCode::Char('z')), n), None);
        assert_eq!(key(&k(KeyCode::Char('{')), n), Some(Action::Seek(i64::MIN)));
        assert_eq!(key(&k(KeyCode::Char('}')), n), Some(Action::Seek(i64::MAX)));
    }

    #[test]
    fn filter_mode_takes_letters_literally() {
        let f = Mode::Filter;
        assert_eq!(
            key(&k(KeyCode::Char('q')), f),
            Some(Action::FilterInput('q'))
        );
        assert_eq!(key(&k(KeyCode::Enter), f), Some(Action::FilterApply));
        assert_eq!(key(&k(KeyCode::Esc), f), Some(Action::FilterCancel));
    }

    #[test]
    fn confirmation_needs_an_explicit_yes() {
        let c = Mode::Confirm;
        assert_eq!(key(&k(KeyCode::Char('y')), c), Some(Action::Confirm));
        assert_eq!(key(&k(KeyCode::Char('K')), c), Some(Action::Back));
        assert_eq!(key(&k(KeyCode::Char('n')), c), Some(Action::Back));
    }

    #[test]
    fn mouse_wheel_and_click() {
        let m = |kind| MouseEvent {
            kind,
            column: 4,
            row: 7,
            modifiers: KeyModifiers::NONE,
        };
        assert_eq!(mouse(&m(MouseEventKind::ScrollDown)), Some(Action::Move(3)));
        assert_eq!(
            mouse(&m(MouseEventKind::Down(MouseButton::Left))),
            Some(Action::Click { column: 4, row: 7 })
        );
        assert_eq!(mouse(&m(MouseEventKind::Moved)), None);
    }
}
