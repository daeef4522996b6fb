//! [`Registry`]: Elixir's key/value `Registry`: processes register keys with a value, with
//! unique or duplicate keys: one process per key (a `via` name carrying a value), or many
//! (pub/sub: every subscriber of a topic registers the topic, a publisher dispatches to them).
//!
//! This is not [`crate::registry`], the runtime's table of unique process [`crate::Name`]s
//! (OTP's `register`/`whereis`). A `Registry` is a value you start, hold and share, typed by
//! its keys `K` and values `V`; it is a process (shown in the observer) that monitors every
//! process holding a key and drops that process's keys when it exits, however it exits.
//! Lookups read a shared table without messaging the registry process, as Elixir's read ETS.
//!
//! ```
//! use beamline::key_registry::{Keys, RegistrySpec};
//! use beamline::{Registry, Runtime, Task};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let rt = Runtime::new();
//! let topics = Registry::<String, u32>::start(&rt, RegistrySpec::new(Keys::Duplicate)).await.unwrap();
//! let r = topics.clone();
//! let mut sub = Task::start(&rt, async move {
//!     r.register("news".to_string(), 7).unwrap(); // as the task's own process
//!     r.lookup(&"news".to_string()).len()
//! }).await.unwrap();
//! assert_eq!(sub.await_timeout(std::time::Duration::from_secs(1)).await, Ok(1));
//! # }
//! ```

pub mod shown;
mod table;

use crate::spawn::{Claim, SpawnOpts};
use crate::{
    CallReply, Ctx, GenServer, Info, InitError, Name, Next, ProcessRef, Runtime, ServerRef,
    StartError, current,
};
use beamline_wire::Pid;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use table::{Refused, Table};

/// What a key must be: hashable, comparable, shareable (Elixir compares keys with `===`), and
/// printable with `Debug`, so the observer can show which keys a process holds (every Erlang
/// term prints; see [`shown`]).
pub trait Key: Eq + Hash + Clone + Debug + Send + Sync + 'static {}
impl<K: Eq + Hash + Clone + Debug + Send + Sync + 'static> Key for K {}

/// What a value must be: cloned out to readers, shared between processes.
pub trait Value: Clone + Send + Sync + 'static {}
impl<V: Clone + Send + Sync + 'static> Value for V {}

/// Whether a key is held by one process or by many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    /// One process per key (names; `via`).
    Unique,
    /// Any number of entries per key, even several from one process (pub/sub).
    Duplicate,
}

/// A register or unregister, as told to listeners (Elixir's listener messages). Not sent
/// when an owner exits: a listener that cares monitors the owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryEvent<K, V> {
    /// `pid` registered `key` with `value`.
    Register {
        /// The key.
        key: K,
        /// The process.
        pid: Pid,
        /// Its value.
        value: V,
    },
    /// `pid` unregistered `key`.
    Unregister {
        /// The key.
        key: K,
        /// The process.
        pid: Pid,
    },
}

/// Told of every register and unregister, on the registering process's task; typically it
/// sends a message to a listener process.
pub type Listener<K, V> = Arc<dyn Fn(RegistryEvent<K, V>) + Send + Sync>;

/// Why a registration was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RegisterError {
    /// Unique keys: another live process holds the key (Elixir's `already_registered`).
    #[error("already registered by {0}")]
    AlreadyRegistered(Pid),
    /// Only a running process can register (the key is removed when it exits).
    #[error("register must be called from inside a process")]
    NotAProcess,
    /// The registry process has exited.
    #[error("the registry is not running")]
    NotRunning,
}

/// A registry's configuration.
pub struct RegistrySpec<K, V> {
    keys: Keys,
    name: Option<Name>,
    listeners: Vec<Listener<K, V>>,
}

impl<K, V> RegistrySpec<K, V> {
    /// A registry with unique or duplicate keys.
    pub fn new(keys: Keys) -> Self {
        RegistrySpec {
            keys,
            name: None,
            listeners: Vec::new(),
        }
    }

    /// Register the registry process under a name, to find it with [`Registry::whereis`].
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Tell `listener` of every register and unregister.
    pub fn listener(
        mut self,
        listener: impl Fn(RegistryEvent<K, V>) + Send + Sync + 'static,
    ) -> Self {
        self.listeners.push(Arc::new(listener));
        self
    }
}

/// The process behind a [`Registry`]: it monitors owners and drops their keys when they exit.
pub struct RegistryServer<K: Key, V: Value> {
    table: Arc<Table<K, V>>,
}

impl<K, V> GenServer for RegistryServer<K, V>
where
    K: Key,
    V: Value,
{
    type Args = Arc<Table<K, V>>;
    /// `()` asks for the table (for `whereis`); answering also means every exit queued
    /// before the call has been handled.
    type Call = ();
    type Reply = Arc<Table<K, V>>;
    type Cast = ();
    type Info = ();

    async fn init(table: Arc<Table<K, V>>, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        let _ = table.registry.set(ctx.myself().cell.clone());
        Ok(RegistryServer { table })
    }

    async fn handle_call(&mut self, _: (), _ctx: &mut Ctx<Self>) -> CallReply<Self::Reply> {
        CallReply::reply(self.table.clone())
    }

    async fn handle_info(&mut self, msg: Info<()>, _ctx: &mut Ctx<Self>) -> Next {
        if let Info::Down(down) = msg {
            self.table.owner_down(down.pid, down.monitor);
        }
        Next::noreply()
    }
}

/// A handle to a key/value registry; cheap to clone.
pub struct Registry<K: Key, V: Value> {
    table: Arc<Table<K, V>>,
    server: ServerRef<RegistryServer<K, V>>,
}

impl<K: Key, V: Value> Clone for Registry<K, V> {
    fn clone(&self) -> Self {
        Registry {
            table: self.table.clone(),
            server: self.server.clone(),
        }
    }
}

impl<K: Key, V: Value> std::fmt::Debug for Registry<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registry({:?}, {})", self.table.kind, self.server.pid())
    }
}

impl<K, V> Registry<K, V>
where
    K: Key,
    V: Value,
{
    /// Start a registry.
    pub async fn start(rt: &Runtime, spec: RegistrySpec<K, V>) -> Result<Self, StartError> {
        let table = Arc::new(Table::new(spec.keys, spec.listeners));
        let mut opts = SpawnOpts::new();
        opts.name = spec.name;
        let server = rt
            .start_with::<RegistryServer<K, V>>(table.clone(), opts)
            .await?;
        Ok(Registry { table, server })
    }

    /// Find a registry started with [`RegistrySpec::name`]; `None` if there is none of these
    /// key and value types under that name.
    pub async fn whereis(rt: &Runtime, name: impl Into<Name>) -> Option<Self> {
        let server = rt.whereis::<RegistryServer<K, V>>(name)?;
        let table = server.call(()).await.ok()?;
        Some(Registry { table, server })
    }

    /// The registry process.
    pub fn process(&self) -> ProcessRef {
        self.server.process()
    }

    /// Whether keys are unique or duplicate.
    pub fn keys_kind(&self) -> Keys {
        self.table.kind
    }

    /// Register the calling process under `key` with `value` (Elixir's `register/3`). Unique
    /// keys: [`RegisterError::AlreadyRegistered`] if another live process holds it (or this
    /// one does). The key goes when the process unregisters it or exits.
    pub fn register(&self, key: K, value: V) -> Result<(), RegisterError> {
        let me = current::with(|c| c.clone()).ok_or(RegisterError::NotAProcess)?;
        let me = ProcessRef {
            cell: me,
            typed: None,
        };
        self.insert(me, key, value)
    }

    fn insert(&self, process: ProcessRef, key: K, value: V) -> Result<(), RegisterError> {
        if !self.server.is_alive() {
            return Err(RegisterError::NotRunning);
        }
        self.table
            .insert(process, key, value)
            .map_err(|Refused::Taken(p)| RegisterError::AlreadyRegistered(p.pid()))
    }

    /// Remove every entry of the calling process under `key` (nothing if it has none).
    pub fn unregister(&self, key: &K) {
        if let Some(me) = current::self_pid() {
            self.table.remove(me, key, |_| true);
        }
    }

    /// Remove the calling process's entries under `key` whose value `matches`
    /// (Elixir's `unregister_match`).
    pub fn unregister_match(&self, key: &K, matches: impl Fn(&V) -> bool) {
        if let Some(me) = current::self_pid() {
            self.table.remove(me, key, matches);
        }
    }

    /// The live processes under `key` with their values, in registration order.
    pub fn lookup(&self, key: &K) -> Vec<(Pid, V)> {
        self.match_values(key, |_| true)
    }

    /// The entries under `key` whose value `matches` (Elixir's `match/4`, with a closure
    /// for the pattern and guards).
    pub fn match_values(&self, key: &K, matches: impl Fn(&V) -> bool) -> Vec<(Pid, V)> {
        self.table.with_key(key, |it| {
            it.filter(|e| matches(&e.value))
                .map(|e| (e.process.pid(), e.value.clone()))
                .collect()
        })
    }

    /// How many entries under `key` have a value that `matches` (Elixir's `count_match`).
    pub fn count_match(&self, key: &K, matches: impl Fn(&V) -> bool) -> usize {
        self.table
            .with_key(key, |it| it.filter(|e| matches(&e.value)).count())
    }

    /// Call `f` with the entries under `key`, unless there are none (Elixir's `dispatch/3`):
    /// the publish side of pub/sub. Runs on the caller.
    pub fn dispatch(&self, key: &K, f: impl FnOnce(&[(Pid, V)])) {
        let entries = self.lookup(key);
        if !entries.is_empty() {
            f(&entries);
        }
    }

    /// All live entries, whatever the key.
    pub fn count(&self) -> usize {
        self.table.with_all(|it| it.count())
    }

    /// Every live entry for which `matches(key, pid, value)` holds (Elixir's `select/2`,
    /// with a closure for the match spec), in no particular order.
    pub fn select(&self, matches: impl Fn(&K, Pid, &V) -> bool) -> Vec<(K, Pid, V)> {
        self.table.with_all(|it| {
            it.filter(|(k, e)| matches(k, e.process.pid(), &e.value))
                .map(|(k, e)| (k.clone(), e.process.pid(), e.value.clone()))
                .collect()
        })
    }

    /// How many entries [`Registry::select`] would return (Elixir's `count_select`).
    pub fn count_select(&self, matches: impl Fn(&K, Pid, &V) -> bool) -> usize {
        self.table.with_all(|it| {
            it.filter(|(k, e)| matches(k, e.process.pid(), &e.value))
                .count()
        })
    }

    /// The keys `pid` holds (Elixir's `keys/2`).
    pub fn keys(&self, pid: Pid) -> Vec<K> {
        self.table.keys_of(pid)
    }

    /// `pid`'s values under `key` (Elixir's `values/3`).
    pub fn values(&self, key: &K, pid: Pid) -> Vec<V> {
        self.table.with_key(key, |it| {
            it.filter(|e| e.process.pid() == pid)
                .map(|e| e.value.clone())
                .collect()
        })
    }

    /// Change the calling process's value under a unique `key` (Elixir's `update_value`):
    /// `Some((new, old))`, or `None` if it does not hold the key or the keys are duplicate.
    pub fn update_value(&self, key: &K, f: impl FnOnce(&V) -> V) -> Option<(V, V)> {
        let me = current::self_pid()?;
        if self.table.kind != Keys::Unique {
            return None;
        }
        self.table.update(me, key, f)
    }

    /// The typed handle of the process holding a unique `key`, if it was started with
    /// [`SpawnOpts::via`] and is an `S`.
    pub fn whereis_key<S: GenServer>(&self, key: &K) -> Option<ServerRef<S>> {
        self.table
            .with_key(key, |it| it.next().and_then(|e| e.process.downcast::<S>()))
    }

    /// Wait until the registry process has handled every exit queued before this call, so
    /// that [`Registry::keys`] no longer lists an exited process's keys.
    pub async fn sync(&self) -> Result<(), crate::CallError> {
        self.server.call(()).await.map(|_| ())
    }
}

impl SpawnOpts {
    /// Register the new process under `key` in a unique-keys `registry` with `value`, before
    /// its `init` runs (Elixir's `{:via, Registry, {registry, key, value}}`). Start fails with
    /// `AlreadyStarted` if a live process holds the key, and with `InvalidSpec` for a
    /// duplicate-keys registry. Reach it with [`Registry::whereis_key`].
    pub fn via<K, V>(mut self, registry: &Registry<K, V>, key: K, value: V) -> Self
    where
        K: Key,
        V: Value,
    {
        let registry = registry.clone();
        self.claim = Some(Claim::new(move |process| {
            if registry.table.kind != Keys::Unique {
                return Err(StartError::InvalidSpec(
                    "via names need a registry with unique keys".into(),
                ));
            }
            if !registry.server.is_alive() {
                return Err(StartError::InvalidSpec(
                    RegisterError::NotRunning.to_string(),
                ));
            }
            registry
                .table
                .insert(process.clone(), key.clone(), value.clone())
                .map_err(|Refused::Taken(holder)| StartError::AlreadyStarted(holder))
        }));
        self
    }
}
