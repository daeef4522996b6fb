//! TLS on the attach endpoint (issue 20, "Remote attach"): the protocol runs inside TLS, a
//! client that does not trust the certificate fails its handshake, and a plain client is
//! refused in clear while the runtime and its processes carry on. Certificates are made at
//! test time (`tests/common/tls.rs`).

use super::*;
use crate::tls::{Certs, connect};

fn tls_loopback(certs: &Certs) -> EndpointConfig {
    EndpointConfig::parse("127.0.0.1:0")
        .unwrap()
        .tls(certs.config())
}

#[tokio::test]
async fn a_tls_endpoint_speaks_the_protocol_inside_tls() {
    let rt = runtime(100);
    rt.start::<Worker>(()).await.unwrap();
    let certs = Certs::new("attach");
    let ep = serve_with(&rt, tls_loopback(&certs));
    let mut s = connect(ep.addr, &certs.ca).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION, ep.token()))
        .await
        .unwrap();
    assert!(matches!(read(&mut s).await, Some(ServerMsg::Welcome(_))));
    let Some(ServerMsg::Snapshot(snap)) = read(&mut s).await else {
        panic!("a snapshot follows the welcome");
    };
    assert!(!snap.processes.is_empty());
}

#[tokio::test]
async fn a_plain_client_of_a_tls_endpoint_is_refused_and_the_runtime_carries_on() {
    let rt = runtime(100);
    let w = rt.start::<Worker>(()).await.unwrap();
    let certs = Certs::new("plain");
    let ep = serve_with(&rt, tls_loopback(&certs));
    for _ in 0..3 {
        let mut s = TcpStream::connect(ep.addr).await.unwrap();
        frame::write(&mut s, &hello(PROTOCOL_VERSION, ep.token()))
            .await
            .unwrap();
        let why = refused(&mut s).await;
        assert!(why.contains("speaks TLS only"), "{why}");
        assert!(why.contains("tls://"), "{why}");
    }
    // The process was not disturbed, and a TLS client still gets in.
    w.cast(Work::Log("still here".into())).await.unwrap();
    assert_eq!(w.call(()).await.unwrap(), 1);
    let mut s = connect(ep.addr, &certs.ca).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION, ep.token()))
        .await
        .unwrap();
    assert!(matches!(read(&mut s).await, Some(ServerMsg::Welcome(_))));
}

#[tokio::test]
async fn a_client_trusting_another_ca_fails_its_handshake() {
    let rt = runtime(100);
    let certs = Certs::new("wrong-ca");
    let ep = serve_with(&rt, tls_loopback(&certs));
    let err = connect(ep.addr, &certs.other_ca).await.unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    // The endpoint goes on serving those who trust it.
    let mut s = connect(ep.addr, &certs.ca).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION, ep.token()))
        .await
        .unwrap();
    assert!(matches!(read(&mut s).await, Some(ServerMsg::Welcome(_))));
}

#[tokio::test]
async fn off_loopback_tls_and_a_token_suffice_without_the_plaintext_opt_out() {
    let rt = runtime(100);
    let certs = Certs::new("remote");
    let token = "s3cret-s3cret-s3cret";
    let ep = rt
        .serve(
            EndpointConfig::parse("0.0.0.0:0")
                .unwrap()
                .allow_remote(true)
                .token(token)
                .tls(certs.config()),
        )
        .unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], ep.local_addr().unwrap().port()));
    let mut s = connect(addr, &certs.ca).await.unwrap();
    frame::write(&mut s, &hello(PROTOCOL_VERSION, Some(token)))
        .await
        .unwrap();
    assert!(matches!(read(&mut s).await, Some(ServerMsg::Welcome(_))));
}

#[tokio::test]
async fn unreadable_certificate_files_stop_the_endpoint_from_starting() {
    let rt = runtime(100);
    let err = rt
        .serve(EndpointConfig::parse("127.0.0.1:0").unwrap().tls(
            beamline::endpoint::TlsConfig::files("/nonexistent/c.pem", "/nonexistent/k.pem"),
        ))
        .unwrap_err();
    assert!(matches!(err, ServeError::Tls(_)), "{err}");
    assert!(
        err.to_string().contains("cannot read /nonexistent/c.pem"),
        "{err}"
    );
}
