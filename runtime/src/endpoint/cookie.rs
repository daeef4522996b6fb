//! The secret a loopback TCP endpoint makes for itself when given no token, written where an
//! observer run by the same user finds it (`beamline_wire::cookie` says where) and nobody else
//! can read it: mode 0600, in a 0700 directory owned by this user.

use super::ServeError;
use super::auth::own_uid;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A written cookie: the token clients must present, and its file.
pub(super) struct Cookie {
    pub token: String,
    pub path: PathBuf,
}

/// Make a fresh secret for the loopback endpoint on `port` and write it to its file in `dir`
/// (default: [`beamline_wire::cookie::dir`]), replacing a stale one.
pub(super) fn write(dir: Option<&Path>, port: u16) -> Result<Cookie, ServeError> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => beamline_wire::cookie::dir().ok_or(ServeError::NoCookieDir)?,
    };
    let err = |path: &Path, source| ServeError::Cookie {
        path: path.to_path_buf(),
        source,
    };
    private_dir(&dir).map_err(|e| err(&dir, e))?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| err(&dir, std::io::Error::other(e.to_string())))?;
    let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let path = beamline_wire::cookie::file(&dir, port);
    let tmp = dir.join(format!(".observe-{port}.cookie.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(token.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(&path, e));
    }
    Ok(Cookie { token, path })
}

/// Remove the cookie file if it still holds `token` (a later endpoint may have replaced it).
pub(super) fn remove(path: &Path, token: &str) {
    if std::fs::read_to_string(path).is_ok_and(|t| t.trim() == token) {
        let _ = std::fs::remove_file(path);
    }
}

/// Create `dir` (0700) if needed, and make sure no other user owns it or can enter it.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::metadata(dir)?;
    if meta.uid() != own_uid() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("the directory belongs to uid {}, not to us", meta.uid()),
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        // Never loosen or tighten a directory we did not make (it could be /tmp).
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("the directory is open to other users (mode {mode:o}); use one with mode 700"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_private_random_and_replaced() {
        let dir = std::env::temp_dir().join(format!("beamline-cookie-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = write(Some(&dir), 7420).unwrap();
        assert_eq!(a.path, dir.join("observe-7420.cookie"));
        assert_eq!(a.token.len(), 64);
        assert_eq!(std::fs::read_to_string(&a.path).unwrap(), a.token);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&dir), mode(&a.path)), (0o700, 0o600));
        let b = write(Some(&dir), 7420).unwrap();
        assert_ne!(a.token, b.token, "a fresh secret per endpoint");
        remove(&b.path, &a.token);
        assert!(
            b.path.exists(),
            "not removed by the endpoint it no longer belongs to"
        );
        remove(&b.path, &b.token);
        assert!(!b.path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_open_to_others_is_refused_and_left_alone() {
        let dir = std::env::temp_dir().join(format!("beamline-cookie-open-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let Err(err) = write(Some(&dir), 1) else {
            panic!("wrote a secret into a directory others can read")
        };
        assert!(
            err.to_string().contains("open to other users (mode 755)"),
            "{err}"
        );
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
