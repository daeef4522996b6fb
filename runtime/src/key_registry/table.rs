//! The entries of one key/value registry, read and written by the processes that use it
//! (as Elixir's registry writes its ETS tables from the caller), cleaned by the registry
//! process when an owner exits.

use super::shown::{self, TableId};
use super::{Keys, Listener, RegistryEvent};
use crate::ProcessRef;
use crate::process::{MonitorRef, ProcessCell};
use beamline_wire::Pid;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

pub(crate) struct Entry<V> {
    pub process: ProcessRef,
    pub value: V,
}

impl<V> Entry<V> {
    fn live(&self) -> bool {
        self.process.is_alive()
    }

    fn pid(&self) -> Pid {
        self.process.pid()
    }
}

/// The keys one process holds, and the registry's monitor on it.
struct Owner<K> {
    monitor: MonitorRef,
    keys: Vec<K>,
    /// The process, to refresh the keys the observer shows on it.
    cell: Arc<ProcessCell>,
}

struct Inner<K, V> {
    by_key: HashMap<K, Vec<Entry<V>>>,
    owners: HashMap<Pid, Owner<K>>,
}

/// Why a registration was refused.
pub(crate) enum Refused {
    /// Unique keys: a live process holds it.
    Taken(ProcessRef),
}

/// A registry's shared entries (opaque outside the crate).
pub struct Table<K: super::Key, V> {
    pub(crate) kind: Keys,
    /// Which registry this is, on processes holding keys in several (see `shown.rs`).
    id: TableId,
    inner: Mutex<Inner<K, V>>,
    listeners: Vec<Listener<K, V>>,
    /// The registry process, which monitors every owner; set by its `init`.
    pub(crate) registry: OnceLock<Arc<ProcessCell>>,
}

impl<K, V> Table<K, V>
where
    K: super::Key,
    V: super::Value,
{
    pub(crate) fn new(kind: Keys, listeners: Vec<Listener<K, V>>) -> Self {
        Table {
            kind,
            id: TableId::next(),
            inner: Mutex::new(Inner {
                by_key: HashMap::new(),
                owners: HashMap::new(),
            }),
            listeners,
            registry: OnceLock::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register `key` for `process`; the registry starts monitoring it with its first key.
    pub(crate) fn insert(&self, process: ProcessRef, key: K, value: V) -> Result<(), Refused> {
        {
            let mut inner = self.lock();
            let entries = inner.by_key.entry(key.clone()).or_default();
            if self.kind == Keys::Unique {
                if let Some(holder) = entries.iter().find(|e| e.live()) {
                    return Err(Refused::Taken(holder.process.clone()));
                }
                // A dead holder whose exit the registry has not handled yet.
                entries.clear();
            }
            entries.push(Entry {
                process: process.clone(),
                value: value.clone(),
            });
            let pid = process.pid();
            let owner = inner.owners.entry(pid).or_insert_with(|| {
                let registry = self
                    .registry
                    .get()
                    .expect("the registry process has started");
                Owner {
                    monitor: registry.monitor(&process.cell),
                    keys: Vec::new(),
                    cell: process.cell.clone(),
                }
            });
            owner.keys.push(key.clone());
            if shown::update(&owner.cell.keys, self.id, &owner.keys) {
                owner.cell.mark_dirty();
            }
        }
        self.tell(RegistryEvent::Register {
            key,
            pid: process.pid(),
            value,
        });
        Ok(())
    }

    /// Remove `pid`'s entries under `key` whose value `matches`; returns how many went.
    pub(crate) fn remove(&self, pid: Pid, key: &K, matches: impl Fn(&V) -> bool) -> usize {
        let removed = {
            let mut inner = self.lock();
            let Some(entries) = inner.by_key.get_mut(key) else {
                return 0;
            };
            let before = entries.len();
            entries.retain(|e| e.pid() != pid || !matches(&e.value));
            let removed = before - entries.len();
            if entries.is_empty() {
                inner.by_key.remove(key);
            }
            if let Some(owner) = inner.owners.get_mut(&pid) {
                for _ in 0..removed {
                    if let Some(i) = owner.keys.iter().position(|k| k == key) {
                        owner.keys.swap_remove(i);
                    }
                }
                if removed > 0 && shown::update(&owner.cell.keys, self.id, &owner.keys) {
                    owner.cell.mark_dirty();
                }
                if owner.keys.is_empty() {
                    let monitor = owner.monitor;
                    inner.owners.remove(&pid);
                    if let Some(registry) = self.registry.get() {
                        registry.demonitor(monitor);
                    }
                }
            }
            removed
        };
        if removed > 0 {
            self.tell(RegistryEvent::Unregister {
                key: key.clone(),
                pid,
            });
        }
        removed
    }

    /// An owner exited: drop all its entries (if `monitor` is still the current one).
    pub(crate) fn owner_down(&self, pid: Pid, monitor: MonitorRef) {
        let mut inner = self.lock();
        if inner.owners.get(&pid).is_none_or(|o| o.monitor != monitor) {
            return;
        }
        let owner = inner.owners.remove(&pid).expect("checked above");
        for key in owner.keys {
            if let Some(entries) = inner.by_key.get_mut(&key) {
                entries.retain(|e| e.pid() != pid);
                if entries.is_empty() {
                    inner.by_key.remove(&key);
                }
            }
        }
    }

    /// Visit the live entries under `key`.
    pub(crate) fn with_key<R>(
        &self,
        key: &K,
        f: impl FnOnce(&mut dyn Iterator<Item = &Entry<V>>) -> R,
    ) -> R {
        let inner = self.lock();
        let mut it = inner
            .by_key
            .get(key)
            .into_iter()
            .flatten()
            .filter(|e| e.live());
        f(&mut it)
    }

    /// Visit every live entry.
    pub(crate) fn with_all<R>(
        &self,
        f: impl FnOnce(&mut dyn Iterator<Item = (&K, &Entry<V>)>) -> R,
    ) -> R {
        let inner = self.lock();
        let mut it = inner
            .by_key
            .iter()
            .flat_map(|(k, es)| es.iter().map(move |e| (k, e)))
            .filter(|(_, e)| e.live());
        f(&mut it)
    }

    /// The keys `pid` holds, as the table has them (an exited owner's until the registry
    /// process handles its exit).
    pub(crate) fn keys_of(&self, pid: Pid) -> Vec<K> {
        self.lock()
            .owners
            .get(&pid)
            .map(|o| o.keys.clone())
            .unwrap_or_default()
    }

    /// Replace `pid`'s value under a unique `key`; `(new, old)`.
    pub(crate) fn update(&self, pid: Pid, key: &K, f: impl FnOnce(&V) -> V) -> Option<(V, V)> {
        let mut inner = self.lock();
        let entry = inner
            .by_key
            .get_mut(key)?
            .iter_mut()
            .find(|e| e.pid() == pid)?;
        let new = f(&entry.value);
        let old = std::mem::replace(&mut entry.value, new.clone());
        Some((new, old))
    }

    fn tell(&self, event: RegistryEvent<K, V>) {
        for l in &self.listeners {
            l(event.clone());
        }
    }
}

impl<K: super::Key, V> Drop for Table<K, V> {
    /// The registry is gone: its keys are no longer shown on the processes that held them.
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        for owner in inner.owners.values() {
            if shown::update::<K>(&owner.cell.keys, self.id, &[]) {
                owner.cell.mark_dirty();
            }
        }
    }
}
