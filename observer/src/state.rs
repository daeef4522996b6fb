//! What the user is looking at, in parts: [`navigation`] (screen, overlays, list positions,
//! folds), [`query`] (filter and sort), [`playback`] (pause and scrub), [`fetches`] (what was
//! asked of the runtime), and the [`rows`] of the current list. Views read it through `&State`;
//! the loop changes it only through its methods ([`State::handle`], [`State::apply`],
//! [`State::on_reply`]), which return the [`Effect`]s the loop must carry out, so no view and no
//! key handler ever does I/O. In the TUI nothing that grows with the process count runs here:
//! samples arrive as frames built on a worker thread and rows are sorted on another
//! ([`sorter`]; the state's side of that is `offloop.rs`); tests and fallbacks apply and sort in
//! place with the same code.
//!
//! Longer than most files (about 790 lines) for a reason: it holds the accessors that are the
//! views' only way in, and the one place where an action reaches several parts (focus, rows and
//! cursor follow the filter, the sort, the playhead and the tree's folds; a click or a restart
//! moves the selection and the Detail subject). What each part does by itself lives in its own
//! file.

pub mod effect;
pub mod fetches;
pub mod freshness;
pub mod navigation;
mod offloop;
pub mod playback;
pub mod query;
pub mod rows;
pub mod sorter;
pub mod trace;

use crate::input::{Action, Mode};
use crate::layout::{self, Areas};
use crate::model::diagnosis::Alert;
use crate::model::events::{Event, EventKind};
use crate::model::worker::Input;
use crate::model::{Change, Model};
use crate::source::{ConnState, Playback, SourceEvent};
use crate::theme::Theme;
use crate::vocab::Column;
use crate::vocab::{Confirm, ViewId};
use beamline_wire::{ControlReply, ControlRequest, Pid, ProcessTable, ServerMsg};
use ratatui::layout::Rect;
use sorter::{Order, Request, Spec};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a note stays in the footer.
pub const NOTE_TTL: Duration = Duration::from_secs(5);
/// Two clicks on the same row within this time open it.
pub const DOUBLE_CLICK: Duration = Duration::from_millis(400);

pub use effect::Effect;
pub use fetches::{Detail, Fetch, Fetches, INTERVALS};
pub use freshness::Freshness;
pub use navigation::{ListPos, Navigation};
pub use playback::Playhead;
pub use query::Query;
pub use rows::{Rows, TreeRow};
pub use trace::{TraceState, TraceStatus};

/// Fixed settings from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    /// What the header calls the target.
    pub target: String,
    /// Colours or plain.
    pub theme: Theme,
    /// Whether the source is a replay (enables step and seek hints).
    pub replay: bool,
    /// Ask the runtime for this sampling interval once the handshake is done.
    pub interval_ms: Option<u64>,
}

/// Everything the views read.
#[derive(Debug)]
pub struct State {
    model: Model,
    settings: Settings,
    nav: Navigation,
    query: Query,
    playhead: Playhead,
    fetches: Fetches,
    /// Whether `settings.interval_ms` was asked for yet.
    asked_interval: bool,
    note: Option<(String, Instant)>,
    source_missed: u64,
    size: Rect,
    rows: Rows,
    freshness: Freshness,
    /// The last left click: when, and on which cell (for double clicks).
    last_click: Option<(Instant, u16, u16)>,
    /// The moment on screen, the one `rows` index.
    screen: Option<Arc<ProcessTable>>,
    /// Set when samples and rows are computed off the loop.
    offloop: Option<offloop::Offloop>,
}

impl State {
    /// A fresh state over `model`, for a terminal of `size`.
    pub fn new(model: Model, settings: Settings, size: Rect) -> Self {
        let mut state = State {
            model,
            asked_interval: settings.interval_ms.is_none(),
            settings,
            nav: Navigation::default(),
            query: Query::default(),
            playhead: Playhead::default(),
            fetches: Fetches::default(),
            note: None,
            source_missed: 0,
            size,
            rows: Rows::default(),
            freshness: Freshness::default(),
            last_click: None,
            screen: None,
            offloop: None,
        };
        state.refresh();
        state
    }

    /// The data.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Fixed settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The colours.
    pub fn theme(&self) -> &Theme {
        &self.settings.theme
    }

    /// Screen, overlays, list positions and folds.
    pub fn nav(&self) -> &Navigation {
        &self.nav
    }

    /// The current screen.
    pub fn view(&self) -> ViewId {
        self.nav.view
    }

    /// Filter and sort.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Which sample is on screen.
    pub fn playhead(&self) -> &Playhead {
        &self.playhead
    }

    /// Requests to the runtime and their answers.
    pub fn fetches(&self) -> &Fetches {
        &self.fetches
    }

    /// The last outcome worth telling the user (shown in the footer).
    pub fn note(&self) -> Option<&str> {
        self.note.as_ref().map(|(n, _)| n.as_str())
    }

    /// Tell the user something in the footer (it goes after [`NOTE_TTL`]).
    fn set_note(&mut self, note: impl Into<String>) {
        self.note = Some((note.into(), Instant::now()));
    }

    /// Drop a note older than [`NOTE_TTL`] at `now` (the loop's tick calls this).
    pub fn expire_note(&mut self, now: Instant) {
        if self
            .note
            .as_ref()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= NOTE_TTL)
        {
            self.note = None;
        }
    }

    /// The alerts of the shown moment: the newest, or those raised at the paused sample (or
    /// at the sample on screen while the rows of a newer one are computed).
    pub fn alerts(&self) -> &[Alert] {
        let on_screen = self.screen.as_ref().and_then(|m| m.seq);
        match self.playhead.paused.or(on_screen) {
            Some(seq) if self.model.latest().and_then(|m| m.seq) != Some(seq) => {
                self.model.alerts_at(seq)
            }
            _ => &self.model.alerts,
        }
    }

    /// The event log up to the shown moment, newest first, filtered like the lists.
    pub fn events(&self) -> Vec<&Event> {
        let Some(m) = self.shown() else {
            return Vec::new();
        };
        let needle = self.query.needle();
        self.model
            .events
            .until(m.at_ms)
            .filter(|e| {
                needle.is_empty()
                    || e.who.to_lowercase().contains(&needle)
                    || e.text.to_lowercase().contains(&needle)
                    || e.kind.as_str().contains(&needle)
                    || e.pid.to_string().contains(&needle)
            })
            .collect()
    }

    /// Updates the observer did not receive: gaps in the deltas plus the source's own count.
    pub fn missed(&self) -> u64 {
        self.model.gaps + self.source_missed
    }

    /// The terminal size.
    pub fn size(&self) -> Rect {
        self.size
    }

    /// How old the data is when it is no longer live (no sample for two intervals, or the link
    /// down); `None` while live, in a replay, and before the first sample.
    pub fn stale_for(&self) -> Option<Duration> {
        if self.settings.replay {
            return None;
        }
        let interval = self.model.latest()?.interval_ms;
        // A longer interval just asked for: its first sample comes that much later.
        let interval = interval.max(self.fetches.interval.unwrap_or(0));
        let live = self.model.conn == ConnState::Connected;
        self.freshness.stale(live, interval)
    }

    /// What the header calls the source now (a recording that failed, a replay's speed).
    pub fn set_target(&mut self, target: String) {
        self.settings.target = target;
    }

    /// Rows of the current list view for the shown moment.
    pub fn rows(&self) -> &Rows {
        &self.rows
    }

    /// The moment on screen: the newest, or the one the display is paused on (while rows are
    /// computed off the loop, the one they were last computed for).
    pub fn shown(&self) -> Option<&Arc<ProcessTable>> {
        self.screen.as_ref()
    }

    /// The moment the playhead points at: the newest, or the one the display is paused on.
    fn target(&self) -> Option<&Arc<ProcessTable>> {
        match self.playhead.paused {
            Some(seq) => self.model.at(seq),
            None => self.model.latest(),
        }
    }

    /// Screen areas for the current terminal size.
    pub fn areas(&self) -> Areas {
        layout::areas(self.size)
    }

    /// Rows of a list that fit on screen.
    pub fn page(&self) -> usize {
        let body = self.areas().body;
        // The Alerts view keeps three rows under its list for the selected alert's full text.
        let below = if self.nav.view == ViewId::Alerts && body.height > 8 {
            3
        } else {
            0
        };
        layout::list_rows(body).saturating_sub(below).max(1)
    }

    /// Which keymap applies now.
    pub fn mode(&self) -> Mode {
        if self.nav.confirm.is_some() {
            Mode::Confirm
        } else if self.nav.help {
            Mode::Help
        } else if self.query.filter.editing {
            Mode::Filter
        } else {
            Mode::Normal
        }
    }

    /// The process the user has in focus in the current view.
    pub fn focused(&self) -> Option<Pid> {
        match self.nav.view {
            ViewId::Tree | ViewId::Processes if self.rows_fit() => {
                let m = self.shown()?;
                self.rows.pid_at(m, self.nav.pos().map_or(0, |p| p.cursor))
            }
            ViewId::Tree | ViewId::Processes => None,
            ViewId::Detail => self.fetches.detail.as_ref().map(|d| d.pid),
            ViewId::Alerts => self.selected_alert()?.processes.first().copied(),
            ViewId::Events => self.events().get(self.nav.events.cursor).map(|e| e.pid),
            ViewId::System | ViewId::Memory => None,
        }
    }

    /// The alert under the cursor in the Alerts view.
    pub fn selected_alert(&self) -> Option<&Alert> {
        self.alerts().get(self.nav.alerts.cursor)
    }

    /// Fold one event from the source into the model and the display; returns the requests
    /// that follow from it (the interval asked for on the command line, once connected).
    pub fn apply(&mut self, ev: SourceEvent) -> Vec<Effect> {
        if let SourceEvent::Trouble(t) = &ev {
            self.set_note(t.to_string());
        }
        if let SourceEvent::Msg(ServerMsg::Trace(batch)) = ev {
            self.on_trace(batch);
            return vec![];
        }
        let change = self.model.apply(ev);
        self.after(change)
    }

    /// A batch of the open message trace's events (they bypass the model: a trace is the
    /// state's, see `state/trace.rs`).
    pub fn on_trace(&mut self, batch: beamline_wire::trace::TraceBatch) {
        if let Some(t) = self.fetches.trace.as_mut() {
            t.on_batch(batch);
        }
    }

    /// What follows a change of the model, however it was applied.
    fn after(&mut self, change: Change) -> Vec<Effect> {
        let mut fx = self.on_change(change);
        if let ConnState::Retrying { .. } = self.model.conn {
            self.set_note("disconnected, retrying");
        }
        match self.settings.interval_ms {
            Some(ms) if !self.asked_interval && self.model.welcome.is_some() => {
                self.asked_interval = true;
                fx.push(self.fetches.set_interval(ms));
            }
            _ => {}
        }
        fx
    }

    /// The source's count of updates it dropped.
    pub fn set_source_missed(&mut self, missed: u64) {
        self.source_missed = missed;
    }

    /// Fold in the runtime's answer to a request this state asked for.
    pub fn on_reply(&mut self, request: ControlRequest, reply: ControlReply) {
        let done = match (&request, &reply) {
            (ControlRequest::Kill { pid, reason }, ControlReply::Ok) => {
                Some((*pid, format!("killed by the observer ({reason})")))
            }
            (ControlRequest::Restart { pid }, ControlReply::Ok) => {
                Some((*pid, "restarted by the observer".to_string()))
            }
            _ => None,
        };
        if let Some((pid, text)) = done {
            let m = self.model.latest();
            let event = Event {
                at_ms: m.map_or(0, |m| m.at_ms),
                kind: EventKind::Observer,
                pid,
                who: m
                    .and_then(|m| m.get(pid))
                    .map_or_else(|| pid.to_string(), |p| p.label()),
                text,
            };
            if let Some(o) = &mut self.offloop {
                o.notes += 1;
                o.unconfirmed.push((o.notes, event.clone()));
                o.outbox.push(Input::Note(event.clone()));
            }
            Arc::make_mut(&mut self.model.events).record(event);
        }
        if let Some(note) = self.fetches.on_reply(request, reply) {
            self.set_note(note);
        }
    }

    fn on_change(&mut self, change: Change) -> Vec<Effect> {
        match change {
            Change::Nothing | Change::Link => {
                if let ConnState::Connected = self.model.conn
                    && self.note().is_some_and(|n| n.starts_with("disconnected"))
                {
                    self.note = None;
                }
                vec![]
            }
            // The runtime's history streams in before the live snapshot, which redraws.
            Change::History => vec![],
            Change::Reset => {
                self.playhead.go_live();
                self.refresh();
                vec![]
            }
            Change::Sample => {
                self.freshness.on_sample();
                if let Some(m) = self.model.latest() {
                    self.fetches.on_sample(m.interval_ms);
                }
                if self.playhead.on_sample(&self.model) {
                    self.refresh();
                    let follow = self.follow_successor();
                    if !follow.is_empty() {
                        return follow; // a new subject: its counters are asked for already
                    }
                }
                let live = self.nav.view == ViewId::Detail && !self.settings.replay;
                self.fetches.on_detail_sample(live).into_iter().collect()
            }
        }
    }

    /// Detail on a process its supervisor replaced: follow the child slot to the new pid, and
    /// say so.
    fn follow_successor(&mut self) -> Vec<Effect> {
        let Some(old) = self.fetches.detail.as_ref().map(|d| d.pid) else {
            return vec![];
        };
        let Some(new) = self.model.events.successor(old) else {
            return vec![];
        };
        let Some(m) = self.target().cloned() else {
            return vec![];
        };
        let Some(p) = m.get(new) else { return vec![] };
        let reason = match m.get(old).map(|o| &o.status) {
            Some(beamline_wire::Status::Exited { reason }) => format!(" ({reason})"),
            _ => String::new(),
        };
        self.set_note(format!(
            "{} was restarted: following {old} → {new}{reason}",
            p.label()
        ));
        let inspectable = p.inspectable;
        let fx = self.fetches.open(new, !self.settings.replay, inspectable);
        if self.nav.view == ViewId::Detail {
            fx
        } else {
            vec![]
        }
    }

    /// The trace shown in place of the Detail body, if the Trace view is open.
    pub fn trace_open(&self) -> Option<&TraceState> {
        let pid = self.fetches.detail.as_ref()?.pid;
        (self.fetches.trace.as_ref())
            .filter(|t| t.open && t.pid == pid && self.nav.view == ViewId::Detail)
    }

    /// Apply one user action.
    pub fn handle(&mut self, action: Action) -> Vec<Effect> {
        use Action as A;
        if self.nav.view == ViewId::Detail && self.mode() == Mode::Normal {
            // In Detail, `t` (elsewhere: sort by state) traces the process.
            if action == A::Sort(Column::State) {
                return self.trace_key();
            }
            if self.trace_open().is_some()
                && let Some(fx) = self.trace_action(action)
            {
                return fx;
            }
        }
        match action {
            A::Quit => return vec![Effect::Quit],
            A::Help => self.nav.help = !self.nav.help,
            A::Back => self.back(),
            A::View(v) => return self.switch(v),
            A::NextView | A::PrevView => {
                let n = ViewId::ALL.len();
                let step = if action == A::NextView { 1 } else { n - 1 };
                return self.switch(ViewId::ALL[(self.nav.view.index() + step) % n]);
            }
            A::Move(d) => self.move_cursor(d),
            A::Page(d) => self.move_cursor(d * self.page() as isize),
            A::Top => self.move_cursor(isize::MIN / 2),
            A::Bottom => self.move_cursor(isize::MAX / 2),
            A::Open => return self.open_focused(),
            A::FilterStart if !self.nav.view.filters() => {
                self.nav.view = ViewId::Processes;
                self.query.apply(action);
                self.refresh();
            }
            A::Sort(_) => {
                self.nav.view = ViewId::Processes;
                self.query.apply(action);
                self.refresh_recentered(true);
            }
            A::FilterStart
            | A::FilterInput(_)
            | A::FilterBackspace
            | A::FilterApply
            | A::FilterCancel
            | A::Reverse => {
                if self.query.apply(action) {
                    self.refresh();
                }
            }
            A::Pause => {
                let fx = self.playhead.toggle(&self.model);
                if self.playhead.paused.is_none() {
                    self.refresh();
                } else {
                    // Frames need no rows while the display is frozen.
                    let spec = self.spec();
                    if let Some(o) = &mut self.offloop {
                        o.wanted.set(Order {
                            generation: o.generation,
                            live: false,
                            spec,
                        });
                    }
                }
                return vec![fx];
            }
            A::Left | A::Right => return self.left_right(action == A::Left),
            A::ToggleCollapse | A::CollapseAll | A::ExpandAll => self.fold(action),
            A::Slower | A::Faster => return self.change_interval(action == A::Slower),
            A::Kill | A::Restart => self.ask_confirm(action == A::Kill),
            A::PeekQueue if self.nav.view == ViewId::Detail => {
                return self.fetches.peek_queue(!self.settings.replay);
            }
            A::PeekQueue => self.set_note("Q peeks at a mailbox from the Detail view (3)"),
            A::Confirm => return self.confirmed(),
            A::Seek(ms) => return self.seek(ms),
            A::Click { column, row } => return self.click(column, row, Instant::now()),
            A::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                self.reanchor();
            }
        }
        vec![]
    }

    /// `t` in Detail: open the Trace view on this process's trace, starting one if it has
    /// none running; in the Trace view, back to Detail (the trace runs on until its limits).
    fn trace_key(&mut self) -> Vec<Effect> {
        let Some(pid) = self.fetches.detail.as_ref().map(|d| d.pid) else {
            return vec![];
        };
        if self.settings.replay {
            self.set_note("tracing needs a live runtime");
            return vec![];
        }
        if let Some(t) = self.fetches.trace.as_mut().filter(|t| t.pid == pid) {
            if t.open {
                t.open = false;
                self.query.filter.text.clear();
                return vec![];
            }
            if t.is_live() {
                t.open = true;
                return vec![];
            }
        }
        let mut fx: Vec<Effect> = self
            .fetches
            .trace
            .as_ref()
            .and_then(|t| t.stop())
            .into_iter()
            .collect();
        let (trace, start) = TraceState::start(pid);
        self.fetches.trace = Some(trace);
        fx.push(start);
        fx
    }

    /// Keys of the Trace view: scroll, pause, filter by type, back. `None`: not its key.
    fn trace_action(&mut self, action: Action) -> Option<Vec<Effect>> {
        use Action as A;
        let needle = self.query.needle();
        let page = self.page() as isize;
        let t = self.fetches.trace.as_mut()?;
        let len = t.shown(&needle).len();
        match action {
            A::Move(d) => t.scroll_by(d, len),
            A::Page(d) => t.scroll_by(d * page, len),
            A::Top => t.scroll = 0,
            A::Bottom => t.scroll_by(isize::MAX / 2, len),
            A::Pause => t.toggle_pause(),
            A::FilterStart => {
                t.scroll = 0;
                self.query.apply(action);
            }
            A::Back if !self.nav.help && self.nav.confirm.is_none() => {
                if self.query.filter.text.is_empty() {
                    t.open = false;
                } else {
                    self.query.filter.text.clear();
                }
            }
            _ => return None,
        }
        Some(vec![])
    }

    /// Esc: close whatever is on top, or clear the filter, or leave Detail.
    fn back(&mut self) {
        if self.nav.help {
            self.nav.help = false;
        } else if self.nav.confirm.is_some() {
            self.nav.confirm = None;
        } else if !self.query.filter.text.is_empty() && self.nav.view != ViewId::Detail {
            self.query.filter.text.clear();
            self.refresh();
        } else if self.nav.view == ViewId::Detail {
            self.nav.view = self.nav.back;
            self.refresh();
        }
    }

    /// Go to `v`; Detail opens the focused process (or the last one shown).
    fn switch(&mut self, v: ViewId) -> Vec<Effect> {
        if v == ViewId::Detail {
            let last = self.fetches.detail.as_ref().map(|d| d.pid);
            return match self.focused().or(last) {
                Some(pid) => self.open_detail(pid),
                None => {
                    self.set_note("select a process first");
                    vec![]
                }
            };
        }
        self.nav.go(v);
        self.refresh();
        vec![]
    }

    fn open_focused(&mut self) -> Vec<Effect> {
        if self.nav.view == ViewId::Detail {
            // On a process that is gone or exited: open its successor, if it was restarted.
            let pid = self.fetches.detail.as_ref().map(|d| d.pid);
            let next = pid.and_then(|p| self.model.events.successor(p));
            return next.map_or_else(Vec::new, |n| self.open_detail(n));
        }
        match self.focused() {
            Some(pid) if self.nav.view != ViewId::Detail => self.open_detail(pid),
            _ => vec![],
        }
    }

    fn open_detail(&mut self, pid: Pid) -> Vec<Effect> {
        self.nav.go(ViewId::Detail);
        let inspectable = self
            .shown()
            .and_then(|m| m.get(pid))
            .is_some_and(|p| p.inspectable);
        self.fetches.open(pid, !self.settings.replay, inspectable)
    }

    /// ←/→: scrub while paused; on the tree, fold and unfold.
    fn left_right(&mut self, left: bool) -> Vec<Effect> {
        if let Some(fx) = self.playhead.scrub(&self.model, left, self.settings.replay) {
            if fx.is_empty() {
                self.refresh();
            }
            return fx;
        }
        if self.nav.view == ViewId::Tree
            && let Some(pid) = self.focused()
        {
            self.nav.fold(pid, Some(left));
            self.refresh();
        }
        vec![]
    }

    fn fold(&mut self, action: Action) {
        match action {
            Action::ToggleCollapse => {
                if self.nav.view != ViewId::Tree {
                    return;
                }
                let Some(pid) = self.focused() else { return };
                self.nav.fold(pid, None);
            }
            Action::CollapseAll => {
                if let Some(m) = self.shown() {
                    self.nav.collapsed = rows::parents(m);
                }
            }
            _ => self.nav.collapsed.clear(),
        }
        self.refresh();
    }

    fn seek(&mut self, ms: i64) -> Vec<Effect> {
        if self.settings.replay {
            self.playhead.go_live();
            return vec![Effect::Playback(crate::source::Playback::Seek(ms))];
        }
        self.set_note("seeking works in replays; use Space and ←/→ live");
        vec![]
    }

    fn change_interval(&mut self, slower: bool) -> Vec<Effect> {
        let now = (self.model.latest().map(|m| m.interval_ms))
            .or(self.model.welcome.as_ref().map(|w| w.interval_ms))
            .unwrap_or(1000);
        if self.settings.replay {
            // A replay's interval is fixed: + (`slower`, a longer interval live) plays faster
            // instead, - slower.
            let cmd = if slower {
                Playback::Faster
            } else {
                Playback::Slower
            };
            return vec![Effect::Playback(cmd)];
        }
        let ms = self.fetches.next_interval(now, slower);
        vec![self.fetches.set_interval(ms)]
    }

    fn ask_confirm(&mut self, kill: bool) {
        let Some(pid) = self.focused() else { return };
        let label = self
            .shown()
            .and_then(|m| m.get(pid))
            .map_or_else(|| pid.to_string(), |p| p.label());
        self.nav.confirm = Some(if kill {
            Confirm::Kill(pid, label)
        } else {
            Confirm::Restart(pid, label)
        });
    }

    fn confirmed(&mut self) -> Vec<Effect> {
        let confirm = self.nav.confirm.take();
        confirm
            .map(|c| Effect::Control(c.request()))
            .into_iter()
            .collect()
    }

    /// How many processes moment `m` lists, leaving out a fleet's node rows.
    pub fn process_count(&self, m: &ProcessTable) -> u64 {
        let rows = self.model.fleet.as_ref().map_or(0, |f| f.nodes.len());
        m.processes.len().saturating_sub(rows) as u64
    }

    /// Whether the observer watches more than one node (the process table then has NODE).
    pub fn several_nodes(&self) -> bool {
        self.model.fleet.as_ref().is_some_and(|f| f.nodes.len() > 1)
    }

    /// Recompute the rows of the current list view for the shown moment and keep the selection
    /// on the same process.
    fn refresh(&mut self) {
        self.refresh_recentered(false);
    }

    /// [`Self::refresh`], moving the view to show the top of the list or the selection
    /// mid-page when rows were reordered (a sort).
    ///
    /// Off the loop, the rows come later (from the frame being swapped in when it carries them
    /// for this order and moment, else from the sorter); until then the list shows the moment
    /// and rows it showed before.
    fn refresh_recentered(&mut self, recenter: bool) {
        let spec = self.spec();
        let target = self.target().cloned();
        let Some(o) = &mut self.offloop else {
            let rows = target.as_ref().map(|m| spec.rows(m, &self.model.events));
            self.show_opt(target, rows.unwrap_or_default(), recenter);
            return;
        };
        if let (Some(a), Some(m)) = (o.arrived.take(), &target)
            && a.generation == o.generation
            && Arc::ptr_eq(&a.table, m)
        {
            let recenter = std::mem::take(&mut o.recenter) || recenter;
            o.shown = o.generation;
            self.show(a.table, a.rows, recenter);
            return;
        }
        o.generation += 1;
        let lists = spec.lists();
        o.wanted.set(Order {
            generation: o.generation,
            live: self.playhead.paused.is_none(),
            spec: spec.clone(),
        });
        match target {
            Some(table) if lists => {
                o.recenter |= recenter;
                o.request = Some(Request {
                    generation: o.generation,
                    table,
                    events: self.model.events.clone(),
                    spec,
                });
            }
            _ => {
                o.request = None;
                o.shown = o.generation;
                self.show_opt(target, Rows::default(), recenter);
            }
        }
    }

    /// What decides the rows now.
    fn spec(&self) -> Spec {
        Spec {
            view: self.nav.view,
            collapsed: self.nav.collapsed.clone(),
            needle: self.query.needle(),
            sort: self.query.sort,
            desc: self.query.descending(),
            fleet: self.model.fleet.clone(),
        }
    }

    /// Put `table` and its `rows` on screen, keeping the selection on the same process.
    fn show(&mut self, table: Arc<ProcessTable>, rows: Rows, recenter: bool) {
        self.show_opt(Some(table), rows, recenter);
    }

    fn show_opt(&mut self, table: Option<Arc<ProcessTable>>, rows: Rows, recenter: bool) {
        self.screen = table;
        self.rows = rows;
        self.reanchor_with(recenter);
    }

    /// Whether the rows are of the current view's kind (off the loop, a switch between the
    /// tree and the table shows the other's rows until its own land).
    fn rows_fit(&self) -> bool {
        match (self.nav.view, &self.rows) {
            (ViewId::Tree, Rows::Table(_)) | (ViewId::Processes, Rows::Tree(_)) => false,
            (ViewId::Tree | ViewId::Processes, Rows::None) => self.screen.is_none(),
            _ => true,
        }
    }

    fn list_len(&self) -> usize {
        match self.nav.view {
            ViewId::Alerts => self.alerts().len(),
            ViewId::Events => self.events().len(),
            _ => self.rows.len(),
        }
    }

    fn reanchor(&mut self) {
        self.reanchor_with(false);
    }

    fn reanchor_with(&mut self, recenter: bool) {
        let (page, len) = (self.page(), self.list_len());
        let m = self.shown().cloned();
        self.nav
            .reanchor(&self.rows, m.as_deref(), page, len, recenter);
    }

    fn move_cursor(&mut self, d: isize) {
        if !self.rows_fit() {
            // A switch between the tree and the table whose rows have not landed yet.
            return;
        }
        let (page, len) = (self.page(), self.list_len());
        let m = self.shown().cloned();
        self.nav.move_cursor(&self.rows, m.as_deref(), d, page, len);
    }

    /// A left click at `now`: a tab switches view, a column title of the process table sorts by
    /// it, a row selects, and a second click on the same row within [`DOUBLE_CLICK`] opens it.
    fn click(&mut self, column: u16, row: u16, now: Instant) -> Vec<Effect> {
        let a = self.areas();
        let double = self.last_click.is_some_and(|(at, _, r)| {
            r == row && now.saturating_duration_since(at) <= DOUBLE_CLICK
        });
        self.last_click = Some((now, column, row));
        if row == a.tabs.y {
            return match layout::tab_at(a.tabs, column) {
                Some(v) => self.switch(v),
                None => vec![],
            };
        }
        if self.nav.view == ViewId::Processes
            && row == a.body.y + 1
            && let Some(c) = layout::column_at(a.body.width, self.several_nodes(), column)
        {
            return self.handle(Action::Sort(c));
        }
        let first = a.body.y + layout::LIST_HEADER_ROWS;
        let Some(pos) = self.nav.pos() else {
            return vec![];
        };
        if row < first || row >= a.body.bottom() {
            return vec![];
        }
        let target = pos.offset + (row - first) as usize;
        if target >= self.list_len() {
            return vec![];
        }
        let cursor = pos.cursor;
        self.move_cursor(target as isize - cursor as isize);
        if double {
            self.last_click = None;
            return self.handle(Action::Open);
        }
        vec![]
    }

    /// A click at `now` (tests of double clicks).
    #[cfg(test)]
    pub(crate) fn click_at(&mut self, column: u16, row: u16, now: Instant) -> Vec<Effect> {
        self.click(column, row, now)
    }

    /// Change the theme (tests of the palettes).
    #[cfg(test)]
    pub(crate) fn set_theme(&mut self, theme: Theme) {
        self.settings.theme = theme;
    }

    /// Replace the alerts (tests of how views show alerts the fixture does not raise).
    #[cfg(test)]
    pub(crate) fn set_alerts(&mut self, alerts: Vec<Alert>) {
        self.model.alerts = alerts;
    }
}

#[cfg(test)]
mod tests;
