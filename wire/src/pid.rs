//! Process identifiers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The identity of one process incarnation within one runtime.
///
/// Ids are never reused while a runtime lives, so a stale id can never name a newer process:
/// a restarted child gets a fresh id. Displayed as Erlang users expect, `<0.42.0>`.
///
/// A runtime's own pids stay below 2^48. An observer watching several nodes puts the node (top
/// byte, from 1) and the node's incarnation (next byte) above that, and such a pid displays the
/// way Erlang shows a remote one: `<node.local.incarnation>`, e.g. `<2.42.1>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pid(pub u64);

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >> 48 == 0 {
            return write!(f, "<0.{}.0>", self.0);
        }
        write!(
            f,
            "<{}.{}.{}>",
            self.0 >> 56,
            self.0 & LOCAL_MASK,
            (self.0 >> 48) & 0xff
        )
    }
}

/// The bits of a pid that a runtime itself uses.
const LOCAL_MASK: u64 = (1 << 48) - 1;

impl std::str::FromStr for Pid {
    type Err = String;

    /// Accepts `<0.42.0>`, `0.42.0` and a bare `42`, so users can paste what they see, and an
    /// observer's `<node.local.incarnation>` (node and incarnation below 256).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not a process id: {s:?} (expected <0.N.0> or N)");
        let t = s.trim().trim_start_matches('<').trim_end_matches('>');
        let parts: Vec<&str> = t.split('.').collect();
        let num = |x: &str| x.parse::<u64>().map_err(|_| bad());
        match parts.as_slice() {
            [n] => num(n).map(Pid),
            [a, n, c] => {
                let (node, local, inc) = (num(a)?, num(n)?, num(c)?);
                if node == 0 {
                    return Ok(Pid(local));
                }
                if node > 0xff || inc > 0xff || local > LOCAL_MASK {
                    return Err(bad());
                }
                Ok(Pid(node << 56 | inc << 48 | local))
            }
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_and_parses_like_erlang() {
        assert_eq!(Pid(42).to_string(), "<0.42.0>");
        assert_eq!("<0.42.0>".parse::<Pid>().unwrap(), Pid(42));
        assert_eq!("42".parse::<Pid>().unwrap(), Pid(42));
        assert!("<0.x.0>".parse::<Pid>().is_err());
        assert!("1.2".parse::<Pid>().is_err());
    }

    #[test]
    fn an_observers_node_pids_display_like_erlangs_remote_pids() {
        let p = Pid(2 << 56 | 1 << 48 | 42);
        assert_eq!(p.to_string(), "<2.42.1>");
        assert_eq!("<2.42.1>".parse::<Pid>().unwrap(), p);
        assert!("<256.1.1>".parse::<Pid>().is_err());
    }
}
