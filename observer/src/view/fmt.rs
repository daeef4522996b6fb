//! Numbers and small inline charts as short strings that fit table cells.

/// `1234567` as `1.2M`, `950` as `950`, `0.25` as `0.25`: rates and counts in at most 5 chars.
pub fn si(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A count with thousands separators, for totals users read exactly.
pub fn count(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in binary units: `512B`, `1.5K`, `12M` (shared with alert texts, see
/// [`crate::vocab::bytes`]).
pub fn bytes(v: u64) -> String {
    crate::vocab::bytes(v)
}

/// A span of time: `350ms`, `4.2s`, `3m05s`, `2h07m`.
pub fn duration_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60)
    }
}

/// A short span given in microseconds, in the unit that reads best: `850µs`, `26ms`, `1.5ms`,
/// `18.2s`, and minutes beyond.
pub fn micros(us: f64) -> String {
    if us < 1000.0 {
        format!("{}µs", si(us))
    } else if us < 10_000.0 {
        format!("{:.1}ms", us / 1000.0)
    } else if us < 1_000_000.0 {
        format!("{:.0}ms", us / 1000.0)
    } else {
        duration_ms((us / 1000.0) as u64)
    }
}

/// Uptime as `h:mm:ss` (or `Nd h:mm:ss`).
pub fn uptime(ms: u64) -> String {
    let s = ms / 1000;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h}:{m:02}:{s:02}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

/// A percentage of a 0..=1 fraction.
pub fn percent(f: f64) -> String {
    format!("{:.0}%", (f * 100.0).clamp(0.0, 999.0))
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `width` values as a one-line sparkline scaled to their maximum; right-aligned, so
/// the newest value is always in the same place.
pub fn spark(values: &[f32], width: usize) -> String {
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail.iter().copied().fold(0.0f32, f32::max);
    let mut s = String::with_capacity(width * 3);
    for _ in tail.len()..width {
        s.push(' ');
    }
    for v in tail {
        if max <= 0.0 || *v <= 0.0 {
            s.push(' ');
        } else {
            let i = ((v / max) * 7.0).round().clamp(0.0, 7.0) as usize;
            s.push(BARS[i]);
        }
    }
    s
}

const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// A horizontal bar `width` cells wide filled to `ratio` in eighths, with a light track.
pub fn bar(ratio: f64, width: usize) -> String {
    let eighths = (ratio.clamp(0.0, 1.0) * (width * 8) as f64).round() as usize;
    let mut s = String::with_capacity(width * 3);
    for i in 0..width {
        let fill = eighths.saturating_sub(i * 8).min(8);
        s.push(match fill {
            8 => '█',
            0 => '·',
            n => EIGHTHS[n],
        });
    }
    s
}

/// Truncate to `width` chars, marking the cut with `…`.
pub fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `s` in at most `width` characters, cut at the start with `…` where too long: for names
/// whose end tells them apart (`…ck/clerk-13` rather than `bottleneck/cle…`).
pub fn clip_start(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let mut out = String::from('…');
    out.extend(s.chars().skip(n + 1 - width.max(1)));
    out
}

/// A runtime log line (`"   12345ms WARN  target: text"`) with its time since runtime start
/// as a clock, `0:00:12.345`, like the header's uptime. Other lines are left as they are.
pub fn log_line(line: &str) -> String {
    let trimmed = line.trim_start();
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    match (
        trimmed[..digits].parse::<u64>(),
        trimmed[digits..].strip_prefix("ms"),
    ) {
        (Ok(ms), Some(rest)) => format!("{}.{:03}{rest}", uptime(ms), ms % 1000),
        _ => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(si(0.0), "0");
        assert_eq!(si(2.5), "2.5");
        assert_eq!(si(950.0), "950");
        assert_eq!(si(1234.0), "1.2k");
        assert_eq!(si(45_600.0), "46k");
        assert_eq!(si(3_400_000.0), "3.4M");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(1536), "1.5K");
        assert_eq!(bytes(50 * 1024 * 1024), "50M");
        assert_eq!(duration_ms(350), "350ms");
        assert_eq!(duration_ms(4200), "4.2s");
        assert_eq!(duration_ms(185_000), "3m05s");
        assert_eq!(micros(850.0), "850µs");
        assert_eq!(micros(1500.0), "1.5ms");
        assert_eq!(micros(26_000.0), "26ms");
        assert_eq!(micros(18_200_000.0), "18.2s");
        assert_eq!(uptime(3_723_000), "1:02:03");
        assert_eq!(percent(0.234), "23%");
    }

    #[test]
    fn sparks_and_bars() {
        assert_eq!(spark(&[0.0, 1.0, 2.0], 5), "   ▅█");
        assert_eq!(spark(&[5.0; 10], 3), "███");
        assert_eq!(bar(0.0, 4), "····");
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 4), "██··");
        assert_eq!(bar(0.5625, 4), "██▎·");
        assert_eq!(clip("abcdef", 4), "abc…");
    }

    #[test]
    fn log_lines_read_as_clock_times() {
        assert_eq!(
            log_line("   65432ms WARN  demo: refresh failed"),
            "0:01:05.432 WARN  demo: refresh failed"
        );
        assert_eq!(log_line("no time here"), "no time here");
    }
}
