//! A worker, a runtime that ticks quickly, waiting on the exporter, and a minimal HTTP client.

use beamline::metrics::MetricsEndpoint;
use beamline::{CallReply, Ctx, GenServer, InitError, Next, Runtime};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A runtime for tests: never enabled from the environment, 100 ms ticks.
pub fn runtime() -> Runtime {
    Runtime::builder()
        .node("test")
        .observe_from_env(false)
        .metrics_from_env(false)
        .interval(Duration::from_millis(100))
        .build()
}

/// Counts its casts; a cast of `true` panics.
pub struct Worker;

impl GenServer for Worker {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = bool;
    type Info = ();

    async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Worker)
    }

    async fn handle_call(&mut self, _: (), _ctx: &mut Ctx<Self>) -> CallReply<()> {
        CallReply::reply(())
    }

    async fn handle_cast(&mut self, crash: bool, _ctx: &mut Ctx<Self>) -> Next {
        assert!(!crash, "asked to crash");
        Next::noreply()
    }
}

/// A second behaviour, so that labels differ.
pub struct Other;

impl GenServer for Other {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();

    async fn init(_: (), _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(Other)
    }
}

/// Render the exposition tick after tick until `ok` holds (at most `ticks` ticks).
pub async fn until(
    ep: &MetricsEndpoint,
    ticks: u64,
    what: &str,
    ok: impl Fn(&str) -> bool,
) -> String {
    let mut text = String::new();
    for _ in 0..ticks {
        text = ep.render(true);
        if ok(&text) {
            return text;
        }
        ep.wait_ticks(ep.ticks() + 1).await;
    }
    panic!("{what}: not seen within {ticks} ticks; last exposition:\n{text}");
}

/// The value of the series written exactly as `series` (name and labels).
pub fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

/// Series in an exposition: every line that is not a comment.
pub fn series_count(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

/// An HTTP/1.1 answer: status code, headers (lower-case names) and body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Send one request (`extra` are header lines) and read the answer to the end.
pub async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    extra: &[&str],
) -> Answer {
    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
    request_over(s, method, path, extra).await
}

/// [`request`] on a stream already open (e.g. TLS).
pub async fn request_over<S>(mut s: S, method: &str, path: &str, extra: &[&str]) -> Answer
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for h in extra {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("the endpoint answers")
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}
