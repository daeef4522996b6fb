//! What the user is looking at: view, selection, sort, filter, pause, overlays. Views read it;
//! [`State::handle`] changes it and returns the [`Effect`]s the loop must carry out, so no view
//! and no key handler ever does I/O.

pub mod rows;

use crate::diagnosis::Alert;
use crate::input::Action;
use crate::model::{Change, Model, Moment};
use crate::source::{ConnState, Playback};
use crate::theme::Theme;
use crate::view::{self, Areas};
use beamline_wire::{ControlReply, ControlRequest, Pid};
use ratatui::layout::Rect;
use std::collections::HashSet;
use std::sync::Arc;

pub use rows::{Column, Rows, TreeRow};

/// The five screens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViewId {
    /// Supervision tree.
    Tree,
    /// Flat sortable table.
    Processes,
    /// One process in depth.
    Detail,
    /// The runtime as a whole.
    System,
    /// Diagnosis findings.
    Alerts,
}

impl ViewId {
    /// All views in tab order.
    pub const ALL: [ViewId; 5] = [
        ViewId::Tree,
        ViewId::Processes,
        ViewId::Detail,
        ViewId::System,
        ViewId::Alerts,
    ];

    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            ViewId::Tree => "Tree",
            ViewId::Processes => "Processes",
            ViewId::Detail => "Detail",
            ViewId::System => "System",
            ViewId::Alerts => "Alerts",
        }
    }

    fn index(self) -> usize {
        ViewId::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

/// Something the loop must do on the state's behalf.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Leave the observer.
    Quit,
    /// Send a request to the runtime; the reply comes back through [`State::on_reply`].
    Control(ControlRequest),
    /// Steer a replay.
    Playback(Playback),
}

/// A value fetched from the runtime on demand.
#[derive(Clone, Debug, PartialEq)]
pub enum Fetch<T> {
    /// Not asked for (e.g. the process did not opt in to state rendering).
    NotAsked,
    /// Asked, no answer yet.
    Pending,
    /// The answer.
    Ready(T),
    /// The runtime could not answer; why.
    Failed(String),
}

/// The detail screen's subject and what was fetched about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Detail {
    /// The process shown.
    pub pid: Pid,
    /// Its recent log lines.
    pub logs: Fetch<Vec<String>>,
    /// Its state rendering.
    pub state: Fetch<String>,
}

/// An action waiting for the user's yes.
#[derive(Clone, Debug, PartialEq)]
pub enum Confirm {
    /// Kill this process.
    Kill(Pid, String),
    /// Restart this process through its supervisor.
    Restart(Pid, String),
}

/// The `/` filter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// Text matched against name, pid and behaviour, case-insensitively.
    pub text: String,
    /// Whether keys go to the filter line.
    pub editing: bool,
}

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

/// Fixed settings from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    /// What the header calls the target.
    pub target: String,
    /// Colours or plain.
    pub theme: Theme,
    /// Whether the source is a replay (enables step and seek hints).
    pub replay: bool,
}

/// Sampling intervals `+`/`-` step through, milliseconds.
pub const INTERVALS: [u64; 7] = [100, 250, 500, 1000, 2000, 5000, 10_000];

/// Everything the views read.
#[derive(Debug)]
pub struct State {
    /// The data.
    pub model: Model,
    /// Fixed settings.
    pub settings: Settings,
    /// Current screen.
    pub view: ViewId,
    /// Where Esc from Detail goes back to.
    pub back: ViewId,
    /// Help overlay shown.
    pub help: bool,
    /// The filter.
    pub filter: Filter,
    /// Sort of the Processes view.
    pub sort: Column,
    /// Descending when `false`... see [`State::reverse`].
    pub reverse: bool,
    /// Collapsed tree nodes.
    pub collapsed: HashSet<Pid>,
    /// Tree position.
    pub tree: ListPos,
    /// Processes position.
    pub table: ListPos,
    /// Alerts position.
    pub alerts: ListPos,
    /// Display frozen at this sample number.
    pub paused: Option<u64>,
    /// A replay step was asked for: follow it when it arrives.
    follow_step: bool,
    /// Detail subject.
    pub detail: Option<Detail>,
    /// A destructive action awaiting confirmation.
    pub confirm: Option<Confirm>,
    /// Last outcome worth telling the user (shown in the footer).
    pub note: Option<String>,
    /// Interval asked for with `+`/`-` and not yet in effect.
    pub requested_interval: Option<u64>,
    /// Source-reported missed updates.
    pub source_missed: u64,
    /// Terminal size.
    pub size: Rect,
    /// Rows of the current list view for the shown moment.
    pub rows: Rows,
}

impl State {
    /// A fresh state over `model`.
    pub fn new(model: Model, settings: Settings, size: Rect) -> Self {
        State {
            model,
            settings,
            view: ViewId::Tree,
            back: ViewId::Tree,
            help: false,
            filter: Filter::default(),
            sort: Column::Mailbox,
            reverse: false,
            collapsed: HashSet::new(),
            tree: ListPos::default(),
            table: ListPos::default(),
            alerts: ListPos::default(),
            paused: None,
            follow_step: false,
            detail: None,
            confirm: None,
            note: None,
            requested_interval: None,
            source_missed: 0,
            size,
            rows: Rows::default(),
        }
    }

    /// The moment on screen: the newest, or the one the display is paused on.
    pub fn shown(&self) -> Option<&Arc<Moment>> {
        match self.paused {
            Some(seq) => self.model.at(seq),
            None => self.model.latest(),
        }
    }

    /// Screen areas for the current terminal size.
    pub fn areas(&self) -> Areas {
        view::areas(self.size)
    }

    /// Rows of a list that fit on screen.
    pub fn page(&self) -> usize {
        view::list_rows(self.areas().body).max(1)
    }

    /// Fold a model change in; returns effects (none today, kept for symmetry).
    pub fn on_change(&mut self, change: Change) {
        match change {
            Change::Nothing | Change::Link => {
                if let ConnState::Connected = self.model.conn {
                    self.note = self.note.take().filter(|n| !n.starts_with("disconnected"));
                }
            }
            Change::Reset => {
                self.paused = None;
                self.follow_step = false;
                self.refresh();
            }
            Change::Sample => {
                if self.follow_step {
                    self.follow_step = false;
                    self.paused = self.model.latest().map(|m| m.seq);
                }
                if let Some(want) = self.requested_interval
                    && self.model.latest().is_some_and(|m| m.interval_ms == want)
                {
                    self.requested_interval = None;
                }
                if self.paused.is_none() || self.follow_step {
                    self.refresh();
                }
            }
        }
    }

    /// Recompute the rows of the current list view for the shown moment and keep the selection
    /// on the same process.
    pub fn refresh(&mut self) {
        let Some(m) = self.shown().cloned() else {
            self.rows = Rows::default();
            return;
        };
        let filter = self.filter.text.to_lowercase();
        self.rows = match self.view {
            ViewId::Tree => Rows::tree(&m, &self.collapsed, &filter),
            ViewId::Processes => Rows::table(&m, self.sort, self.reverse, &filter),
            _ => Rows::default(),
        };
        self.reanchor();
    }

    /// Keep the cursor on the selected process after rows changed, and on screen.
    fn reanchor(&mut self) {
        let page = self.page();
        let len = self.list_len();
        let m = self.shown().cloned();
        let is_list = matches!(self.view, ViewId::Tree | ViewId::Processes);
        let Some(pos) = self.list_pos() else {
            return;
        };
        let mut cursor = pos.cursor;
        if let (Some(m), Some(pid), true) = (&m, pos.pid, is_list)
            && let Some(i) = self.rows.position(m, pid)
        {
            cursor = i;
        }
        cursor = cursor.min(len.saturating_sub(1));
        let pid = match (&m, is_list, len) {
            (Some(m), true, 1..) => self.rows.pid_at(m, cursor),
            _ => pos.pid,
        };
        let Some(pos) = self.list_pos_mut() else {
            return;
        };
        pos.cursor = cursor;
        pos.offset = scroll(pos.offset, cursor, page, len);
        pos.pid = pid;
    }

    fn list_pos_mut(&mut self) -> Option<&mut ListPos> {
        match self.view {
            ViewId::Tree => Some(&mut self.tree),
            ViewId::Processes => Some(&mut self.table),
            ViewId::Alerts => Some(&mut self.alerts),
            _ => None,
        }
    }

    /// The current list's position.
    pub fn list_pos(&self) -> Option<&ListPos> {
        match self.view {
            ViewId::Tree => Some(&self.tree),
            ViewId::Processes => Some(&self.table),
            ViewId::Alerts => Some(&self.alerts),
            _ => None,
        }
    }

    fn cursor(&self) -> usize {
        self.list_pos().map_or(0, |p| p.cursor)
    }

    fn list_len(&self) -> usize {
        match self.view {
            ViewId::Alerts => self.model.alerts.len(),
            _ => self.rows.len(),
        }
    }

    /// The process the user has in focus in the current view.
    pub fn focused(&self) -> Option<Pid> {
        match self.view {
            ViewId::Tree | ViewId::Processes => {
                let m = self.shown()?;
                self.rows.pid_at(m, self.cursor())
            }
            ViewId::Detail => self.detail.as_ref().map(|d| d.pid),
            ViewId::Alerts => self.selected_alert()?.processes.first().copied(),
            ViewId::System => None,
        }
    }

    /// The alert under the cursor in the Alerts view.
    pub fn selected_alert(&self) -> Option<&Alert> {
        self.model.alerts.get(self.alerts.cursor)
    }

    fn switch(&mut self, v: ViewId) -> Vec<Effect> {
        if v == ViewId::Detail {
            return match self.focused().or(self.detail.as_ref().map(|d| d.pid)) {
                Some(pid) => self.open_detail(pid),
                None => {
                    self.note = Some("select a process first".into());
                    vec![]
                }
            };
        }
        self.view = v;
        self.refresh();
        vec![]
    }

    fn open_detail(&mut self, pid: Pid) -> Vec<Effect> {
        if self.view != ViewId::Detail {
            self.back = self.view;
        }
        self.view = ViewId::Detail;
        let live = !self.settings.replay;
        let inspectable = self
            .shown()
            .and_then(|m| m.get(pid))
            .is_some_and(|p| p.inspectable);
        let mut fx = Vec::new();
        let logs = if live {
            fx.push(Effect::Control(ControlRequest::Logs { pid }));
            Fetch::Pending
        } else {
            Fetch::NotAsked
        };
        let state = if live && inspectable {
            fx.push(Effect::Control(ControlRequest::RenderState { pid }));
            Fetch::Pending
        } else {
            Fetch::NotAsked
        };
        self.detail = Some(Detail { pid, logs, state });
        fx
    }

    /// Apply one user action.
    pub fn handle(&mut self, action: Action) -> Vec<Effect> {
        use Action as A;
        match action {
            A::Quit => return vec![Effect::Quit],
            A::Help => self.help = !self.help,
            A::Back => {
                if self.help {
                    self.help = false;
                } else if self.confirm.is_some() {
                    self.confirm = None;
                } else if !self.filter.text.is_empty() && self.view != ViewId::Detail {
                    self.filter.text.clear();
                    self.refresh();
                } else if self.view == ViewId::Detail {
                    let back = self.back;
                    self.view = back;
                    self.refresh();
                }
            }
            A::View(v) => return self.switch(v),
            A::NextView | A::PrevView => {
                let step = if action == A::NextView { 1 } else { 4 };
                let v = ViewId::ALL[(self.view.index() + step) % 5];
                return self.switch(v);
            }
            A::Move(d) => self.move_cursor(d),
            A::Page(d) => {
                let page = self.page() as isize;
                self.move_cursor(d * page);
            }
            A::Top => self.move_cursor(isize::MIN / 2),
            A::Bottom => self.move_cursor(isize::MAX / 2),
            A::Open => {
                if self.view == ViewId::Detail {
                    return vec![];
                }
                if let Some(pid) = self.focused() {
                    return self.open_detail(pid);
                }
            }
            A::FilterStart => {
                if matches!(self.view, ViewId::Tree | ViewId::Processes) {
                    self.filter.editing = true;
                } else {
                    self.view = ViewId::Processes;
                    self.filter.editing = true;
                    self.refresh();
                }
            }
            A::FilterInput(c) => {
                self.filter.text.push(c);
                self.refresh();
            }
            A::FilterBackspace => {
                self.filter.text.pop();
                self.refresh();
            }
            A::FilterApply => self.filter.editing = false,
            A::FilterCancel => {
                self.filter.editing = false;
                self.filter.text.clear();
                self.refresh();
            }
            A::Sort(c) => {
                if self.view != ViewId::Processes {
                    self.view = ViewId::Processes;
                }
                if self.sort == c {
                    self.reverse = !self.reverse;
                } else {
                    self.sort = c;
                    self.reverse = false;
                }
                self.refresh();
            }
            A::Reverse => {
                self.reverse = !self.reverse;
                self.refresh();
            }
            A::Pause => {
                return match self.paused {
                    Some(_) => {
                        self.paused = None;
                        self.follow_step = false;
                        self.refresh();
                        vec![Effect::Playback(Playback::Resume)]
                    }
                    None => {
                        self.paused = self.model.latest().map(|m| m.seq);
                        vec![Effect::Playback(Playback::Pause)]
                    }
                };
            }
            A::Left | A::Right => {
                let back = action == A::Left;
                if let Some(seq) = self.paused {
                    let latest = self.model.latest().map(|m| m.seq);
                    if !back && Some(seq) == latest && self.settings.replay {
                        self.follow_step = true;
                        return vec![Effect::Playback(Playback::Step)];
                    }
                    self.paused = self.model.step_from(seq, if back { -1 } else { 1 });
                    self.refresh();
                } else if self.view == ViewId::Tree
                    && let Some(pid) = self.focused()
                {
                    if back {
                        self.collapsed.insert(pid);
                    } else {
                        self.collapsed.remove(&pid);
                    }
                    self.refresh();
                }
            }
            A::ToggleCollapse => {
                if self.view == ViewId::Tree
                    && let Some(pid) = self.focused()
                {
                    if !self.collapsed.remove(&pid) {
                        self.collapsed.insert(pid);
                    }
                    self.refresh();
                }
            }
            A::CollapseAll => {
                if let Some(m) = self.shown() {
                    self.collapsed = rows::parents(m);
                }
                self.refresh();
            }
            A::ExpandAll => {
                self.collapsed.clear();
                self.refresh();
            }
            A::Slower | A::Faster => {
                let now = self
                    .requested_interval
                    .or(self.model.latest().map(|m| m.interval_ms))
                    .or(self.model.welcome.as_ref().map(|w| w.interval_ms))
                    .unwrap_or(1000);
                let i = INTERVALS.partition_point(|v| *v < now);
                let j = if action == A::Slower {
                    (i + usize::from(INTERVALS.get(i) == Some(&now))).min(INTERVALS.len() - 1)
                } else {
                    i.saturating_sub(1)
                };
                let ms = INTERVALS[j];
                if self.settings.replay {
                    self.note = Some("a replay's interval is fixed".into());
                    return vec![];
                }
                self.requested_interval = Some(ms);
                return vec![Effect::Control(ControlRequest::SetInterval { ms })];
            }
            A::Kill | A::Restart => {
                if let Some(pid) = self.focused() {
                    let label = self
                        .shown()
                        .and_then(|m| m.get(pid))
                        .map_or_else(|| pid.to_string(), |p| p.label());
                    self.confirm = Some(if action == A::Kill {
                        Confirm::Kill(pid, label)
                    } else {
                        Confirm::Restart(pid, label)
                    });
                }
            }
            A::Confirm => {
                return match self.confirm.take() {
                    Some(Confirm::Kill(pid, _)) => vec![Effect::Control(ControlRequest::Kill {
                        pid,
                        reason: "kill".into(),
                    })],
                    Some(Confirm::Restart(pid, _)) => {
                        vec![Effect::Control(ControlRequest::Restart { pid })]
                    }
                    None => vec![],
                };
            }
            A::Seek(ms) => {
                if self.settings.replay {
                    self.paused = None;
                    return vec![Effect::Playback(Playback::Seek(ms))];
                }
                self.note = Some("seeking works in replays; use Space and ←/→ live".into());
            }
            A::Click { column, row } => return self.click(column, row),
            A::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                self.reanchor();
            }
        }
        vec![]
    }

    fn move_cursor(&mut self, d: isize) {
        let len = self.list_len();
        let page = self.page();
        let Some(m) = self.shown().cloned() else {
            if self.view == ViewId::Alerts {
                let pos = &mut self.alerts;
                pos.cursor =
                    (pos.cursor as isize + d).clamp(0, len.saturating_sub(1) as isize) as usize;
                pos.offset = scroll(pos.offset, pos.cursor, page, len);
            }
            return;
        };
        let view = self.view;
        let pid = {
            let Some(pos) = self.list_pos_mut() else {
                return;
            };
            let max = len.saturating_sub(1) as isize;
            pos.cursor = (pos.cursor as isize).saturating_add(d).clamp(0, max) as usize;
            pos.offset = scroll(pos.offset, pos.cursor, page, len);
            pos.cursor
        };
        if matches!(view, ViewId::Tree | ViewId::Processes) {
            let pid = self.rows.pid_at(&m, pid);
            if let Some(pos) = self.list_pos_mut() {
                pos.pid = pid;
            }
        }
    }

    fn click(&mut self, column: u16, row: u16) -> Vec<Effect> {
        let a = self.areas();
        if row == a.tabs.y {
            if let Some(v) = view::header::tab_at(a.tabs, column) {
                return self.switch(v);
            }
            return vec![];
        }
        let first = a.body.y + view::LIST_HEADER_ROWS;
        if self.list_pos().is_none() || row < first || row >= a.body.bottom() {
            return vec![];
        }
        let Some(pos) = self.list_pos() else {
            return vec![];
        };
        let target = pos.offset + (row - first) as usize;
        if target >= self.list_len() {
            return vec![];
        }
        if target == pos.cursor {
            return self.handle(Action::Open);
        }
        self.move_cursor(target as isize - pos.cursor as isize);
        vec![]
    }

    /// Fold in the runtime's answer to a request this state asked for.
    pub fn on_reply(&mut self, request: ControlRequest, reply: ControlReply) {
        let fail = |r: &ControlReply| match r {
            ControlReply::Error(e) => e.clone(),
            other => format!("unexpected reply {other:?}"),
        };
        match request {
            ControlRequest::Logs { pid } => {
                if let Some(d) = self.detail.as_mut().filter(|d| d.pid == pid) {
                    d.logs = match reply {
                        ControlReply::Logs(l) => Fetch::Ready(l),
                        r => Fetch::Failed(fail(&r)),
                    };
                }
            }
            ControlRequest::RenderState { pid } => {
                if let Some(d) = self.detail.as_mut().filter(|d| d.pid == pid) {
                    d.state = match reply {
                        ControlReply::State(s) => Fetch::Ready(s),
                        r => Fetch::Failed(fail(&r)),
                    };
                }
            }
            ControlRequest::Kill { pid, .. } => {
                self.note = Some(match reply {
                    ControlReply::Ok => format!("killed {pid}"),
                    r => format!("kill {pid} failed: {}", fail(&r)),
                });
            }
            ControlRequest::Restart { pid } => {
                self.note = Some(match reply {
                    ControlReply::Ok => format!("restarted {pid}"),
                    r => format!("restart {pid} failed: {}", fail(&r)),
                });
            }
            ControlRequest::SetInterval { ms } => match reply {
                ControlReply::Ok => self.note = Some(format!("interval set to {ms} ms")),
                r => {
                    self.requested_interval = None;
                    self.note = Some(format!("interval change failed: {}", fail(&r)));
                }
            },
        }
    }
}

/// The first visible row so that `cursor` is on screen, moving as little as possible.
pub fn scroll(offset: usize, cursor: usize, page: usize, len: usize) -> usize {
    let page = page.max(1);
    let mut o = offset.min(len.saturating_sub(page));
    if cursor < o {
        o = cursor;
    } else if cursor >= o + page {
        o = cursor + 1 - page;
    }
    o
}

#[cfg(test)]
mod tests;
