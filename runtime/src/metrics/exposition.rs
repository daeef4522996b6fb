//! The exposition: the tracker's state written as metric families at scrape time, through
//! prometheus-client's encoders (OpenMetrics text, or Prometheus text 0.0.4 for clients that do
//! not ask for OpenMetrics). Every family and label is listed in `docs/METRICS.md`; the node
//! label is added to all of them by the registry.

use super::histogram::Weighted;
use super::track::{CAPPED, KINDS, STATUSES, Tracker};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use std::borrow::Cow;
use std::fmt::Error;
use std::sync::{Arc, Mutex};

/// The prefix of every metric name.
pub(crate) const PREFIX: &str = "beamline";

/// A registry holding the one collector, with `node` on every series.
pub(crate) fn registry(node: &str, state: Arc<Mutex<Tracker>>) -> Registry {
    let labels = [(Cow::Borrowed("node"), Cow::Owned(node.to_string()))];
    let mut registry = Registry::with_prefix_and_labels(PREFIX, labels.into_iter());
    registry.register_collector(Box::new(Exposition { state }));
    registry
}

/// Reads the tracker at each scrape.
#[derive(Debug)]
struct Exposition {
    state: Arc<Mutex<Tracker>>,
}

impl Collector for Exposition {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), Error> {
        let t = self.state.lock().unwrap_or_else(|p| p.into_inner());
        runtime_wide(&t, &mut enc)?;
        scheduler(&t, &mut enc)?;
        by_behaviour(&t, &mut enc)?;
        behaviour_counters(&t, &mut enc)?;
        by_slot(&t, &mut enc)?;
        per_process(&t, &mut enc)?;
        own_cost(&t, &mut enc)
    }
}

/// A gauge with no labels of its own.
fn gauge<V: prometheus_client::encoding::EncodeGaugeValue>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    v: V,
) -> Result<(), Error> {
    enc.encode_descriptor(name, help, unit, MetricType::Gauge)?
        .encode_gauge(&v)
}

/// A counter with no labels of its own; `name` without `_total` (the encoder adds it).
fn counter<V: prometheus_client::encoding::EncodeCounterValue>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    v: V,
) -> Result<(), Error> {
    enc.encode_descriptor(name, help, unit, MetricType::Counter)?
        .encode_counter::<NoLabelSet, _, u64>(&v, None)
}

/// One series of a counter family.
fn counter_in(m: &mut MetricEncoder, labels: &impl EncodeLabelSet, v: u64) -> Result<(), Error> {
    m.encode_family(labels)?
        .encode_counter::<NoLabelSet, _, u64>(&v, None)
}

/// One series of a histogram family.
fn histogram_in(
    m: &mut MetricEncoder,
    labels: &impl EncodeLabelSet,
    h: &Weighted,
) -> Result<(), Error> {
    m.encode_family(labels)?
        .encode_histogram::<NoLabelSet>(h.sum(), h.count(), &h.buckets(), None)
}

fn runtime_wide(t: &Tracker, enc: &mut DescriptorEncoder) -> Result<(), Error> {
    let s = &t.system;
    enc.encode_descriptor(
        "build_info",
        "Always 1: the runtime's version, as a label",
        None,
        MetricType::Gauge,
    )?
    .encode_family(&[("version", env!("CARGO_PKG_VERSION"))])?
    .encode_gauge(&1u64)?;
    counter(
        enc,
        "processes_spawned",
        "Processes spawned since the runtime started",
        None,
        s.spawned_total,
    )?;
    counter(
        enc,
        "processes_exited",
        "Processes exited since the runtime started",
        None,
        s.exited_total,
    )?;
    counter(
        enc,
        "dead_letters",
        "Casts and sends that found no live process",
        None,
        s.dead_letters,
    )
}

/// tokio's scheduler and the sampler.
fn scheduler(t: &Tracker, enc: &mut DescriptorEncoder) -> Result<(), Error> {
    let s = &t.system;
    gauge(
        enc,
        "tokio_workers",
        "tokio worker threads",
        None,
        s.workers,
    )?;
    gauge(
        enc,
        "tokio_worker_busy_ratio",
        "Fraction of the last interval tokio's workers were busy, averaged over workers (0..1)",
        None,
        s.worker_busy,
    )?;
    gauge(
        enc,
        "tokio_global_queue_depth",
        "Tasks in tokio's global (injection) queue",
        None,
        s.global_queue_depth,
    )?;
    gauge(
        enc,
        "tokio_local_queue_depth",
        "Tasks in tokio workers' local queues (0 without --cfg tokio_unstable)",
        None,
        s.local_queue_depth,
    )?;
    gauge(
        enc,
        "tokio_alive_tasks",
        "Alive tokio tasks, processes and others",
        None,
        s.alive_tasks,
    )?;
    gauge(
        enc,
        "sampler_interval",
        "The sampler's interval now",
        Some(&Unit::Seconds),
        t.interval_ms as f64 / 1e3,
    )?;
    gauge(
        enc,
        "sampler_tick",
        "How long the sampler's last tick took",
        Some(&Unit::Seconds),
        s.sample_cost_us as f64 / 1e6,
    )?;
    counter(
        enc,
        "sampler",
        "Time the sampler spent on its ticks, summed",
        Some(&Unit::Seconds),
        t.sampler_seconds,
    )
}

/// Live processes by behaviour and status, and their mailboxes.
fn by_behaviour(t: &Tracker, enc: &mut DescriptorEncoder) -> Result<(), Error> {
    let n = t.behaviours.len();
    let mut count = vec![[0u64; STATUSES.len()]; n];
    let mut sum = vec![0u64; n];
    let mut max = vec![0u64; n];
    let mut live = vec![false; n];
    for p in t.procs.values() {
        let b = p.behaviour as usize;
        count[b][p.status as usize] += 1;
        sum[b] += p.mailbox;
        max[b] = max[b].max(p.mailbox);
        live[b] = true;
    }
    let name = |b: usize| t.behaviours.get(b as u32).as_str();
    let mut m = enc.encode_descriptor(
        "processes",
        "Live processes by behaviour and status",
        None,
        MetricType::Gauge,
    )?;
    for (b, by_status) in count.iter().enumerate() {
        for (st, &c) in by_status.iter().enumerate().filter(|(_, c)| **c > 0) {
            let labels = [("behaviour", name(b)), ("status", STATUSES[st])];
            m.encode_family(&labels)?.encode_gauge(&c)?;
        }
    }
    let live_behaviours = || (0..n).filter(|&b| live[b]);
    let mut m = enc.encode_descriptor(
        "mailbox_messages",
        "Messages waiting in the mailboxes of a behaviour's processes, summed",
        None,
        MetricType::Gauge,
    )?;
    for b in live_behaviours() {
        m.encode_family(&[("behaviour", name(b))])?
            .encode_gauge(&sum[b])?;
    }
    let mut m = enc.encode_descriptor(
        "mailbox_messages_max",
        "The longest mailbox among a behaviour's processes",
        None,
        MetricType::Gauge,
    )?;
    for b in live_behaviours() {
        m.encode_family(&[("behaviour", name(b))])?
            .encode_gauge(&max[b])?;
    }
    Ok(())
}

/// The behaviours' counters and histograms.
fn behaviour_counters(t: &Tracker, enc: &mut DescriptorEncoder) -> Result<(), Error> {
    let name = |b: usize| t.behaviours.get(b as u32).as_str();
    let mut m = enc.encode_descriptor(
        "messages_handled",
        "Messages handled, by behaviour and kind (call, cast, info)",
        None,
        MetricType::Counter,
    )?;
    for (b, g) in t.groups.iter().enumerate() {
        for (k, &v) in g.handled.iter().enumerate() {
            // `unknown` only appears when it is needed.
            if k < 3 || v > 0 {
                counter_in(&mut m, &[("behaviour", name(b)), ("kind", KINDS[k])], v)?;
            }
        }
    }
    let mut m = enc.encode_descriptor(
        "messages_dropped",
        "Messages dropped by a behaviour's mailboxes (overflow policy, or queued at exit)",
        None,
        MetricType::Counter,
    )?;
    for (b, g) in t.groups.iter().enumerate() {
        counter_in(&mut m, &[("behaviour", name(b))], g.dropped)?;
    }
    let mut m = enc.encode_descriptor("message_handle", "Time to handle one message, by behaviour: each message counts at its process's mean over the interval", Some(&Unit::Seconds), MetricType::Histogram)?;
    for (b, g) in t.groups.iter().enumerate() {
        histogram_in(&mut m, &[("behaviour", name(b))], &g.handle)?;
    }
    let mut m = enc.encode_descriptor("mailbox_wait", "Time a message waited in the mailbox, by behaviour: each message counts at its process's sampled mean over the interval", Some(&Unit::Seconds), MetricType::Histogram)?;
    for (b, g) in t.groups.iter().enumerate() {
        histogram_in(&mut m, &[("behaviour", name(b))], &g.wait)?;
    }
    Ok(())
}

/// Restarts by supervisor/child, escalations by supervisor.
fn by_slot(t: &Tracker, enc: &mut DescriptorEncoder) -> Result<(), Error> {
    let slots = &t.slots;
    let mut m = enc.encode_descriptor(
        "restarts",
        "Restarts of a supervised child slot, by supervisor and child id",
        None,
        MetricType::Counter,
    )?;
    for (i, &v) in slots.restarts.iter().enumerate() {
        let (sup, child) = slots.labels.get(i as u32);
        counter_in(
            &mut m,
            &[("supervisor", sup.as_str()), ("child", child.as_str())],
            v,
        )?;
    }
    let mut m = enc.encode_descriptor(
        "supervisor_escalations",
        "Supervisors that exceeded their restart intensity and gave up",
        None,
        MetricType::Counter,
    )?;
    for (i, &v) in slots.escalations.iter().enumerate() {
        let sup = slots.escalation_labels.get(i as u32);
        counter_in(&mut m, &[("supervisor", sup.as_str())], v)?;
    }
    Ok(())
}

/// The processes that opted in, each with its own series.
fn per_process(t: &Tracker, enc: &mut DescriptorEncoder) -> Result<(), Error> {
    let mut series: Vec<_> = t.series.iter().collect();
    series.sort_by_key(|(pid, _)| **pid);
    let labels = |s: &super::track::Series| {
        [
            ("process", s.process.clone()),
            ("behaviour", t.behaviours.get(s.behaviour).clone()),
        ]
    };
    let mut m = enc.encode_descriptor(
        "process_mailbox_messages",
        "Messages waiting in this process's mailbox",
        None,
        MetricType::Gauge,
    )?;
    for (_, s) in &series {
        m.encode_family(&labels(s))?.encode_gauge(&s.mailbox)?;
    }
    let mut m = enc.encode_descriptor(
        "process_messages_handled",
        "Messages this process handled since it was spawned",
        None,
        MetricType::Counter,
    )?;
    for (_, s) in &series {
        counter_in(&mut m, &labels(s), s.handled)?;
    }
    let mut m = enc.encode_descriptor(
        "process_busy_ratio",
        "Fraction of the last interval this process spent in callbacks (0..1)",
        None,
        MetricType::Gauge,
    )?;
    for (_, s) in &series {
        m.encode_family(&labels(s))?.encode_gauge(&s.busy)?;
    }
    Ok(())
}

/// The exporter's own figures: what it cut off, what it missed, what it costs.
fn own_cost(t: &Tracker, enc: &mut DescriptorEncoder) -> Result<(), Error> {
    let mut m = enc.encode_descriptor("metrics_capped", "Label values or per-process series refused by a cardinality cap, by family (process, behaviour, slot)", None, MetricType::Counter)?;
    for (i, &v) in t.capped.iter().enumerate() {
        counter_in(&mut m, &[("family", CAPPED[i])], v)?;
    }
    gauge(
        enc,
        "metrics_tracked_processes",
        "Processes the exporter keeps totals for",
        None,
        t.procs.len() as u64,
    )?;
    counter(
        enc,
        "metrics_ticks",
        "Sampler ticks the exporter folded in",
        None,
        t.ticks,
    )?;
    counter(
        enc,
        "metrics_missed_ticks",
        "Sampler ticks the exporter lost by falling behind (each followed by a fresh snapshot)",
        None,
        t.missed_ticks,
    )?;
    counter(
        enc,
        "metrics_collect",
        "Time the exporter spent folding samples in",
        Some(&Unit::Seconds),
        t.collect_seconds,
    )
}
