//! Which nodes to watch: `--attach` given several times, or a `--nodes` file with one node a
//! line:
//!
//! ```text
//! # comments start with '#'
//! 127.0.0.1:9001 name=a
//! 10.0.0.7:9000 name=db token=s3cret
//! unix:/run/beamline/c.sock
//! ```
//!
//! An address, then optional `name=` (what the observer calls the node; by default the name the
//! runtime gives, else its address) and `token=` (else `--token`, else the cookie file).

use crate::source::Addr;
use std::path::Path;

/// One node to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    /// Where its observe endpoint listens.
    pub addr: Addr,
    /// What to call it; `None`: the runtime's own node name once connected.
    pub name: Option<String>,
    /// Its token, overriding `--token`.
    pub token: Option<String>,
}

impl NodeSpec {
    /// A node at `addr` with no name or token of its own.
    pub fn at(addr: Addr) -> Self {
        NodeSpec {
            addr,
            name: None,
            token: None,
        }
    }
}

/// Parse a `--nodes` file's text; errors name the line (`line 3: ...`).
pub fn parse(text: &str) -> Result<Vec<NodeSpec>, String> {
    let mut nodes: Vec<NodeSpec> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}", i + 1);
        let Some(spec) = parse_line(raw).map_err(at)? else {
            continue;
        };
        if let Some(name) = &spec.name
            && nodes.iter().any(|n| n.name.as_ref() == Some(name))
        {
            return Err(at(format!(
                "the name {name:?} is already used by another node"
            )));
        }
        nodes.push(spec);
    }
    if nodes.is_empty() {
        return Err("no nodes listed (one address per line)".into());
    }
    if nodes.len() > super::ids::MAX_NODES {
        return Err(format!(
            "{} nodes listed; one observer watches at most {}",
            nodes.len(),
            super::ids::MAX_NODES
        ));
    }
    Ok(nodes)
}

/// The nodes of a `--nodes` file, in its order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeList(pub Vec<NodeSpec>);

/// Read and parse a `--nodes` file (clap calls this, so a bad file exits 2 with usage).
pub fn read(path: &str) -> Result<NodeList, String> {
    let text = std::fs::read_to_string(Path::new(path)).map_err(|e| format!("{path}: {e}"))?;
    parse(&text)
        .map(NodeList)
        .map_err(|e| format!("{path}: {e}"))
}

/// One line: `None` for blanks and comments.
fn parse_line(raw: &str) -> Result<Option<NodeSpec>, String> {
    let line = match raw.find(" #").or_else(|| raw.find("\t#")) {
        Some(cut) => &raw[..cut],
        None => raw,
    };
    let mut words = line.split_whitespace();
    let Some(first) = words.next().filter(|w| !w.starts_with('#')) else {
        return Ok(None);
    };
    let mut spec = NodeSpec::at(first.parse::<Addr>()?);
    for word in words {
        match word.split_once('=') {
            Some(("name", v)) if !v.is_empty() => spec.name = Some(v.to_string()),
            Some(("token", v)) if !v.is_empty() => spec.token = Some(v.to_string()),
            Some(("name" | "token", _)) => return Err(format!("{word:?} has an empty value")),
            _ => {
                return Err(format!(
                    "{word:?} is not understood (after the address: name=NAME, token=TOKEN)"
                ));
            }
        }
    }
    Ok(Some(spec))
}
