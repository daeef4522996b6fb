//! Process identifiers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The identity of one process incarnation within one runtime.
///
/// Ids are never reused while a runtime lives, so a stale id can never name a newer process:
/// a restarted child gets a fresh id. Displayed as Erlang users expect, `<0.42.0>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pid(pub u64);

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<0.{}.0>", self.0)
    }
}

impl std::str::FromStr for Pid {
    type Err = String;

    /// Accepts `<0.42.0>`, `0.42.0` and a bare `42`, so users can paste what they see.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().trim_start_matches('<').trim_end_matches('>');
        let parts: Vec<&str> = t.split('.').collect();
        let n = match parts.as_slice() {
            [n] => *n,
            [_, n, _] => *n,
            _ => return Err(format!("not a process id: {s:?} (expected <0.N.0> or N)")),
        };
        n.parse()
            .map(Pid)
            .map_err(|_| format!("not a process id: {s:?} (expected <0.N.0> or N)"))
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
}
