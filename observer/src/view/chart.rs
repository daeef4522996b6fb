//! Charts with their scale in sight: a title with the latest value, the top and bottom of the
//! scale labelled on the left, bars growing from the baseline, the oldest sample at the left
//! edge (few samples draw a short chart, not one pushed to the right).
//!
//! The scale is chosen by what a series means: counts and rates start at zero, percentages run
//! 0-100%, sizes (state bytes) start at their minimum so change is visible, and a flat series
//! draws flat, a thin line instead of a solid block.

use crate::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// Where a chart's scale starts and ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// From zero to the largest value (counts, rates).
    Zero,
    /// From zero to a fixed top (a fraction: 1.0 is 100%).
    Fixed(f64),
    /// From the smallest to the largest value (sizes, where the change matters).
    Range,
}

/// One chart: a name, the values oldest first, how to scale and how to print a value.
pub struct Series<'a> {
    /// Title.
    pub name: &'a str,
    /// Values, oldest first.
    pub data: Vec<f64>,
    /// Scale.
    pub scale: Scale,
    /// Prints a value for the labels.
    pub fmt: &'a dyn Fn(f64) -> String,
}

const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

impl Series<'_> {
    /// Bottom and top of the scale.
    fn bounds(&self) -> (f64, f64) {
        let max = self.data.iter().copied().fold(f64::MIN, f64::max);
        let min = self.data.iter().copied().fold(f64::MAX, f64::min);
        if self.data.is_empty() {
            return (0.0, 1.0);
        }
        match self.scale {
            Scale::Zero => (0.0, max.max(0.0)),
            Scale::Fixed(top) => (0.0, top.max(max)),
            Scale::Range => (min, max),
        }
    }

    /// Draw in `area`: a title line, then the plot with its scale labels on the left.
    pub fn render(&self, t: &Theme, area: Rect, buf: &mut Buffer) {
        if area.height == 0 || area.width < 4 {
            return;
        }
        let (lo, hi) = self.bounds();
        let now = self.data.last().map_or("-".to_string(), |v| (self.fmt)(*v));
        let title = Line::from(vec![
            Span::styled(format!("{} ", self.name), t.heading()),
            Span::styled(format!("now {now} · {} samples", self.data.len()), t.dim()),
        ]);
        Paragraph::new(title).render(Rect { height: 1, ..area }, buf);
        let plot = Rect {
            y: area.y + 1,
            height: area.height - 1,
            ..area
        };
        if plot.height == 0 {
            return;
        }
        let (top, bottom) = ((self.fmt)(hi), (self.fmt)(lo));
        let gutter = top.chars().count().max(bottom.chars().count()) as u16 + 1;
        let [labels, bars] =
            Layout::horizontal([Constraint::Length(gutter), Constraint::Fill(1)]).areas(plot);
        buf.set_string(labels.x, labels.y, &top, t.dim());
        if plot.height > 1 {
            buf.set_string(labels.x, labels.bottom() - 1, &bottom, t.dim());
        }
        let width = bars.width as usize;
        let tail = &self.data[self.data.len().saturating_sub(width)..];
        for (i, v) in tail.iter().enumerate() {
            let x = bars.x + i as u16;
            for (row, ch) in column(*v, lo, hi, bars.height).into_iter().enumerate() {
                let y = bars.bottom() - 1 - row as u16;
                buf[(x, y)].set_char(ch).set_style(t.chart());
            }
        }
    }
}

/// The cells of one bar, bottom first, `height` rows, in eighths. A value at the bottom of a
/// `Range` scale (or a flat series) is a one-eighth line so the series stays visible.
fn column(v: f64, lo: f64, hi: f64, height: u16) -> Vec<char> {
    let span = hi - lo;
    let eighths_total = f64::from(height) * 8.0;
    let mut eighths = if span <= 0.0 {
        if v > 0.0 || lo < hi { 1.0 } else { 0.0 }
    } else {
        ((v - lo) / span * eighths_total).round()
    };
    if v > 0.0 && eighths < 1.0 {
        eighths = 1.0;
    }
    let mut left = eighths.clamp(0.0, eighths_total) as usize;
    (0..height)
        .map(|_| {
            let n = left.min(8);
            left -= n;
            BARS[n]
        })
        .collect()
}

/// Charts stacked in `area`, sharing its height.
pub fn stacked(t: &Theme, area: Rect, buf: &mut Buffer, series: &[Series]) {
    let n = series.len().max(1) as u32;
    let rows = Layout::vertical((0..n).map(|_| Constraint::Ratio(1, n))).split(area);
    for (s, r) in series.iter().zip(rows.iter()) {
        s.render(t, *r, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(s: &Series, w: u16, h: u16) -> Vec<String> {
        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
        s.render(&Theme::new(false), buf.area, &mut buf);
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }

    #[test]
    fn a_flat_series_draws_flat_and_low_with_its_value_on_the_scale() {
        let f = |v: f64| format!("{v:.0}B");
        let s = Series {
            name: "state",
            data: vec![8.0; 5],
            scale: Scale::Range,
            fmt: &f,
        };
        let rows = draw(&s, 20, 4);
        assert_eq!(rows[0], "state now 8B · 5 sam");
        assert_eq!(rows[1], "8B                  ");
        assert_eq!(rows[3], "8B ▁▁▁▁▁            ", "flat, thin, from the left");
    }

    #[test]
    fn one_percent_busy_is_a_sliver_on_a_0_to_100_scale() {
        let f = |v: f64| format!("{:.0}%", v * 100.0);
        let s = Series {
            name: "busy",
            data: vec![0.01, 0.01, 1.0],
            scale: Scale::Fixed(1.0),
            fmt: &f,
        };
        let rows = draw(&s, 12, 3);
        assert_eq!(rows[1], "100%   █    ");
        assert_eq!(rows[2], "0%   ▁▁█    ");
    }
}
