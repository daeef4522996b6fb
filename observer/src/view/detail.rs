//! One process in depth: what it is doing and waiting on, where it sits, its history as charts,
//! its exits, links and monitors, who talks to it (`talk.rs`), its messages by type and queue
//! (`inside.rs`), recent log lines and (if it opted in) its state with its size over time.

pub mod inside;
pub mod talk;

use super::chart::{self, Scale, Series};
use super::chrome::title_block;
use super::fmt;
use crate::model::events::EventKind;
use crate::state::{Detail, Fetch, State};
use beamline_wire::{Pid, ProcessSample, ProcessTable, Status};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

/// Width of the facts column's labels (`receivers` and a space).
const LABEL: usize = 10;

/// Render the Detail view.
pub fn render(state: &State, area: Rect, buf: &mut Buffer) {
    let (Some(m), Some(d)) = (state.shown(), state.fetches().detail.as_ref()) else {
        return;
    };
    if let Some(t) = state.trace_open() {
        super::trace::render(state, t, area, buf);
        return;
    }
    let Some(p) = m.get(d.pid) else {
        gone(state, d.pid, area, buf);
        return;
    };
    let mut title = format!(
        " Detail {} {} · {} · {} ",
        p.id,
        p.name.as_deref().unwrap_or(""),
        p.kind.as_str(),
        p.behaviour
    );
    // Watching several nodes: which one, since its actions go there.
    if let Some(node) = state.model().fleet.as_ref().and_then(|f| f.name_of(p.id)) {
        title.push_str(&format!("· on {node} "));
    }
    let block = title_block(state, title);
    let inner = block.inner(area);
    block.render(area, buf);
    let bottom_h = if inner.height >= 18 {
        6
    } else {
        inner.height / 3
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(bottom_h)]).areas(inner);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(top);
    // The facts stop one column short of the right-hand side, so that a fact cut at its edge
    // (a long path) does not run into the table beside it.
    let facts = super::chrome::gutter(left);
    Paragraph::new(info(state, m, p, facts.width)).render(facts, buf);
    // Messages by type and the queue above the charts, which keep at least 4 rows.
    let (types_h, queue_h) = inside::heights(d);
    let room = right.height.saturating_sub(4);
    let types_h = types_h.min(room);
    let queue_h = queue_h.min(room - types_h);
    let [types_a, queue_a, charts_a] = Layout::vertical([
        Constraint::Length(types_h),
        Constraint::Length(queue_h),
        Constraint::Fill(1),
    ])
    .areas(right);
    inside::types(state, d, types_a, buf);
    inside::queue(state, d, queue_a, buf);
    charts(state, p.id, charts_a, buf);
    extras(state, d, bottom, buf);
}

/// A process no longer reported: how it ended (from the event log) and where its slot's
/// successor is.
fn gone(state: &State, pid: Pid, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let events = &state.model().events;
    let ended = (events.iter().rev())
        .find(|e| e.pid == pid && matches!(e.kind, EventKind::Exit | EventKind::Escalation))
        .map_or_else(
            || "exited (reason not seen)".to_string(),
            |e| format!("{} at {}", e.text, fmt::uptime(e.at_ms)),
        );
    let mut lines = vec![
        Line::default(),
        Line::styled(format!("  {pid} is no longer reported: {ended}"), t.warn()),
    ];
    if let Some(next) = events.successor(pid) {
        lines.push(Line::from(vec![
            Span::raw(format!("  its supervisor replaced it with {next}: ")),
            Span::styled("Enter", t.key()),
            Span::raw(" opens it"),
        ]));
    }
    lines.push(Line::styled("  Esc to go back", t.dim()));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(title_block(state, format!(" Detail {pid} ")))
        .render(area, buf);
}

fn since(m: &ProcessTable, at: u64) -> String {
    fmt::duration_ms(m.at_ms.saturating_sub(at))
}

fn label(m: &ProcessTable, pid: Pid) -> String {
    match m.get(pid).and_then(|p| p.name.clone()) {
        Some(n) => format!("{pid} {n}"),
        None => pid.to_string(),
    }
}

fn list(m: &ProcessTable, pids: &[Pid]) -> String {
    if pids.is_empty() {
        return "none".into();
    }
    let shown: Vec<String> = pids.iter().take(4).map(|p| label(m, *p)).collect();
    let more = pids.len().saturating_sub(4);
    let mut s = shown.join(", ");
    if more > 0 {
        s.push_str(&format!(" +{more}"));
    }
    s
}

/// The facts column, `width` columns wide.
fn info(state: &State, m: &ProcessTable, p: &ProcessSample, width: u16) -> Vec<Line<'static>> {
    let t = state.theme();
    let row = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<LABEL$}"), t.heading()),
            Span::raw(v),
        ])
    };
    let status = match &p.status {
        Status::Waiting { on, since_ms } => {
            format!("waiting on {} for {}", label(m, *on), since(m, *since_ms))
        }
        Status::Handling { kind, since_ms } => {
            format!("handling {} for {}", kind.as_str(), since(m, *since_ms))
        }
        Status::Exited { reason } => format!("exited: {reason}"),
        s => s.as_str().to_string(),
    };
    let mut chain = Vec::new();
    let mut at = p.parent;
    while let Some(pp) = at {
        if chain.len() > 8 {
            chain.push("…".to_string());
            break;
        }
        chain.push(m.get(pp).map_or_else(|| pp.to_string(), |q| q.label()));
        at = m.get(pp).and_then(|q| q.parent);
    }
    chain.reverse();
    chain.push(p.label());
    let mut lines = vec![row("status", status), row("path", chain.join(" › "))];
    lines.extend(load(p).into_iter().map(|(k, v)| row(k, v)));
    lines.extend(
        // Less the label and a space before the right-hand column.
        talk::rows(state, m, p.id, (width as usize).saturating_sub(LABEL + 1))
            .into_iter()
            .map(|(k, v)| row(k, v)),
    );
    lines.extend(talkers(state, p.id).into_iter().map(|(k, v)| row(k, v)));
    lines.extend(life(m, p).into_iter().map(|(k, v)| row(k, v)));
    lines
}

/// What it handles and how fast: mailbox, rates, totals, busy share, callback times.
fn load(p: &ProcessSample) -> Vec<(&'static str, String)> {
    let cap = p
        .mailbox_capacity
        .map_or("unbounded".to_string(), |c| format!("cap {c}"));
    vec![
        (
            "mailbox",
            format!("{} now · {} peak · {cap}", p.mailbox_len, p.mailbox_peak),
        ),
        (
            "rates",
            format!(
                "in {}/s · out {}/s",
                fmt::si(p.in_per_s),
                fmt::si(p.out_per_s)
            ),
        ),
        (
            "handled",
            format!(
                "call {} · cast {} · info {} /s",
                fmt::si(p.call_per_s),
                fmt::si(p.cast_per_s),
                fmt::si(p.info_per_s)
            ),
        ),
        (
            "totals",
            format!(
                "in {} · done {} · drop {}",
                fmt::count(p.received),
                fmt::count(p.handled),
                fmt::count(p.dropped)
            ),
        ),
        (
            "busy",
            format!(
                "{} · queued {} avg",
                fmt::percent(p.busy),
                fmt::micros(p.mean_wait_us)
            ),
        ),
        (
            "handle",
            format!(
                "{} avg · {} max",
                fmt::micros(p.mean_handle_us),
                fmt::micros(p.max_handle_us)
            ),
        ),
    ]
    .into_iter()
    // What it handled most of over the last interval (the TYPE column).
    .chain(crate::type_names::hot_type(p).map(|n| ("hot type", n.to_string())))
    .collect()
}

/// Who talks to it, from its message trace (`t`): the top senders of what it received and the
/// top receivers of what it sent.
fn talkers(state: &State, pid: Pid) -> Vec<(&'static str, String)> {
    let Some(t) = state.fetches().trace.as_ref().filter(|t| t.pid == pid) else {
        return vec![];
    };
    let top = |v: Vec<(String, u64)>| {
        if v.is_empty() {
            return "none seen".to_string();
        }
        let s: Vec<String> = v.iter().map(|(who, n)| format!("{who} ×{n}")).collect();
        s.join(" · ")
    };
    vec![
        ("trace", t.summary()),
        ("from", top(t.talkers.top_senders(3))),
        ("to", top(t.talkers.top_receivers(3))),
    ]
}

/// Its life: state size, restarts and exits, links, monitors, flags, supervision (with children
/// stuck restarting), registered keys, task metrics.
fn life(m: &ProcessTable, p: &ProcessSample) -> Vec<(&'static str, String)> {
    let mut lines = vec![
        (
            "state",
            format!(
                "{}{}",
                fmt::bytes(p.state_bytes),
                if p.state_deep { "" } else { " (shallow)" }
            ),
        ),
        (
            "restarts",
            if p.exit_history.is_empty() {
                p.restarts.to_string()
            } else {
                format!(
                    "{} · exits: {}",
                    p.restarts,
                    p.exit_history
                        .iter()
                        .rev()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            },
        ),
        ("links", list(m, &p.links)),
        ("monitors", list(m, &p.monitors)),
        (
            "flags",
            format!(
                "trap_exit {} · hibernated {}{}",
                if p.trap_exit { "yes" } else { "no" },
                p.hibernations,
                p.child_id
                    .as_ref()
                    .map_or(String::new(), |c| format!(" · child {c}"))
            ),
        ),
    ];
    if let Some(s) = &p.supervisor {
        lines.push((
            "supervise",
            format!(
                "{} · {}/{} restarts per {} · {} children",
                s.strategy,
                s.restarts_in_window,
                s.max_restarts,
                fmt::duration_ms(s.period_ms),
                s.children
            ),
        ));
        if s.restarting > 0 {
            let n = s.restarting;
            lines.push((
                "retrying",
                format!("{n} restarting: restart failed, retried"),
            ));
        }
    }
    if let Some(k) = &p.keys {
        let more = if k.more > 0 {
            format!(" +{}", k.more)
        } else {
            String::new()
        };
        lines.push(("keys", format!("{}{more}", k.shown.join(", "))));
    }
    if let Some(task) = &p.task {
        lines.push((
            "task",
            format!(
                "poll {} · scheduled {} · slow polls {}",
                fmt::micros(task.mean_poll_us),
                fmt::micros(task.mean_scheduled_us),
                task.slow_polls
            ),
        ));
    }
    lines
}

/// Four small charts over the retained history, up to the shown moment (a paused display
/// does not scroll).
fn charts(state: &State, pid: Pid, area: Rect, buf: &mut Buffer) {
    let (Some(h), Some(m)) = (state.model().history.process(pid), state.shown()) else {
        return;
    };
    let pts: Vec<_> = h.iter().filter(|p| p.at_ms <= m.at_ms).collect();
    let pts = &pts[pts.len().saturating_sub(area.width as usize)..];
    let si = |v: f64| fmt::si(v);
    let pct = |v: f64| fmt::percent(v);
    let bytes = |v: f64| fmt::bytes(v as u64);
    let series = [
        Series {
            name: "mailbox",
            data: pts.iter().map(|p| p.mailbox_len as f64).collect(),
            scale: Scale::Zero,
            fmt: &si,
        },
        Series {
            name: "msg in/s",
            data: pts.iter().map(|p| f64::from(p.in_per_s)).collect(),
            scale: Scale::Zero,
            fmt: &si,
        },
        Series {
            name: "busy",
            data: pts.iter().map(|p| f64::from(p.busy)).collect(),
            scale: Scale::Fixed(1.0),
            fmt: &pct,
        },
        Series {
            name: "state",
            data: pts.iter().map(|p| p.state_bytes as f64).collect(),
            scale: Scale::Range,
            fmt: &bytes,
        },
    ];
    chart::stacked(state.theme(), area, buf, &series);
}

fn fetched<T>(
    f: &Fetch<T>,
    none: &str,
    show: impl Fn(&T) -> Vec<Line<'static>>,
) -> Vec<Line<'static>> {
    match f {
        Fetch::NotAsked => vec![Line::from(none.to_string())],
        Fetch::Pending => vec![Line::from("fetching…")],
        Fetch::Failed(e) => vec![Line::from(format!("unavailable: {e}"))],
        Fetch::Ready(v) => show(v),
    }
}

/// Log lines and the state rendering.
fn extras(state: &State, d: &Detail, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let [logs_a, state_a] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(area);
    let rows = logs_a.height.saturating_sub(1) as usize;
    let logs = fetched(&d.logs, "no logs in a replay", |l| {
        if l.is_empty() {
            return vec![Line::from("no log lines")];
        }
        l.iter()
            .rev()
            .take(rows)
            .rev()
            .map(|s| Line::from(fmt::log_line(s)))
            .collect()
    });
    let st = fetched(
        &d.state,
        "not inspectable (the process has not opted in)",
        |s| s.lines().map(|l| Line::from(l.to_string())).collect(),
    );
    let block = |title: &'static str| {
        Block::new()
            .borders(Borders::TOP)
            .border_style(t.dim())
            .title(Line::styled(title, t.heading()))
    };
    Paragraph::new(logs)
        .block(block(" recent logs "))
        .render(logs_a, buf);
    let state_block = block(" state ");
    let inner = state_block.inner(state_a);
    state_block.render(state_a, buf);
    let text_a = inside::state_size(state, inner, buf);
    Paragraph::new(st)
        .wrap(Wrap { trim: false })
        .render(text_a, buf);
}
