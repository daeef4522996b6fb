//! Issue 20, "Remote attach": the real observer attaches to the real demo through TLS
//! (`observer --attach tls://... --json --once`), trusting a CA file, a pinned SHA-256 or the
//! certificate file; a certificate it does not trust is refused with "certificate not trusted"
//! and exit 1; a plain observer is refused with a clear line while the demo carries on.
//! Certificates are made at test time with rcgen.

use crate::support::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::time::Duration;

/// A CA, a leaf for 127.0.0.1 it signed (and its key), and an unrelated self-signed certificate.
struct Certs {
    dir: TempDir,
    leaf_der: Vec<u8>,
}

impl Certs {
    fn new() -> Certs {
        let dir = TempDir::new("tls");
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, "e2e CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        std::fs::write(dir.path("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.path("key.pem"), key.serialize_pem()).unwrap();
        std::fs::write(dir.path("other.pem"), other.cert.pem()).unwrap();
        Certs {
            leaf_der: leaf.der().to_vec(),
            dir,
        }
    }

    fn file(&self, name: &str) -> String {
        self.dir.path(name).display().to_string()
    }
}

/// The demo on 127.0.0.1 with TLS forced on; the address it prints is `tls://127.0.0.1:PORT`.
fn tls_demo(certs: &Certs) -> Demo {
    let (cert, key) = (certs.file("cert.pem"), certs.file("key.pem"));
    let demo = Demo::serve(
        "127.0.0.1:0",
        &["--tls-cert", &cert, "--tls-key", &key, "--duration", "60"],
    );
    assert!(demo.addr.starts_with("tls://127.0.0.1:"), "{}", demo.addr);
    demo
}

fn observe_once(at: &str, trust: &[&str]) -> std::process::Output {
    let mut args = vec!["--attach", at, "--json", "--once"];
    args.extend_from_slice(trust);
    run(OBSERVER, &args, Duration::from_secs(30))
}

fn assert_sees_the_demo(out: &std::process::Output) {
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let line = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(json["node"], "demo", "{json}");
    assert!(json["processes"].as_array().unwrap().len() >= 10, "{json}");
}

#[test]
fn the_observer_attaches_through_tls_by_ca_by_pin_and_by_certificate_file() {
    let certs = Certs::new();
    let demo = tls_demo(&certs);
    let pin = beamline_observer::source::attach::fingerprint(&certs.leaf_der);
    let (ca, cert) = (certs.file("ca.pem"), certs.file("cert.pem"));
    for trust in [
        ["--tls-ca", &ca],
        ["--tls-pin", &pin],
        ["--tls-cert", &cert],
    ] {
        assert_sees_the_demo(&observe_once(&demo.addr, &trust));
    }
}

#[test]
fn a_certificate_the_observer_does_not_trust_is_refused() {
    let certs = Certs::new();
    let demo = tls_demo(&certs);
    let other = certs.file("other.pem");
    let wrong_pin = "00".repeat(32);
    let cases = [
        (
            ["--tls-ca", &other],
            "it was not issued by a CA in the --tls-ca file",
        ),
        (["--tls-cert", &other], "its SHA-256 is "),
        (["--tls-pin", &wrong_pin], "its SHA-256 is "),
    ];
    for (trust, why) in cases {
        let out = observe_once(&demo.addr, &trust);
        assert_eq!(out.status.code(), Some(1), "{trust:?}: {out:?}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let prefix = format!("observer: {}: certificate not trusted: {why}", demo.addr);
        assert!(lines[0].starts_with(&prefix), "{trust:?}: {lines:?}");
        assert!(String::from_utf8_lossy(&out.stdout).is_empty());
    }
    // Without anything to trust, the observer says what it needs before connecting.
    let out = observe_once(&demo.addr, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr_lines(&out)[0].contains("needs --tls-ca FILE, --tls-pin SHA256 or --tls-cert FILE")
    );
}

#[test]
fn a_plain_observer_is_refused_by_a_tls_demo_which_carries_on() {
    let certs = Certs::new();
    let demo = tls_demo(&certs);
    let plain = demo.addr.strip_prefix("tls://").unwrap();
    let out = observe_once(plain, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stderr_lines(&out),
        [format!(
            "observer: {plain}: refused: this endpoint speaks TLS only: attach with tls://HOST:PORT and --tls-ca FILE, --tls-pin SHA256 or --tls-cert FILE"
        )]
    );
    // The demo and its processes carry on: a TLS observer sees them afterwards.
    let ca = certs.file("ca.pem");
    assert_sees_the_demo(&observe_once(&demo.addr, &["--tls-ca", &ca]));
}

#[test]
fn trust_flags_without_a_tls_address_are_a_clear_error() {
    let pin = "ab".repeat(32);
    let out = observe_once("127.0.0.1:1", &["--tls-pin", &pin]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stderr_lines(&out),
        [
            "observer: 127.0.0.1:1: --tls-ca, --tls-pin and --tls-cert apply to tls://host:port addresses only"
        ]
    );
    let out = observe_once("tls://127.0.0.1:1", &["--tls-pin", "abc"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed pin is a usage error: {out:?}"
    );
}

#[test]
fn the_demo_refuses_a_public_address_without_tls_unless_told_plaintext() {
    let out = run(
        DEMO,
        &[
            "--serve",
            "0.0.0.0:0",
            "--token",
            "hunter2-hunter2-hunter2",
            "--duration",
            "5",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = stderr_lines(&out);
    assert!(
        lines[0].starts_with("demo: refusing to listen on 0.0.0.0:0 without TLS")
            && lines[0].ends_with("(demo: pass --tls-cert and --tls-key, or --insecure-plaintext)"),
        "{lines:?}"
    );
}
