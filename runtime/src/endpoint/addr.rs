//! Where an endpoint listens: addresses as users type them, and the kernel's limit on Unix
//! socket paths.

use super::ServeError;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Longest Unix socket path the kernel takes, in bytes: `sun_path` holds it with its NUL.
pub const MAX_UNIX_PATH: usize = if cfg!(any(target_os = "linux", target_os = "android")) {
    107
} else {
    103
};

/// Where the endpoint listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObserveAddr {
    /// A TCP address, e.g. `127.0.0.1:7420`.
    Tcp(SocketAddr),
    /// A Unix domain socket path (written `unix:/path/to.sock`).
    Unix(PathBuf),
}

impl std::str::FromStr for ObserveAddr {
    type Err = ServeError;

    /// `unix:/path`, `host:port` with an IP host, or `localhost:port`.
    fn from_str(s: &str) -> Result<Self, ServeError> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(ServeError::BadAddress(s.to_string()));
            }
            return Ok(ObserveAddr::Unix(PathBuf::from(path)));
        }
        if let Some(port) = s.strip_prefix("localhost:") {
            let port = port
                .parse()
                .map_err(|_| ServeError::BadAddress(s.to_string()))?;
            return Ok(ObserveAddr::Tcp(SocketAddr::from(([127, 0, 0, 1], port))));
        }
        s.parse()
            .map(ObserveAddr::Tcp)
            .map_err(|_| ServeError::BadAddress(s.to_string()))
    }
}

impl std::fmt::Display for ObserveAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObserveAddr::Tcp(a) => write!(f, "{a}"),
            ObserveAddr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// Refuse a socket path no client could connect to, before anything is created: the kernel
/// would otherwise let us bind a shorter staging path and rename it there.
pub(super) fn check_unix_path(path: &Path) -> Result<(), ServeError> {
    let len = path.as_os_str().len();
    if len > MAX_UNIX_PATH {
        return Err(ServeError::PathTooLong {
            path: path.to_path_buf(),
            len,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_users_type_them() {
        assert_eq!(
            "unix:/tmp/a.sock".parse::<ObserveAddr>().unwrap(),
            ObserveAddr::Unix("/tmp/a.sock".into())
        );
        assert_eq!(
            "localhost:7420".parse::<ObserveAddr>().unwrap(),
            ObserveAddr::Tcp("127.0.0.1:7420".parse().unwrap())
        );
        assert_eq!(
            super::super::DEFAULT_ADDR
                .parse::<ObserveAddr>()
                .unwrap()
                .to_string(),
            super::super::DEFAULT_ADDR
        );
        assert!("unix:".parse::<ObserveAddr>().is_err());
        assert!("nowhere".parse::<ObserveAddr>().is_err());
    }

    #[test]
    fn socket_paths_longer_than_sun_path_are_refused() {
        let fits = PathBuf::from(format!("/{}", "a".repeat(MAX_UNIX_PATH - 1)));
        assert!(check_unix_path(&fits).is_ok());
        let long = PathBuf::from(format!("/{}", "a".repeat(MAX_UNIX_PATH)));
        let err = check_unix_path(&long).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("{} bytes long", MAX_UNIX_PATH + 1)),
            "{err}"
        );
    }
}
