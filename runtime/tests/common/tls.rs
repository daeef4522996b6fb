//! Test certificates made at test time with rcgen (a CA, a leaf for 127.0.0.1 and localhost
//! that it signed, and a second CA that signed nothing here), and a TLS client trusting a CA.
//! Shared by the test binaries that need TLS (`#[path]`-included).

#![allow(dead_code)]

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// PEM files in a private temporary directory, removed on drop.
pub struct Certs {
    pub dir: PathBuf,
    /// The CA that signed `cert`.
    pub ca: PathBuf,
    /// The listener's certificate (SANs 127.0.0.1 and localhost) and its key.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Another CA: trusting it instead of `ca` must fail.
    pub other_ca: PathBuf,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

impl Certs {
    pub fn new(tag: &str) -> Certs {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("beamline-tls-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let issuer = ca("beamline test CA");
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        let leaf = params.signed_by(&key, &issuer).unwrap();
        let certs = Certs {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            other_ca: dir.join("other-ca.pem"),
            dir,
        };
        std::fs::write(&certs.ca, issuer.pem()).unwrap();
        std::fs::write(&certs.cert, leaf.pem()).unwrap();
        std::fs::write(&certs.key, key.serialize_pem()).unwrap();
        std::fs::write(&certs.other_ca, ca("another test CA").pem()).unwrap();
        certs
    }

    /// The runtime's configuration for these files.
    pub fn config(&self) -> beamline::endpoint::TlsConfig {
        beamline::endpoint::TlsConfig::files(&self.cert, &self.key)
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connect to `addr` over TLS, trusting the CA in `ca`, naming the server 127.0.0.1.
pub async fn connect(addr: SocketAddr, ca: &Path) -> std::io::Result<TlsStream<TcpStream>> {
    use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("127.0.0.1").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}
