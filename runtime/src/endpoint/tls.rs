//! TLS for the TCP listeners (the attach endpoint and the metrics endpoint), with rustls.
//!
//! Off loopback a token alone travels in clear, so a non-loopback listener needs a certificate
//! and key ([`TlsConfig`], or `BEAMLINE_TLS_CERT` / `BEAMLINE_TLS_KEY`) unless the application
//! opts out explicitly (`insecure_plaintext`, `BEAMLINE_INSECURE_PLAINTEXT=1`). The handshake
//! runs on the connection's own task, under the same deadline and admission budget as the
//! `Hello`, so a client that opens TLS and stalls costs what a silent client costs. A client
//! that speaks plain bytes to a TLS listener is recognised by its first byte and told so in its
//! own protocol (a `Refused` frame, or an HTTP 400), then closed; nothing else is disturbed.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// Environment variable naming the PEM certificate chain (leaf first) of the TCP listeners.
pub const ENV_CERT: &str = "BEAMLINE_TLS_CERT";
/// Environment variable naming the PEM private key (PKCS#8, PKCS#1 or SEC1) of that chain.
pub const ENV_KEY: &str = "BEAMLINE_TLS_KEY";
/// Environment variable that, set to `1`, lets a non-loopback listener serve without TLS.
pub const ENV_INSECURE: &str = "BEAMLINE_INSECURE_PLAINTEXT";

/// The first byte of every TLS connection: a handshake record (RFC 8446, 5.1).
const HANDSHAKE_RECORD: u8 = 0x16;

/// A listener's certificate and key, as PEM files. Read when the listener starts, so a missing
/// or malformed file is an error from `serve` rather than a surprise at the first connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    cert: PathBuf,
    key: PathBuf,
}

impl TlsConfig {
    /// Serve TLS with the certificate chain in `cert` (PEM, leaf first) and the private key in
    /// `key` (PEM).
    pub fn files(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        TlsConfig {
            cert: cert.into(),
            key: key.into(),
        }
    }

    /// The files `BEAMLINE_TLS_CERT` and `BEAMLINE_TLS_KEY` name, when both are set; one
    /// without the other is an error, so a typo does not silently mean "no TLS".
    pub fn from_env() -> Option<Result<Self, TlsError>> {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        match (var(ENV_CERT), var(ENV_KEY)) {
            (Some(cert), Some(key)) => Some(Ok(TlsConfig::files(cert, key))),
            (None, None) => None,
            _ => Some(Err(TlsError::HalfConfigured)),
        }
    }

    /// Whether `BEAMLINE_INSECURE_PLAINTEXT=1` is set.
    pub fn insecure_from_env() -> bool {
        std::env::var(ENV_INSECURE).is_ok_and(|v| v.trim() == "1")
    }

    /// The certificate file.
    pub fn cert(&self) -> &Path {
        &self.cert
    }

    /// The key file.
    pub fn key(&self) -> &Path {
        &self.key
    }

    /// Read the files and make the acceptor the listener uses.
    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        let pem = read(&self.cert)?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem {
                path: self.cert.clone(),
                why: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::Pem {
                path: self.cert.clone(),
                why: "no CERTIFICATE block".into(),
            });
        }
        let pem = read(&self.key)?;
        let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Pem {
            path: self.key.clone(),
            why: format!("no private key: {e}"),
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| TlsError::Rejected(e.to_string()))?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Only one of `BEAMLINE_TLS_CERT` and `BEAMLINE_TLS_KEY` is set.
    #[error("set both {ENV_CERT} and {ENV_KEY} (PEM files), or neither")]
    HalfConfigured,
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no usable PEM block.
    #[error("{}: {why}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// rustls refused the pair (a key that does not match the certificate, an unsupported
    /// key type).
    #[error("the TLS certificate and key do not work together: {0}")]
    Rejected(String),
}

/// What the first bytes of a connection to a TLS listener turned out to be.
pub(crate) enum Opening {
    /// A TLS handshake: hand the stream to the acceptor.
    Tls,
    /// Something else (a plain observer's `Hello`, an HTTP request): refuse it in clear.
    Plain,
    /// Nothing before the deadline, or the client left.
    Nothing,
}

/// Look at the first byte without taking it, waiting at most `deadline`.
pub(crate) async fn opening(stream: &TcpStream, deadline: Duration) -> Opening {
    let mut first = [0u8; 1];
    match tokio::time::timeout(deadline, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] == HANDSHAKE_RECORD => Opening::Tls,
        Ok(Ok(1)) => Opening::Plain,
        _ => Opening::Nothing,
    }
}

/// What a plain client of a TLS attach endpoint is told.
pub(crate) const PLAIN_REFUSED: &str = "this endpoint speaks TLS only: attach with tls://HOST:PORT and --tls-ca FILE, --tls-pin SHA256 or --tls-cert FILE";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_malformed_files_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("beamline-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = TlsConfig::files(dir.join("nope.pem"), dir.join("nope.key"));
        let err = missing.acceptor().err().unwrap();
        assert!(err.to_string().starts_with("cannot read "), "{err}");
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not pem").unwrap();
        let err = TlsConfig::files(&junk, &junk).acceptor().err().unwrap();
        assert!(err.to_string().contains("no CERTIFICATE block"), "{err}");

        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (c, k) = (dir.join("c.pem"), dir.join("k.pem"));
        std::fs::write(&c, cert.cert.pem()).unwrap();
        std::fs::write(&k, "").unwrap();
        let err = TlsConfig::files(&c, &k).acceptor().err().unwrap();
        assert!(err.to_string().contains("no private key"), "{err}");
        std::fs::write(&k, cert.signing_key.serialize_pem()).unwrap();
        assert!(TlsConfig::files(&c, &k).acceptor().is_ok());
        let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(&k, other.signing_key.serialize_pem()).unwrap();
        let err = TlsConfig::files(&c, &k).acceptor().err().unwrap();
        assert!(err.to_string().contains("do not work together"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
