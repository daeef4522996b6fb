//! Who is on the other end of a connection, and how what they send is made safe to print.

use std::net::IpAddr;

/// What limits and backoffs are counted by: the address for TCP, the user for a Unix socket.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum PeerKey {
    /// A TCP peer's IP address (all its ports count as one).
    Ip(IpAddr),
    /// A Unix socket peer's user id, `None` if the kernel would not say.
    Uid(Option<u32>),
}

impl std::fmt::Display for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerKey::Ip(ip) => write!(f, "{ip}"),
            PeerKey::Uid(Some(uid)) => write!(f, "uid {uid}"),
            PeerKey::Uid(None) => f.write_str("unknown uid"),
        }
    }
}

/// One connected client as far as the endpoint knows before it speaks.
#[derive(Clone, Debug)]
pub(super) struct Peer {
    /// What it is counted as.
    pub key: PeerKey,
    /// How logs name it: `127.0.0.1:53422`, or `uid 1000 pid 4242` on a Unix socket.
    pub label: String,
}

impl Peer {
    /// A TCP peer.
    pub fn tcp(addr: std::net::SocketAddr) -> Peer {
        Peer {
            key: PeerKey::Ip(addr.ip()),
            label: addr.to_string(),
        }
    }

    /// A Unix socket peer, from its credentials when the kernel gives them.
    pub fn unix(cred: Option<tokio::net::unix::UCred>) -> Peer {
        let uid = cred.map(|c| c.uid());
        let label = match cred {
            Some(c) => match c.pid() {
                Some(pid) => format!("uid {} pid {pid}", c.uid()),
                None => format!("uid {}", c.uid()),
            },
            None => "unix (unknown uid)".into(),
        };
        Peer {
            key: PeerKey::Uid(uid),
            label,
        }
    }
}

/// `text` from a client, fit for a log line or a terminal: control characters (newlines, ESC,
/// DEL, C1) and the invisible formatting characters that reorder text on screen are written as
/// escapes (`\n`, `\u{1b}`), and anything past `max_chars` is cut with a `…`. A client can then
/// neither forge log lines nor drive the terminal of whoever reads them.
pub fn escape(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars + 8));
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        if c.is_control() || is_invisible_format(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Bidirectional overrides and isolates, zero-width characters: they change how a line reads
/// without being seen.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_length_is_bounded() {
        assert_eq!(
            escape("bye\nINFO forged\u{1b}[2J\r\t\u{7f}", 100),
            "bye\\nINFO forged\\u{1b}[2J\\r\\t\\u{7f}"
        );
        assert_eq!(escape("evil\u{202e}txt.exe", 100), "evil\\u{202e}txt.exe");
        assert_eq!(escape("plain: ünïcode ok", 100), "plain: ünïcode ok");
        assert_eq!(escape("abcdef", 3), "abc…");
    }
}
