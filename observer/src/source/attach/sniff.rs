//! Recognise what answered when it is not a Beamline runtime, from the first bytes it sent. A
//! Beamline answer starts with a frame length below 64 MiB, so its first byte is at most 3;
//! HTTP, SSH, SMTP and other text protocols start with letters or digits, TLS with a record
//! header.

use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// How long to wait for the rest of a foreign server's first line.
const LINE_WAIT: Duration = Duration::from_millis(300);
/// The most of that line that is shown.
const LINE_MAX: usize = 80;

/// A recognised foreign answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Foreign {
    /// Who answered, e.g. "an HTTP server".
    pub what: &'static str,
    /// Whether it speaks text, so its first line is worth quoting.
    pub text: bool,
}

/// Who sent `prefix` (the first four bytes), if it is recognisably not Beamline.
pub(super) fn foreign(prefix: &[u8; 4]) -> Option<Foreign> {
    let text = |what| Some(Foreign { what, text: true });
    match prefix {
        b"HTTP" => text("an HTTP server"),
        b"SSH-" => text("an SSH server"),
        [b'2', b'2', b'0', b' ' | b'-'] => text("an SMTP or FTP server"),
        b"-ERR" | b"-NOA" => text("a Redis server"),
        [0x15 | 0x16, 0x03, 0..=4, _] => Some(Foreign {
            what: "a TLS server",
            text: false,
        }),
        p if p.iter().all(|b| b.is_ascii_graphic() || *b == b' ') => {
            text("a server speaking a text protocol")
        }
        _ => None,
    }
}

/// The rest of the first line after `prefix`, as ` ("...")`, escaped and cut short; what
/// arrives within [`LINE_WAIT`] is all that is read.
pub(super) async fn first_line<R: AsyncRead + Unpin>(rd: &mut R, prefix: &[u8]) -> String {
    let mut bytes = prefix.to_vec();
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + LINE_WAIT;
    while !bytes.contains(&b'\n') && bytes.len() < LINE_MAX {
        match tokio::time::timeout_at(deadline, rd.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => bytes.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let line = bytes
        .split(|b| *b == b'\r' || *b == b'\n')
        .next()
        .unwrap_or_default();
    let shown: String = String::from_utf8_lossy(line)
        .chars()
        .flat_map(char::escape_default)
        .take(LINE_MAX)
        .collect();
    format!(": \"{shown}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_common_servers_and_never_a_beamline_length() {
        let what = |p: &[u8; 4]| foreign(p).map(|f| f.what);
        assert_eq!(what(b"HTTP"), Some("an HTTP server"));
        assert_eq!(what(b"SSH-"), Some("an SSH server"));
        assert_eq!(what(b"220 "), Some("an SMTP or FTP server"));
        assert_eq!(what(&[0x15, 0x03, 0x03, 0x00]), Some("a TLS server"));
        assert_eq!(what(b"+OK "), Some("a server speaking a text protocol"));
        // Every length up to the 64 MiB limit starts with a byte of at most 3.
        for first in 0..=3u8 {
            for second in [0u8, 0x15, 0x48, 0xff] {
                assert_eq!(foreign(&[first, second, 0, 5]), None);
            }
        }
        assert_eq!(foreign(&[0xff; 4]), None, "left to the length check");
    }

    #[tokio::test]
    async fn quotes_the_first_line_escaped_and_cut_short() {
        let mut rest: &[u8] = b"/1.1 400 Bad Request\r\nServer: x\r\n\r\n";
        assert_eq!(
            first_line(&mut rest, b"HTTP").await,
            ": \"HTTP/1.1 400 Bad Request\""
        );
        let mut rest: &[u8] =
            b"\x1b[2J and a very long banner that goes on and on and on and on and on";
        let line = first_line(&mut rest, b"SSH-").await;
        assert!(line.starts_with(": \"SSH-\\u{1b}[2J and"), "{line}");
        assert!(line.chars().count() <= LINE_MAX + 4, "{line}");
    }
}
