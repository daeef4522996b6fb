//! Where the runtime listens, as users type it: `host:port`, `tls://host:port` or `unix:/path`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where the runtime listens; the same default as the runtime's `BEAMLINE_OBSERVE`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7420";

/// An endpoint address as users type it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addr {
    /// `host:port`.
    Tcp(String),
    /// `unix:/path/to/socket`.
    Unix(PathBuf),
    /// `tls://host:port`: TCP with TLS, the runtime verified as `--tls-ca`, `--tls-pin` or
    /// `--tls-cert` say.
    Tls(String),
}

impl FromStr for Addr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a socket path, e.g. unix:/tmp/beamline.sock".into());
            }
            return Ok(Addr::Unix(PathBuf::from(path)));
        }
        let (tls, hostport) = match s.strip_prefix("tls://") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        match hostport.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(if tls {
                Addr::Tls(hostport.to_string())
            } else {
                Addr::Tcp(hostport.to_string())
            }),
            _ => Err(format!(
                "not an address: {s:?} (expected host:port, tls://host:port or unix:/path)"
            )),
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp(a) => f.write_str(a),
            Addr::Unix(p) => write!(f, "unix:{}", p.display()),
            Addr::Tls(a) => write!(f, "tls://{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_and_unix_addresses() {
        assert_eq!(
            "127.0.0.1:7420".parse::<Addr>(),
            Ok(Addr::Tcp("127.0.0.1:7420".into()))
        );
        assert_eq!(
            "unix:/tmp/b.sock".parse::<Addr>(),
            Ok(Addr::Unix("/tmp/b.sock".into()))
        );
        assert_eq!(
            "unix:/tmp/b.sock".parse::<Addr>().unwrap().to_string(),
            "unix:/tmp/b.sock"
        );
        assert_eq!(
            "tls://10.0.0.5:7420".parse::<Addr>(),
            Ok(Addr::Tls("10.0.0.5:7420".into()))
        );
        assert_eq!(
            "tls://[::1]:7420".parse::<Addr>().unwrap().to_string(),
            "tls://[::1]:7420"
        );
        assert!("tls://nohost".parse::<Addr>().is_err());
        assert!("localhost".parse::<Addr>().is_err());
        assert!("host:notaport".parse::<Addr>().is_err());
        assert!("unix:".parse::<Addr>().is_err());
    }
}
