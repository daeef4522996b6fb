//! The listener and its rules, and figures from real processes read over HTTP.

use crate::support::*;
use beamline::metrics::{MetricsConfig, MetricsError};
use beamline::supervisor::{ChildSpec, Strategy, Supervisor, SupervisorSpec};
use beamline::{Runtime, SpawnOpts};
use std::any::type_name;

fn loopback() -> MetricsConfig {
    MetricsConfig::parse("127.0.0.1:0").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_counts_a_workers_casts_by_behaviour_and_by_name() {
    let rt = runtime();
    let ep = rt.serve_metrics(loopback()).unwrap();
    let w = rt
        .start_with::<Worker>((), SpawnOpts::new().name("w1"))
        .await
        .unwrap();
    for _ in 0..10 {
        w.cast(false).await.unwrap();
    }
    let b = type_name::<Worker>();
    let cast =
        format!(r#"beamline_messages_handled_total{{node="test",behaviour="{b}",kind="cast"}}"#);
    let text = until(&ep, 100, "ten casts counted", |t| {
        value(t, &cast) == Some(10.0)
    })
    .await;
    let own = format!(
        r#"beamline_process_messages_handled_total{{node="test",process="w1",behaviour="{b}"}}"#
    );
    assert_eq!(value(&text, &own), Some(10.0), "{text}");
    let live = format!(r#"beamline_processes{{node="test",behaviour="{b}",status="idle"}}"#);
    assert_eq!(value(&text, &live), Some(1.0), "{text}");

    // Over HTTP: OpenMetrics when asked for (as Prometheus does), else Prometheus text 0.0.4.
    let om = request(
        ep.local_addr(),
        "GET",
        "/metrics",
        &["Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5"],
    )
    .await;
    assert_eq!(om.status, 200);
    assert!(
        om.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert!(om.body.ends_with("# EOF\n"), "{}", om.body);
    assert!(om.body.contains(&cast));
    let plain = request(ep.local_addr(), "GET", "/metrics", &[]).await;
    assert_eq!(plain.status, 200);
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(!plain.body.contains("# EOF"));
    assert!(plain.body.contains(&cast), "{}", plain.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_are_counted_by_supervisor_and_child_and_dead_letters_by_node() {
    let rt = runtime();
    let ep = rt.serve_metrics(loopback()).unwrap();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .name("sup")
        .child(ChildSpec::worker::<Worker>("cache", ()).name("crashy"));
    let _sup = Supervisor::start(&rt, spec).await.unwrap();
    let first = rt.whereis::<Worker>("crashy").unwrap();
    first.cast(true).await.unwrap();
    let restarts = r#"beamline_restarts_total{node="test",supervisor="sup",child="cache"}"#;
    until(&ep, 100, "one restart", |t| value(t, restarts) == Some(1.0)).await;
    rt.cast::<Worker>("nobody", false).await.unwrap();
    let dead = r#"beamline_dead_letters_total{node="test"}"#;
    until(&ep, 100, "one dead letter", |t| value(t, dead) == Some(1.0)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_paths_methods_and_wrong_tokens_are_refused() {
    let rt = runtime();
    let ep = rt.serve_metrics(loopback().token("s3cret")).unwrap();
    let at = ep.local_addr();
    assert_eq!(request(at, "GET", "/", &[]).await.status, 404);
    let post = request(at, "POST", "/metrics", &["Content-Length: 0"]).await;
    assert_eq!(
        (post.status, post.header("allow")),
        (405, Some("GET, HEAD"))
    );
    let none = request(at, "GET", "/metrics", &[]).await;
    assert_eq!(
        (none.status, none.header("www-authenticate")),
        (401, Some("Bearer"))
    );
    let wrong = request(at, "GET", "/metrics", &["Authorization: Bearer s3cre"]).await;
    assert_eq!(wrong.status, 401);
    let right = request(at, "GET", "/metrics", &["Authorization: Bearer s3cret"]).await;
    assert_eq!(right.status, 200);
    assert!(right.body.contains("beamline_build_info"));
    // The runtime carries on.
    rt.start::<Other>(()).await.unwrap();
}

#[tokio::test]
async fn non_loopback_addresses_need_consent_and_a_token() {
    let rt = runtime();
    let public = MetricsConfig::parse("0.0.0.0:0").unwrap();
    assert!(matches!(
        rt.serve_metrics(public.clone()),
        Err(MetricsError::RemoteNotAllowed(_))
    ));
    let err = rt
        .serve_metrics(public.clone().allow_remote(true))
        .unwrap_err();
    assert!(matches!(err, MetricsError::TokenRequired(_)));
    assert!(err.to_string().contains("BEAMLINE_METRICS_TOKEN"), "{err}");
    let with_token = public.allow_remote(true).token("a-token-a-token-a-token");
    let err = rt.serve_metrics(with_token.clone()).unwrap_err();
    assert!(matches!(err, MetricsError::TlsRequired(_)), "{err}");
    assert!(err.to_string().contains("BEAMLINE_TLS_CERT"), "{err}");
    assert!(
        rt.serve_metrics(with_token.insecure_plaintext(true))
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_serves_metrics_and_dropping_an_endpoint_stops_it() {
    // A port that was free a moment ago: the builder logs (not fails) when it cannot bind.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let rt = Runtime::builder()
        .node("built")
        .observe_from_env(false)
        .metrics_at(MetricsConfig::new(port))
        .build();
    let got = request(port, "GET", "/metrics", &[]).await;
    assert_eq!(got.status, 200);
    assert!(
        got.body.contains(r#"beamline_build_info{node="built""#),
        "{}",
        got.body
    );

    let ep = rt.serve_metrics(loopback()).unwrap();
    let at = ep.local_addr();
    assert_eq!(request(at, "GET", "/metrics", &[]).await.status, 200);
    drop(ep);
    // The accept loop is aborted: the port stops answering once the abort lands at the task's
    // next await, which on a loaded machine may take more than a few scheduler turns (the task
    // may be running on the other worker). Bounded by a deadline, polled, never slept on.
    let refused = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while tokio::net::TcpStream::connect(at).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .is_ok();
    assert!(refused, "still listening after the endpoint was dropped");
}

/// Issue 20, "Remote attach": the metrics listener speaks HTTPS when given a certificate; a
/// TLS client scrapes it (with the bearer token), a client trusting another CA fails its
/// handshake, and a plain HTTP scrape is told to use https while the runtime carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_over_tls_are_scraped_by_a_tls_client_and_plain_http_is_told_to_use_https() {
    use crate::tls::{Certs, connect};
    let rt = runtime();
    let certs = Certs::new("metrics");
    let ep = rt
        .serve_metrics(loopback().tls(certs.config()).token("scrape-token"))
        .unwrap();
    let s = connect(ep.local_addr(), &certs.ca).await.unwrap();
    let auth = "Authorization: Bearer scrape-token";
    let scraped = request_over(s, "GET", "/metrics", &[auth]).await;
    assert_eq!(scraped.status, 200, "{}", scraped.body);
    assert!(
        scraped.body.contains("beamline_build_info"),
        "{}",
        scraped.body
    );

    let err = connect(ep.local_addr(), &certs.other_ca).await.unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");

    let plain = request(ep.local_addr(), "GET", "/metrics", &[auth]).await;
    assert_eq!(plain.status, 400);
    assert!(plain.body.contains("https://"), "{}", plain.body);
    assert!(!plain.body.contains("beamline_"), "{}", plain.body);

    rt.start::<Worker>(()).await.unwrap();
    let s = connect(ep.local_addr(), &certs.ca).await.unwrap();
    assert_eq!(
        request_over(s, "GET", "/metrics", &[auth]).await.status,
        200
    );
}
