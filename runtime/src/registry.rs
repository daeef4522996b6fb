//! Unique names for processes: global names and keyed names (OTP's `{:via, Registry, ...}`).
//!
//! A name is held by one live process at a time and freed when it exits, so a name always
//! resolves to the current incarnation: after a supervisor restarts a named child, callers that
//! look it up by name reach the new one.

use crate::table::Keyed;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

/// A registered name: a plain global name, or a key within a named registry (one process per
/// contract id, per user, ...).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Name {
    /// A global name, like `:cache`.
    Global(String),
    /// A key within a registry, like `{:via, Registry, {Contracts, 42}}`.
    Via {
        /// The registry's name, e.g. `contracts`.
        registry: String,
        /// The key, e.g. a contract id.
        key: String,
    },
}

impl Name {
    /// A global name.
    pub fn new(name: impl Into<String>) -> Self {
        Name::Global(name.into())
    }

    /// A keyed name within a registry.
    pub fn via(registry: impl Into<String>, key: impl fmt::Display) -> Self {
        Name::Via {
            registry: registry.into(),
            key: key.to_string(),
        }
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name::Global(s.to_string())
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name::Global(s)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Global(n) => f.write_str(n),
            Name::Via { registry, key } => write!(f, "{registry}/{key}"),
        }
    }
}

/// What a name is held by: a process that knows its pid and whether it has exited. (A trait so
/// that the registry need not know the process cell, which points back to the runtime's state.)
pub(crate) trait Holder: Keyed {
    /// Whether it has exited, so that its name is free.
    fn has_exited(&self) -> bool;
}

/// One registration: the process, and its typed handle for typed lookups.
pub(crate) struct Entry<C> {
    pub cell: Arc<C>,
    pub typed: Arc<dyn Any + Send + Sync>,
}

impl<C> Clone for Entry<C> {
    fn clone(&self) -> Self {
        Entry {
            cell: self.cell.clone(),
            typed: self.typed.clone(),
        }
    }
}

const SHARDS: usize = 16;

/// The name table, sharded so that registrations from many cores do not contend.
pub(crate) struct Registry<C> {
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<Name, Entry<C>>>>,
}

impl<C: Holder> Registry<C> {
    pub(crate) fn new() -> Self {
        Registry {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, name: &Name) -> std::sync::MutexGuard<'_, HashMap<Name, Entry<C>>> {
        let i = self.hasher.hash_one(name) as usize % SHARDS;
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register `name` unless a live process holds it; on conflict returns the holder.
    pub(crate) fn register(&self, name: &Name, entry: Entry<C>) -> Result<(), Entry<C>> {
        let mut shard = self.shard(name);
        if let Some(existing) = shard.get(name)
            && !existing.cell.has_exited()
        {
            return Err(existing.clone());
        }
        shard.insert(name.clone(), entry);
        Ok(())
    }

    pub(crate) fn lookup(&self, name: &Name) -> Option<Entry<C>> {
        self.shard(name)
            .get(name)
            .filter(|e| !e.cell.has_exited())
            .cloned()
    }

    /// Free `name` if `pid` still holds it.
    pub(crate) fn unregister(&self, name: &Name, pid: beamline_wire::Pid) {
        let mut shard = self.shard(name);
        if shard.get(name).is_some_and(|e| e.cell.key() == pid) {
            shard.remove(name);
        }
    }

    /// All keys registered under a `Via` registry, for listing e.g. all contracts.
    pub(crate) fn keys(&self, registry: &str) -> Vec<String> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            for name in shard.keys() {
                if let Name::Via { registry: r, key } = name
                    && r == registry
                {
                    out.push(key.clone());
                }
            }
        }
        out.sort();
        out
    }
}
