//! Where the user is: the screen, where Esc goes back to, the overlays, each list's position and
//! the folded tree nodes.

use super::rows::Rows;
use crate::layout::scroll;
use crate::vocab::{Confirm, ViewId};
use beamline_wire::{Pid, ProcessTable};
use std::collections::HashSet;

/// A scrolled list's position.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListPos {
    /// Selected row.
    pub cursor: usize,
    /// First row on screen.
    pub offset: usize,
    /// Selected process, to keep the selection on it as rows move.
    pub pid: Option<Pid>,
}

impl ListPos {
    /// Move the cursor by `d` rows within `len`, scrolling as little as possible to keep it on a
    /// `page` of rows.
    pub fn step(&mut self, d: isize, page: usize, len: usize) {
        let max = len.saturating_sub(1) as isize;
        self.cursor = (self.cursor as isize).saturating_add(d).clamp(0, max) as usize;
        self.offset = scroll(self.offset, self.cursor, page, len);
    }
}

/// The user's place in the observer.
#[derive(Clone, Debug, PartialEq)]
pub struct Navigation {
    /// Current screen.
    pub view: ViewId,
    /// Where Esc from Detail goes back to.
    pub back: ViewId,
    /// Help overlay shown.
    pub help: bool,
    /// A destructive action awaiting confirmation.
    pub confirm: Option<Confirm>,
    /// Folded tree nodes.
    pub collapsed: HashSet<Pid>,
    /// Tree position.
    pub tree: ListPos,
    /// Processes position.
    pub table: ListPos,
    /// Alerts position.
    pub alerts: ListPos,
    /// Event log position.
    pub events: ListPos,
}

impl Default for Navigation {
    fn default() -> Self {
        Navigation {
            view: ViewId::Tree,
            back: ViewId::Tree,
            help: false,
            confirm: None,
            collapsed: HashSet::new(),
            tree: ListPos::default(),
            table: ListPos::default(),
            alerts: ListPos::default(),
            events: ListPos::default(),
        }
    }
}

impl Navigation {
    /// The current list's position (none on Detail and System).
    pub fn pos(&self) -> Option<&ListPos> {
        match self.view {
            ViewId::Tree => Some(&self.tree),
            ViewId::Processes => Some(&self.table),
            ViewId::Alerts => Some(&self.alerts),
            ViewId::Events => Some(&self.events),
            _ => None,
        }
    }

    /// The current list's position, to change it.
    pub fn pos_mut(&mut self) -> Option<&mut ListPos> {
        match self.view {
            ViewId::Tree => Some(&mut self.tree),
            ViewId::Processes => Some(&mut self.table),
            ViewId::Alerts => Some(&mut self.alerts),
            ViewId::Events => Some(&mut self.events),
            _ => None,
        }
    }

    /// Go to `view`, remembering a list to come back to from Detail.
    pub fn go(&mut self, view: ViewId) {
        if view == ViewId::Detail && self.view != ViewId::Detail {
            self.back = self.view;
        }
        self.view = view;
    }

    /// Fold (`Some(true)`), unfold (`Some(false)`) or toggle (`None`) the tree node `pid`.
    pub fn fold(&mut self, pid: Pid, fold: Option<bool>) {
        let fold = fold.unwrap_or(!self.collapsed.contains(&pid));
        if fold {
            self.collapsed.insert(pid);
        } else {
            self.collapsed.remove(&pid);
        }
    }

    /// Keep the current list's cursor on its selected process after `rows` (of moment `m`, `len`
    /// rows long) changed, and on a `page` of rows.
    ///
    /// With `recenter` (after a sort, when rows move far), the view shows the top of the list if
    /// the selection is on its first page, and otherwise puts the selection mid-page.
    pub fn reanchor(
        &mut self,
        rows: &Rows,
        m: Option<&ProcessTable>,
        page: usize,
        len: usize,
        recenter: bool,
    ) {
        let lists = self.view.lists_processes();
        let Some(pos) = self.pos_mut() else { return };
        let mut cursor = pos.cursor;
        if let (Some(m), Some(pid), true) = (m, pos.pid, lists)
            && let Some(i) = rows.position(m, pid)
        {
            cursor = i;
        }
        cursor = cursor.min(len.saturating_sub(1));
        if let (Some(m), true, 1..) = (m, lists, len) {
            pos.pid = rows.pid_at(m, cursor);
        }
        pos.cursor = cursor;
        if recenter {
            pos.offset = if cursor < page.max(1) {
                0
            } else {
                cursor - page / 2
            };
        }
        pos.offset = scroll(pos.offset, cursor, page, len);
    }

    /// Move the current list's cursor by `d` rows and select the process there. Nothing moves
    /// before the first sample, except in the list of alerts.
    pub fn move_cursor(
        &mut self,
        rows: &Rows,
        m: Option<&ProcessTable>,
        d: isize,
        page: usize,
        len: usize,
    ) {
        if m.is_none() && !matches!(self.view, ViewId::Alerts | ViewId::Events) {
            return;
        }
        let lists = self.view.lists_processes();
        let Some(pos) = self.pos_mut() else { return };
        pos.step(d, page, len);
        if let (Some(m), true) = (m, lists) {
            pos.pid = rows.pid_at(m, pos.cursor);
        }
    }
}
