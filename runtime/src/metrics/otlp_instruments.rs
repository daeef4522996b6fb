//! The Prometheus exposition as OpenTelemetry instruments: one asynchronous instrument per
//! series name of the `/metrics` text (counters as observable counters, gauges as observable
//! gauges, a histogram as its `_bucket` (with `le`), `_sum` and `_count` counters, since the
//! OpenTelemetry API has no asynchronous histogram). Labels become attributes. So the collector
//! receives exactly the series, names and cardinality bounds `docs/METRICS.md` lists, from the
//! same aggregates as a scrape.
//!
//! An export runs every instrument's callback in turn; the exposition is rendered once for all
//! of them ([`Snapshot`] keeps it for [`FRESH`]).

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one rendering serves the callbacks of an export.
const FRESH: Duration = Duration::from_millis(500);

/// One sample line: its attributes and value.
type Point = (Vec<KeyValue>, f64);
/// An exposition's samples by series name.
type Points = Arc<HashMap<String, Vec<Point>>>;

/// What kind of instrument a series name becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
}

/// The series names of an exposition and their kinds, from its `# TYPE` lines.
pub(crate) fn series(text: &str) -> Vec<(String, Kind)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let Some((name, kind)) = rest.split_once(' ') else {
            continue;
        };
        match kind.trim() {
            "counter" if name.ends_with("_total") => out.push((name.into(), Kind::Counter)),
            "counter" => out.push((format!("{name}_total"), Kind::Counter)),
            "histogram" => {
                for part in ["_bucket", "_sum", "_count"] {
                    out.push((format!("{name}{part}"), Kind::Counter));
                }
            }
            _ => out.push((name.into(), Kind::Gauge)),
        }
    }
    out
}

/// The sample lines of an exposition, by series name.
pub(crate) fn samples(text: &str) -> HashMap<String, Vec<Point>> {
    let mut out: HashMap<String, Vec<Point>> = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if let Some((name, point)) = sample(line) {
            out.entry(name).or_default().push(point);
        }
    }
    out
}

/// `name{a="x",b="y"} 1.5` (label values escaped as the text format says).
fn sample(line: &str) -> Option<(String, Point)> {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => return None,
    };
    let mut attrs = Vec::new();
    let mut rest = rest;
    if let Some(mut labels) = rest.strip_prefix('{') {
        loop {
            labels = labels.trim_start_matches(',');
            if let Some(after) = labels.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = labels.split_once("=\"")?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    (_, c) => value.push(c),
                }
            };
            attrs.push(KeyValue::new(key.to_string(), value));
            labels = &after[end + 1..];
        }
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some((name.to_string(), (attrs, value)))
}

/// The latest rendering of the registry, shared by the callbacks of one export.
pub(crate) struct Snapshot {
    registry: Arc<Registry>,
    cached: Mutex<Option<(Instant, Points)>>,
}

impl Snapshot {
    pub(crate) fn new(registry: Arc<Registry>) -> Self {
        Snapshot {
            registry,
            cached: Mutex::new(None),
        }
    }

    /// The exposition text now.
    pub(crate) fn render(&self) -> String {
        super::http::render(&self.registry, false).unwrap_or_default()
    }

    /// The samples, rendered at most once per [`FRESH`].
    fn points(&self) -> Points {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        match &*cached {
            Some((at, points)) if at.elapsed() < FRESH => points.clone(),
            _ => {
                let points = Arc::new(samples(&self.render()));
                *cached = Some((Instant::now(), points.clone()));
                points
            }
        }
    }
}

/// Register one instrument per series name of the exposition on `meter`.
pub(crate) fn register(meter: &Meter, snapshot: &Arc<Snapshot>) {
    for (name, kind) in series(&snapshot.render()) {
        let snap = snapshot.clone();
        let key = name.clone();
        match kind {
            Kind::Counter => {
                meter
                    .f64_observable_counter(name)
                    .with_callback(move |obs| {
                        for (attrs, v) in snap.points().get(&key).into_iter().flatten() {
                            obs.observe(*v, attrs);
                        }
                    })
                    .build();
            }
            Kind::Gauge => {
                meter
                    .f64_observable_gauge(name)
                    .with_callback(move |obs| {
                        for (attrs, v) in snap.points().get(&key).into_iter().flatten() {
                            obs.observe(*v, attrs);
                        }
                    })
                    .build();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_is_read_back_with_escaped_labels() {
        let text = "# HELP beamline_x_total X.\n# TYPE beamline_x_total counter\n\
            beamline_x_total{node=\"n\",behaviour=\"a\\\"b\\\\c\\nd\"} 3\n\
            # TYPE beamline_h_seconds histogram\n\
            beamline_h_seconds_bucket{node=\"n\",le=\"+Inf\"} 2\n\
            # TYPE beamline_up gauge\nbeamline_up 1\n";
        let kinds = series(text);
        assert_eq!(
            kinds,
            [
                ("beamline_x_total".to_string(), Kind::Counter),
                ("beamline_h_seconds_bucket".to_string(), Kind::Counter),
                ("beamline_h_seconds_sum".to_string(), Kind::Counter),
                ("beamline_h_seconds_count".to_string(), Kind::Counter),
                ("beamline_up".to_string(), Kind::Gauge),
            ]
        );
        let s = samples(text);
        let (attrs, v) = &s["beamline_x_total"][0];
        assert_eq!(*v, 3.0);
        assert_eq!(attrs[1], KeyValue::new("behaviour", "a\"b\\c\nd"));
        let (attrs, v) = &s["beamline_h_seconds_bucket"][0];
        assert_eq!((*v, &attrs[1]), (2.0, &KeyValue::new("le", "+Inf")));
        assert_eq!(s["beamline_up"][0], (vec![], 1.0));
    }
}
