//! Where a loopback TCP endpoint keeps its secret, as Erlang keeps `~/.erlang.cookie`.
//!
//! Anyone on the machine can connect to a loopback port, so an endpoint there without a token
//! of its own makes one up: 32 random bytes, hex encoded, written to a file only its user can
//! read (mode 0600, in a 0700 directory). An observer run by the same user reads the file by
//! itself; another user cannot, and is refused. This module only says where the file is and
//! reads it: the runtime writes it.
//!
//! The directory is the first of:
//! 1. `$BEAMLINE_COOKIE_DIR`;
//! 2. `$XDG_RUNTIME_DIR/beamline` (a per-user directory, emptied at logout or reboot);
//! 3. `$HOME/.beamline`.
//!
//! and the file is `observe-<port>.cookie`: the port alone names a loopback endpoint.

use std::path::PathBuf;

/// Environment variable that overrides the directory the cookie files live in.
pub const ENV_COOKIE_DIR: &str = "BEAMLINE_COOKIE_DIR";

/// The directory cookie files live in for this user, from the environment (see the module
/// docs); `None` when none of the variables is set.
pub fn dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(d) = var(ENV_COOKIE_DIR) {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = var("XDG_RUNTIME_DIR") {
        return Some(PathBuf::from(d).join("beamline"));
    }
    var("HOME").map(|h| PathBuf::from(h).join(".beamline"))
}

/// The cookie file of the loopback endpoint on `port`, in `dir`.
pub fn file(dir: &std::path::Path, port: u16) -> PathBuf {
    dir.join(format!("observe-{port}.cookie"))
}

/// The cookie file of the loopback endpoint on `port`, for this user.
pub fn path(port: u16) -> Option<PathBuf> {
    dir().map(|d| file(&d, port))
}

/// The secret of the loopback endpoint on `port`, if this user can read it; `None` when there
/// is no such file, or it cannot be read (another user's file).
pub fn read(port: u16) -> Option<String> {
    let text = std::fs::read_to_string(path(port)?).ok()?;
    let token = text.trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// Whether `host` (as typed in `host:port`) names this machine's loopback interface: only
/// then is the cookie sent, so that a local secret never travels to another machine.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_get_the_cookie() {
        for h in [
            "127.0.0.1",
            "localhost",
            "LOCALHOST",
            "[::1]",
            "::1",
            "127.1.2.3",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["10.0.0.1", "example.com", "0.0.0.0", "[::]", ""] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn the_file_is_named_after_the_port() {
        assert_eq!(
            file(std::path::Path::new("/run/user/1000/beamline"), 7420),
            PathBuf::from("/run/user/1000/beamline/observe-7420.cookie")
        );
    }
}
