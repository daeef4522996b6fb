//! `tls://host:port`: the observer's side of TLS, with rustls. The runtime is verified against
//! a CA file (`--tls-ca`, the usual chain and host-name checks) or a pinned certificate
//! (`--tls-pin SHA256` of its DER, or `--tls-cert FILE` holding it): a pin trusts exactly one
//! certificate whatever names it carries, which suits a self-signed runtime reached by IP.
//! There is no fallback to the system's roots: a runtime's certificate is the operator's own.

use super::link::End;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// What the observer trusts a runtime's certificate by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Certificates issued by the CA(s) in this PEM file, for the host name attached to.
    Ca(PathBuf),
    /// The one certificate whose DER has this SHA-256.
    Pin([u8; 32]),
    /// The one certificate in this PEM file (its SHA-256 is pinned).
    Cert(PathBuf),
}

/// A client configuration ready to connect, made once from a [`Trust`].
#[derive(Clone)]
pub struct TlsTrust {
    connector: TlsConnector,
}

impl std::fmt::Debug for TlsTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTrust").finish_non_exhaustive()
    }
}

/// Parse `--tls-pin`: 64 hex digits, colons allowed (as `openssl x509 -fingerprint -sha256`
/// prints them).
pub fn parse_pin(s: &str) -> Result<[u8; 32], String> {
    let hex: String = s.chars().filter(|c| *c != ':').collect();
    let bad = || format!("not a SHA-256 pin: {s:?} (expected 64 hex digits, colons allowed)");
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut pin = [0u8; 32];
    for (i, b) in pin.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(pin)
}

/// The SHA-256 of a certificate's DER, as lowercase hex: what `--tls-pin` takes.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl TlsTrust {
    /// Read the files `trust` names and make the connector; `Err` is one line for the user.
    pub fn load(trust: &Trust) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let config = match trust {
            Trust::Ca(path) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in read_certs(path)? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
                builder.with_root_certificates(roots)
            }
            Trust::Pin(pin) => pinned(builder, *pin, provider),
            Trust::Cert(path) => {
                let cert = read_certs(path)?.remove(0);
                let pin = Sha256::digest(cert.as_ref()).into();
                pinned(builder, pin, provider)
            }
        }
        .with_no_client_auth();
        Ok(TlsTrust {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    /// The TLS handshake on a connected stream to `host` (what `tls://host:port` names). A
    /// certificate we do not trust is [`End::Refused`]: retrying would not help.
    pub(super) async fn connect(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> Result<TlsStream<TcpStream>, End> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| End::Refused(format!("not a host name for TLS: {host:?}")))?;
        self.connector.connect(name, tcp).await.map_err(explain)
    }
}

/// Say what a failed TLS handshake means for the user.
fn explain(e: std::io::Error) -> End {
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(why)) => {
            End::Refused(format!("certificate not trusted: {}", certificate(why)))
        }
        Some(rustls::Error::General(why)) if why.starts_with(PIN_MISMATCH) => {
            End::Refused(format!("certificate not trusted: {why}"))
        }
        Some(rustls::Error::InvalidMessage(_))
        | Some(rustls::Error::InappropriateMessage { .. }) => End::Refused(format!(
            "the runtime did not answer in TLS ({e}): is its endpoint serving TLS? (without TLS, attach with HOST:PORT)"
        )),
        Some(other) => End::Refused(format!("TLS handshake failed: {other}")),
        None => End::early(format!("TLS handshake failed: {e}")),
    }
}

/// Why the CA check failed, in words that point at the flag to fix.
fn certificate(why: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match why {
        E::UnknownIssuer | E::BadSignature => {
            "it was not issued by a CA in the --tls-ca file".into()
        }
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            "it is not valid for the host in the tls:// address (use a name or IP it lists)".into()
        }
        E::Expired | E::ExpiredContext { .. } => "it has expired".into(),
        E::NotValidYet | E::NotValidYetContext { .. } => "it is not valid yet".into(),
        other if format!("{other:?}").contains("CaUsedAsEndEntity") => {
            "the runtime presents a CA certificate (self-signed?): trust it with --tls-cert FILE or --tls-pin SHA256 instead of --tls-ca".into()
        }
        other => format!("{other:?} (check --tls-ca, --tls-pin or --tls-cert)"),
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no CERTIFICATE block", path.display()));
    }
    Ok(certs)
}

const PIN_MISMATCH: &str = "its SHA-256 is";

fn pinned(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>,
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
) -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert> {
    builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned { pin, provider }))
}

/// Trusts exactly the certificate with the pinned SHA-256 (its names and dates are not
/// checked: the pin is the identity), and still checks that the runtime holds its key.
#[derive(Debug)]
struct Pinned {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if seen == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            Err(rustls::Error::General(format!(
                "{PIN_MISMATCH} {}, the pinned one is {}",
                hex(&seen),
                hex(&self.pin)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_with_or_without_colons() {
        let hex = "ab".repeat(32);
        assert_eq!(parse_pin(&hex).unwrap(), [0xab; 32]);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_pin(&colons).unwrap(), [0xab; 32]);
        assert!(parse_pin("abcd").unwrap_err().contains("64 hex digits"));
        assert!(parse_pin(&"zz".repeat(32)).is_err());
        assert_eq!(
            fingerprint(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn missing_trust_files_are_one_clear_line() {
        let err = TlsTrust::load(&Trust::Ca("/nonexistent/ca.pem".into())).unwrap_err();
        assert!(err.starts_with("/nonexistent/ca.pem: "), "{err}");
        let empty = std::env::temp_dir().join(format!("observer-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, "").unwrap();
        let err = TlsTrust::load(&Trust::Cert(empty.clone())).unwrap_err();
        assert!(err.ends_with("no CERTIFICATE block"), "{err}");
        std::fs::remove_file(&empty).unwrap();
    }
}
