//! `GET /metrics` over HTTP/1.1 with hyper: the accept loop, one task per connection, and the
//! answer to each request. Anything but `GET`/`HEAD /metrics` gets a short error; a missing or
//! wrong bearer token gets 401; past `max_connections` a connection is closed unanswered. With
//! TLS, each connection's handshake runs on its own task within the header timeout; a plain
//! HTTP request to a TLS listener gets a 400 saying to use https.

use crate::endpoint::same_token;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ACCEPT, ALLOW, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The OpenMetrics content type, for scrapers that ask for it (Prometheus does).
pub(crate) const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// How long a client has to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection is closed after this long, even if kept alive (scrapers reconnect).
const MAX_CONNECTION_LIFE: Duration = Duration::from_secs(300);

/// What every connection shares.
pub(crate) struct Site {
    pub registry: Arc<Registry>,
    pub token: Option<String>,
    pub slots: Semaphore,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site").finish_non_exhaustive()
    }
}

/// Accept connections until the task is aborted.
pub(crate) async fn accept_loop(listener: TcpListener, site: Arc<Site>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(permit) = site.slots.try_acquire() else {
                        tracing::warn!(%peer, "metrics endpoint: too many connections, closing one");
                        continue;
                    };
                    permit.forget();
                    let site = site.clone();
                    conns.spawn(async move {
                        let _ = tokio::time::timeout(MAX_CONNECTION_LIFE, connection(stream, &site)).await;
                        site.slots.add_permits(1);
                    });
                }
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "metrics endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn connection(stream: tokio::net::TcpStream, site: &Arc<Site>) {
    let Some(acceptor) = &site.tls else {
        return http(stream, site, false).await;
    };
    use crate::endpoint::Opening;
    match crate::endpoint::opening(&stream, HEADER_TIMEOUT).await {
        Opening::Tls => {}
        Opening::Plain => return http(stream, site, true).await,
        Opening::Nothing => return,
    }
    match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => http(tls, site, false).await,
        Ok(Err(e)) => tracing::debug!(error = %e, "metrics endpoint: TLS handshake failed"),
        Err(_) => tracing::debug!("metrics endpoint: no TLS handshake in time"),
    }
}

/// Serve HTTP/1.1 on `stream`; `plain_on_tls` answers every request with a 400 saying to use
/// https (a plain client of a TLS listener).
async fn http<S>(stream: S, site: &Arc<Site>, plain_on_tls: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(|req| {
        let site = site.clone();
        async move {
            Ok::<_, Infallible>(if plain_on_tls {
                plain(
                    StatusCode::BAD_REQUEST,
                    "this metrics endpoint speaks TLS only: scrape https://HOST:PORT/metrics\n",
                )
            } else {
                answer(&req, &site)
            })
        }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(!plain_on_tls)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(e) = served {
        tracing::debug!(error = %e, "metrics endpoint: connection ended with an error");
    }
}

/// The answer to one request.
fn answer<B>(req: &Request<B>, site: &Site) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: metrics are at /metrics\n",
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut()
            .insert(ALLOW, "GET, HEAD".parse().expect("a valid header"));
        return r;
    }
    if let Some(token) = &site.token {
        let given = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !same_token(token, given) {
            let mut r = plain(StatusCode::UNAUTHORIZED, "missing or wrong bearer token\n");
            r.headers_mut()
                .insert(WWW_AUTHENTICATE, "Bearer".parse().expect("a valid header"));
            return r;
        }
    }
    let openmetrics = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    match render(&site.registry, openmetrics) {
        Ok(text) => {
            let kind = if openmetrics {
                OPENMETRICS
            } else {
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE
            };
            let body = if req.method() == Method::HEAD {
                Bytes::new()
            } else {
                Bytes::from(text)
            };
            let mut r = Response::new(Full::new(body));
            r.headers_mut()
                .insert(CONTENT_TYPE, kind.parse().expect("a valid header"));
            r
        }
        Err(_) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be encoded\n",
        ),
    }
}

/// The exposition: OpenMetrics text, or Prometheus text 0.0.4.
pub(crate) fn render(registry: &Registry, openmetrics: bool) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    if openmetrics {
        prometheus_client::encoding::text::encode(&mut out, registry)?;
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut out, registry)?;
    }
    Ok(out)
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        "text/plain; charset=utf-8".parse().expect("a valid header"),
    );
    r
}
