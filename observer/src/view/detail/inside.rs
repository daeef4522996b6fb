//! Inside a process (issue 19): its messages by type (count, rate, mean and max handle time,
//! share of its busy time), the head of its mailbox (`Q`), and the state's size over time
//! drawn beside its rendering.

use crate::state::fetches::TypeReadings;
use crate::state::{Detail, Fetch, State};
use crate::view::fmt;
use beamline_wire::{QueuePeek, TypeCount};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// Rows of the by-type table and of the queue list, at most.
const MAX_ROWS: usize = 8;

/// One row of the by-type table.
#[derive(Debug, PartialEq)]
pub struct TypeRow {
    /// The type's name.
    pub name: String,
    /// Handled since the process started.
    pub count: u64,
    /// Per second between the two readings; `None` after a single reading.
    pub rate: Option<f64>,
    /// Mean handle time, microseconds.
    pub mean_us: f64,
    /// Longest, microseconds.
    pub max_us: f64,
    /// Share of the time spent on all types: between the readings if it moved, else since start.
    pub share: f64,
}

/// The table's rows, the hottest (most handle time between the readings, then overall) first.
pub fn rows(r: &TypeReadings) -> Vec<TypeRow> {
    let prev = |t: &TypeCount| {
        (r.before.as_ref()).and_then(|b| {
            b.types
                .iter()
                .find(|p| p.name == t.name && p.kind == t.kind)
        })
    };
    let secs = r
        .before
        .as_ref()
        .map(|b| r.now.at_ms.saturating_sub(b.at_ms) as f64 / 1000.0)
        .filter(|s| *s > 0.0);
    let moved = |t: &TypeCount| t.busy_ns - prev(t).map_or(0, |p| p.busy_ns.min(t.busy_ns));
    let total_moved: u64 = r.now.types.iter().map(moved).sum();
    let total: u64 = r.now.types.iter().map(|t| t.busy_ns).sum();
    let mut rows: Vec<(u64, TypeRow)> = (r.now.types.iter())
        .map(|t| {
            let busy = if total_moved > 0 { moved(t) } else { t.busy_ns };
            let of = if total_moved > 0 { total_moved } else { total };
            let rate =
                secs.map(|s| (t.count - prev(t).map_or(0, |p| p.count.min(t.count))) as f64 / s);
            let row = TypeRow {
                name: t.name.clone(),
                count: t.count,
                rate,
                mean_us: t.busy_ns as f64 / t.count.max(1) as f64 / 1000.0,
                max_us: t.max_ns as f64 / 1000.0,
                share: if of > 0 { busy as f64 / of as f64 } else { 0.0 },
            };
            (busy, row)
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.count.cmp(&a.1.count)));
    rows.into_iter().map(|(_, r)| r).collect()
}

/// How many rows the by-type table and the queue list want (with their headings).
pub fn heights(d: &Detail) -> (u16, u16) {
    let types = match &d.types {
        Fetch::NotAsked => 0,
        Fetch::Ready(r) => 2 + r.now.types.len().clamp(1, MAX_ROWS),
        _ => 2,
    };
    let queue = match &d.queue {
        Fetch::NotAsked => 0,
        Fetch::Ready(q) => 2 + q.messages.len().clamp(1, MAX_ROWS),
        _ => 2,
    };
    (types as u16, queue as u16)
}

/// Narrower than this, the table drops its count and max columns and the queue its kind and
/// size.
const WIDE: usize = 60;

/// The by-type table.
pub fn types(state: &State, d: &Detail, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let w = area.width as usize;
    let wide = w >= WIDE;
    let name_w = w.saturating_sub(if wide { 40 } else { 23 }).clamp(6, 40);
    let cells = |name: &str, count: &str, rate: &str, mean: &str, max: &str, busy: &str| {
        if wide {
            format!("{name:<name_w$} {count:>7} {rate:>7} {mean:>7} {max:>7} {busy:>6}")
        } else {
            format!("{name:<name_w$} {rate:>7} {mean:>7} {busy:>6}")
        }
    };
    let title = if wide { "messages by type" } else { "by type" };
    let mut lines = vec![Line::styled(
        cells(title, "count", "rate/s", "mean", "max", "busy%"),
        t.heading(),
    )];
    match &d.types {
        Fetch::Ready(r) if r.now.types.is_empty() => {
            lines.push(Line::styled("no messages handled yet", t.dim()));
        }
        Fetch::Ready(r) => {
            let all = rows(r);
            let more = all.len().saturating_sub(MAX_ROWS);
            for row in all.iter().take(MAX_ROWS) {
                lines.push(Line::raw(cells(
                    &fit(&row.name, name_w),
                    &fmt::count(row.count),
                    &row.rate.map_or("…".into(), fmt::si),
                    &fmt::micros(row.mean_us),
                    &fmt::micros(row.max_us),
                    &fmt::percent(row.share),
                )));
            }
            if more > 0 {
                lines.push(Line::styled(format!("+{more} more types"), t.dim()));
            }
        }
        other => lines.push(Line::styled(status(other), t.dim())),
    }
    Paragraph::new(lines).render(area, buf);
}

/// A type's name in `width` columns: `Cmd::Deposit` too long keeps its variant, `Deposit`.
fn fit(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        return name.to_string();
    }
    fmt::clip(name.rsplit("::").next().unwrap_or(name), width)
}

fn status<T>(f: &Fetch<T>) -> String {
    match f {
        Fetch::NotAsked => "not asked".into(),
        Fetch::Pending => "fetching…".into(),
        Fetch::Failed(e) => format!("unavailable: {e}"),
        Fetch::Ready(_) => String::new(),
    }
}

/// The head of the mailbox, after `Q`.
pub fn queue(state: &State, d: &Detail, area: Rect, buf: &mut Buffer) {
    let t = state.theme();
    let lines = match &d.queue {
        Fetch::Ready(q) => queue_lines(state, q, area.width as usize),
        other => vec![
            Line::styled("queue (Q refreshes)", t.heading()),
            Line::styled(status(other), t.dim()),
        ],
    };
    Paragraph::new(lines).render(area, buf);
}

fn queue_lines(state: &State, q: &QueuePeek, w: usize) -> Vec<Line<'static>> {
    let t = state.theme();
    let wide = w >= WIDE;
    let heading = match (wide, q.in_batch) {
        (true, 0) => format!("queue: {} waiting (Q refreshes)", q.queued),
        (true, b) => format!(
            "queue: {} waiting behind {b} in its batch (Q refreshes)",
            q.queued
        ),
        (false, 0) => format!("queue: {} waiting", q.queued),
        (false, b) => format!("queue: {} (+{b} in batch)", q.queued),
    };
    let mut lines = vec![Line::styled(heading, t.heading())];
    if q.messages.is_empty() {
        lines.push(Line::styled("empty", t.dim()));
    }
    for m in q.messages.iter().take(MAX_ROWS) {
        let age = match (m.age_us, m.age_exact) {
            (Some(us), true) => fmt::micros(us as f64),
            (Some(us), false) => format!("≥{}", fmt::micros(us as f64)),
            (None, _) => "?".into(),
        };
        let head = if wide {
            format!(
                "{age:>7} {:<4} {:<16} {:>6}",
                m.kind.as_str(),
                fmt::clip(&m.name, 16),
                fmt::bytes(m.bytes)
            )
        } else {
            format!("{age:>7} {}", fit(&m.name, 16))
        };
        let text = m.text.as_deref().unwrap_or("");
        let room = w.saturating_sub(head.chars().count() + 1);
        lines.push(Line::from(vec![
            Span::raw(head),
            Span::raw(" "),
            Span::styled(fmt::clip(text, room), t.dim()),
        ]));
    }
    let more = q
        .queued
        .saturating_sub(q.messages.len().min(MAX_ROWS) as u64);
    if more > 0 {
        lines.push(Line::styled(format!("+{more} more"), t.dim()));
    }
    lines
}

/// The state's size over the retained history, one line: what the state weighed as it ran.
pub fn state_size(state: &State, area: Rect, buf: &mut Buffer) -> Rect {
    let [line, rest] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let (Some(d), Some(m)) = (state.fetches().detail.as_ref(), state.shown()) else {
        return area;
    };
    let Some(h) = state.model().history.process(d.pid) else {
        return area;
    };
    let pts: Vec<f32> = (h.iter().filter(|p| p.at_ms <= m.at_ms))
        .map(|p| p.state_bytes as f32)
        .collect();
    let (Some(lo), Some(hi)) = (
        pts.iter().copied().reduce(f32::min),
        pts.iter().copied().reduce(f32::max),
    ) else {
        return area;
    };
    let t = state.theme();
    let label = format!(" {}–{}", fmt::bytes(lo as u64), fmt::bytes(hi as u64));
    let width = (line.width as usize).saturating_sub(label.chars().count() + 5);
    // Sizes start at their minimum so change is visible, as in the charts.
    let spark = if hi > lo {
        let floor = (hi - lo) / 7.0;
        let shifted: Vec<f32> = pts.iter().map(|v| v - lo + floor).collect();
        fmt::spark(&shifted, width)
    } else {
        // Flat: a thin line, not a solid block.
        let n = pts.len().min(width);
        format!("{}{}", " ".repeat(width - n), "▁".repeat(n))
    };
    Paragraph::new(Line::from(vec![
        Span::styled("size ", t.heading()),
        Span::styled(spark, t.chart()),
        Span::styled(label, t.dim()),
    ]))
    .render(line, buf);
    rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Action;
    use crate::state::fetches::PEEK;
    use crate::view::tests::state_with;
    use crate::vocab::ViewId;
    use beamline_wire::{
        ControlReply, ControlRequest, MsgKind, Pid, QueuedMessage, Talker, TypeCount, TypeCounts,
    };
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn counts(at_ms: u64, scale: u64) -> TypeCounts {
        let t = |name: &str, kind, count: u64, busy_ms: u64| TypeCount {
            name: name.into(),
            kind,
            count: count * scale,
            busy_ns: busy_ms * scale * 1_000_000,
            max_ns: 2_500_000,
        };
        TypeCounts {
            pid: Pid(9),
            at_ms,
            types: vec![
                t("Batch::Append", MsgKind::Cast, 400, 300),
                t("Batch::Flush", MsgKind::Cast, 10, 600),
                t("Query", MsgKind::Call, 50, 20),
            ],
            senders: vec![
                Talker {
                    pid: Some(Pid(8)),
                    sampled: 40 * scale,
                    share: 0.8,
                },
                Talker {
                    pid: None,
                    sampled: 10 * scale,
                    share: 0.2,
                },
            ],
            receivers: vec![Talker {
                pid: Some(Pid(10)),
                sampled: 25 * scale,
                share: 1.0,
            }],
            talk_window_ms: 8_000,
            talk_every: 32,
        }
    }

    fn peek() -> beamline_wire::QueuePeek {
        let m = |name: &str, age_us, exact, text: Option<&str>| QueuedMessage {
            name: name.into(),
            kind: MsgKind::Cast,
            bytes: 48,
            age_us,
            age_exact: exact,
            text: text.map(str::to_string),
        };
        beamline_wire::QueuePeek {
            at_ms: 30_000,
            in_batch: 12,
            queued: 1188,
            messages: vec![
                m(
                    "Batch::Append",
                    Some(840_000),
                    false,
                    Some("Append { id: 41 }"),
                ),
                m("Batch::Flush", Some(830_000), true, Some("Flush")),
                m("Batch::Append", None, false, None),
            ],
        }
    }

    /// Detail on `stage_3` with two readings of its per-type counters and a queue peek.
    fn detail(w: u16, h: u16) -> crate::state::State {
        detail_with(w, h, |_| {})
    }

    /// [`detail`] with its counters changed by `edit`.
    fn detail_with(w: u16, h: u16, edit: impl Fn(&mut TypeCounts)) -> crate::state::State {
        let counts = |at_ms, scale| {
            let mut c = counts(at_ms, scale);
            edit(&mut c);
            c
        };
        let mut s = state_with(30);
        s.handle(Action::Resize(w, h));
        s.handle(Action::View(ViewId::Processes));
        let fx = s.handle(Action::Open);
        let types = ControlRequest::MessageTypes { pids: vec![Pid(9)] };
        assert!(
            fx.contains(&crate::state::effect::Effect::Control(types.clone())),
            "opening asks for the counters: {fx:?}"
        );
        s.on_reply(
            types.clone(),
            ControlReply::MessageTypes(vec![counts(28_000, 1)]),
        );
        s.on_reply(types, ControlReply::MessageTypes(vec![counts(29_000, 2)]));
        let fx = s.handle(Action::PeekQueue);
        let ask = ControlRequest::PeekQueue {
            pid: Pid(9),
            n: PEEK,
        };
        assert_eq!(fx, [crate::state::effect::Effect::Control(ask.clone())]);
        s.on_reply(ask, ControlReply::Queue(peek()));
        s
    }

    fn screen(state: &crate::state::State) -> TestBackend {
        let size = state.size();
        let mut t = Terminal::new(TestBackend::new(size.width, size.height)).unwrap();
        t.draw(|f| crate::view::draw(state, f)).unwrap();
        t.backend().clone()
    }

    #[test]
    fn detail_shows_messages_by_type_and_the_queue_80x24() {
        insta::assert_snapshot!(screen(&detail(80, 24)));
    }

    /// Many talkers with long names at 80 columns: each row keeps whole entries and says how
    /// many more (`· +5`), never a name or the note cut mid-word.
    #[test]
    fn detail_talkers_fit_80_columns() {
        let s = detail_with(80, 24, |c| {
            c.senders = (1..=6)
                .map(|p| Talker {
                    pid: Some(Pid(p)),
                    sampled: 10 * (7 - p),
                    share: (7 - p) as f32 / 21.0,
                })
                .collect();
        });
        insta::assert_snapshot!(screen(&s));
    }

    #[test]
    fn detail_shows_messages_by_type_and_the_queue_160x45() {
        insta::assert_snapshot!(screen(&detail(160, 45)));
    }

    #[test]
    fn rows_put_the_hottest_type_first_with_rates_between_readings() {
        let r = TypeReadings {
            before: Some(counts(28_000, 1)),
            now: counts(30_000, 2),
        };
        let got = rows(&r);
        let names: Vec<&str> = got.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Batch::Flush", "Batch::Append", "Query"]);
        assert_eq!(got[1].rate, Some(200.0), "400 more in 2 s");
        assert_eq!(got[0].mean_us, 60_000.0);
        assert!((got[0].share - 600.0 / 920.0).abs() < 1e-9);
        let first = rows(&TypeReadings {
            before: None,
            now: counts(28_000, 1),
        });
        assert_eq!(first[0].rate, None, "one reading has no rate");
    }

    #[test]
    fn peek_outside_detail_says_where_it_works() {
        let mut s = state_with(3);
        assert!(s.handle(Action::PeekQueue).is_empty());
        assert!(
            s.note().is_some_and(|n| n.contains("Detail")),
            "{:?}",
            s.note()
        );
    }
}
