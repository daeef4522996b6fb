//! The numbers diagnosis (and the mailbox bars and arrows, through `model::pressure`) judge by.
//! Keys are the same in the config file and in `--threshold key=value`; the README gives the
//! reasoning behind each default.

use serde::{Deserialize, Serialize};

/// Thresholds and windows. Keys are the same in the config file (TOML-like `key = value`
/// lines) and in `--threshold key=value`; the README gives the reasoning behind each default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Unbounded mailbox length that raises `overflow`; an unbounded mailbox's bar is full here.
    pub mailbox_limit: u64,
    /// Fraction of a bounded mailbox's capacity that raises `overflow` (its bar turns red).
    pub fill_ratio: f64,
    /// An alert raised on a level is held until the level drops below this fraction of it (a
    /// mailbox bar is yellow from here).
    pub clear_ratio: f64,
    /// Samples a mailbox must grow over (in all but one step) to count as a trend (and to get
    /// its `↑`).
    pub trend_samples: usize,
    /// Net growth over the trend window, in messages, below which growth is noise.
    pub trend_min_growth: u64,
    /// How long a mailbox must stay over its limit before `overflow` is raised on its level, ms:
    /// a burst that drains sooner raises nothing. Drops and steady growth raise at once.
    pub spike_ms: u64,
    /// An `overflow` still rising (or still dropping) this long after it was raised, ms, is
    /// critical.
    pub critical_after_ms: u64,
    /// An unbounded mailbox this many times `mailbox_limit` deep, or rising fast enough to get
    /// there within `critical_after_ms`, is critical.
    pub critical_depth_ratio: f64,
    /// Busy fraction above which a process with a standing queue is a bottleneck.
    pub busy_ratio: f64,
    /// Queue length below which a busy process is just busy.
    pub bottleneck_min_queue: u64,
    /// Milliseconds in one call before `long_wait`.
    pub long_wait_ms: u64,
    /// Restarts of one child slot within `restart_window_ms` that make a storm.
    pub restart_storm: u32,
    /// The window for `restart_storm`.
    pub restart_window_ms: u64,
    /// Restarts of one child slot within `crash_loop_window_ms` that make a slow crash loop
    /// (a `restart_storm` warning below the storm rate).
    pub crash_loop_restarts: u32,
    /// The window for a slow crash loop.
    pub crash_loop_window_ms: u64,
    /// Samples state size must grow over (every step) for `state_growth`.
    pub growth_samples: usize,
    /// Net state growth over the window, bytes, below which growth is noise.
    pub growth_min_bytes: u64,
    /// Net state growth over the window as a fraction of the starting size.
    pub growth_min_ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            mailbox_limit: 1000,
            fill_ratio: 0.8,
            clear_ratio: 0.5,
            trend_samples: 5,
            trend_min_growth: 100,
            spike_ms: 2000,
            critical_after_ms: 10_000,
            critical_depth_ratio: 10.0,
            busy_ratio: 0.9,
            bottleneck_min_queue: 10,
            long_wait_ms: 5000,
            restart_storm: 3,
            restart_window_ms: 10_000,
            crash_loop_restarts: 3,
            crash_loop_window_ms: 120_000,
            growth_samples: 4,
            growth_min_bytes: 64 * 1024,
            growth_min_ratio: 0.25,
        }
    }
}

impl Thresholds {
    /// Apply `key = value` lines (blank lines and `#` comments ignored), as in a config file.
    pub fn apply_config(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            self.set(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        Ok(())
    }

    /// Apply one `key=value` (or `key = value`).
    pub fn set(&mut self, kv: &str) -> Result<(), String> {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got {kv:?}"))?;
        let (k, v) = (k.trim(), v.trim());
        // Round-trip through JSON so every field is parsed by its own type with serde's errors.
        let mut obj = serde_json::to_value(&*self).map_err(|e| e.to_string())?;
        let map = obj
            .as_object_mut()
            .ok_or("internal: thresholds not an object")?;
        if !map.contains_key(k) {
            let keys: Vec<&String> = map.keys().collect();
            return Err(format!("unknown threshold {k:?} (known: {keys:?})"));
        }
        let parsed: serde_json::Value =
            serde_json::from_str(v).map_err(|_| format!("{k}: not a number: {v:?}"))?;
        map.insert(k.to_string(), parsed);
        *self = serde_json::from_value(obj).map_err(|e| format!("{k}: {e}"))?;
        Ok(())
    }
}
