//! Issue 20, OpenTelemetry: the `otlp` feature (enabled for this test crate in its
//! Cargo.toml) pushes the `/metrics` series to a collector over OTLP/HTTP with protobuf
//! bodies. The collector here is a loopback HTTP server written for the test; it decodes the
//! `ExportMetricsServiceRequest` with `opentelemetry-proto`.

use crate::support::*;
use beamline::SpawnOpts;
use beamline::metrics::otlp::OtlpConfig;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// One request as the collector received it.
struct Received {
    head: String,
    body: Vec<u8>,
}

/// A loopback "collector": answers every POST with 200 and an empty protobuf response, and
/// hands each request over.
async fn collector() -> (std::net::SocketAddr, mpsc::UnboundedReceiver<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 8192];
                let (head, body_start) = loop {
                    let n = s.read(&mut buf).await.unwrap();
                    assert!(n > 0, "the request ended early");
                    raw.extend_from_slice(&buf[..n]);
                    if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&raw[..i]).to_string(), i + 4);
                    }
                };
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .expect("a content-length");
                let mut body = raw[body_start..].to_vec();
                while body.len() < len {
                    let n = s.read(&mut buf).await.unwrap();
                    assert!(n > 0, "the body ended early");
                    body.extend_from_slice(&buf[..n]);
                }
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                let _ = tx.send(Received { head, body });
            });
        }
    });
    (addr, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_pushed_to_a_collector_over_otlp_http_protobuf() {
    let (addr, mut received) = collector().await;
    let rt = runtime(100);
    let counter = rt
        .start_with::<Counter>((), SpawnOpts::new().name("otlp-counter"))
        .await
        .unwrap();
    for _ in 0..5 {
        counter.cast(1).await.unwrap();
    }
    assert_eq!(counter.call(()).await.unwrap(), 5);
    let scrape = rt
        .serve_metrics(beamline::metrics::MetricsConfig::parse("127.0.0.1:0").unwrap())
        .unwrap();
    let exporter = rt
        .push_otlp(
            OtlpConfig::new()
                .endpoint(format!("http://{addr}/v1/metrics"))
                .interval(Duration::from_secs(3600)),
        )
        .unwrap();
    exporter.wait_ticks(2).await;
    let exporter = tokio::task::spawn_blocking(move || {
        exporter.force_flush().unwrap();
        exporter
    })
    .await
    .unwrap();
    let req = tokio::time::timeout(Duration::from_secs(30), received.recv())
        .await
        .expect("the collector got a request")
        .unwrap();
    assert!(
        req.head.starts_with("POST /v1/metrics HTTP/1.1"),
        "{}",
        req.head
    );
    assert!(
        req.head
            .to_ascii_lowercase()
            .contains("content-type: application/x-protobuf"),
        "{}",
        req.head
    );
    let export = ExportMetricsServiceRequest::decode(req.body.as_slice()).unwrap();
    let metrics: Vec<_> = export
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .collect();
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    for expected in [
        "beamline_processes",
        "beamline_messages_handled_total",
        "beamline_message_handle_seconds_bucket",
        "beamline_process_messages_handled_total",
        "beamline_dead_letters_total",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    // The same metrics as a scrape: every series name of the exposition arrives.
    scrape.wait_ticks(2).await;
    let text = scrape.render(false);
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name = line.split(['{', ' ']).next().unwrap();
        assert!(names.contains(&name), "{name} is scraped but not pushed");
    }
    // Counters stay counters, with the series' labels as attributes.
    let handled = metrics
        .iter()
        .find(|m| m.name == "beamline_process_messages_handled_total")
        .unwrap();
    let Some(Data::Sum(sum)) = &handled.data else {
        panic!("a counter arrives as a monotonic sum: {handled:?}");
    };
    assert!(sum.is_monotonic);
    let attr = |p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint, key: &str| {
        p.attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
            match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => Some(s.clone()),
                _ => None,
            }
        })
    };
    let point = sum
        .data_points
        .iter()
        .find(|p| attr(p, "process").as_deref() == Some("otlp-counter"))
        .expect("the named process has its own series");
    assert_eq!(attr(point, "node").as_deref(), Some("e2e"));
    // Five casts and one call.
    let v = match point.value {
        Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(v)) => v,
        other => panic!("{other:?}"),
    };
    assert_eq!(v, 6.0);
    drop(exporter);
}
