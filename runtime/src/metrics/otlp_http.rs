//! The OTLP exporter's HTTP client: one POST per export over a fresh connection, with the hyper
//! 1 client (the crate the metrics listener already uses), so no second HTTP stack and no gRPC.
//!
//! The OpenTelemetry SDK exports from its own thread, outside any tokio runtime, and may also be
//! flushed from inside one; so each request runs on a short-lived thread with its own
//! current-thread tokio runtime, whatever the caller's context. One export a minute (the
//! default interval) makes that cost nothing worth sharing a runtime for.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use std::time::Duration;

/// How long one export may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest response read from a collector (it answers an `Export*ServiceResponse`).
const MAX_RESPONSE: usize = 1 << 20;

/// Plain `http://` collectors (a collector or agent beside the service, the usual setup).
#[derive(Debug, Default)]
pub(crate) struct Client;

#[async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    match tokio::time::timeout(TIMEOUT, post(request)).await {
                        Ok(r) => r,
                        Err(_) => {
                            Err(format!("no answer from the collector within {TIMEOUT:?}").into())
                        }
                    }
                })
            })
            .join()
            .unwrap_or_else(|_| Err("the OTLP request thread panicked".into()))
        })
    }
}

async fn post(request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
    let uri = request.uri().clone();
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "{uri}: only http:// collector endpoints are supported (run a collector or agent beside the service)"
        )
        .into());
    }
    let host = uri.host().ok_or("the collector endpoint has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let tcp = tokio::net::TcpStream::connect((host, port)).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    let (mut parts, body) = request.into_parts();
    // Origin form on the request line (`POST /v1/metrics`), as a server expects from a client
    // that is not talking to a proxy.
    parts.uri = uri.path_and_query().map_or("/", |p| p.as_str()).parse()?;
    if !parts.headers.contains_key(hyper::header::HOST) {
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or(host);
        parts
            .headers
            .insert(hyper::header::HOST, authority.parse()?);
    }
    let answer = sender
        .send_request(hyper::Request::from_parts(parts, Full::new(body)))
        .await?;
    let (parts, body) = answer.into_parts();
    let body = Limited::new(body, MAX_RESPONSE).collect().await?.to_bytes();
    Ok(Response::from_parts(parts, body))
}
