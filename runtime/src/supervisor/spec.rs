//! Child specs and supervisor specs.

use crate::spawn::SpawnOpts;
use crate::{GenServer, Name, ProcessRef, Runtime, StartError};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Which children a supervisor restarts when one exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Only the child that exited.
    OneForOne,
    /// All children: the others are stopped in reverse start order, then all restarted in order.
    OneForAll,
    /// The child that exited and those started after it.
    RestForOne,
}

impl Strategy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Strategy::OneForOne => "one_for_one",
            Strategy::OneForAll => "one_for_all",
            Strategy::RestForOne => "rest_for_one",
        }
    }
}

/// When a child is restarted (OTP's `restart`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Always.
    Permanent,
    /// Only after an abnormal exit (not after `normal` or `shutdown`).
    Transient,
    /// Never; the child is forgotten when it exits.
    Temporary,
}

impl Restart {
    /// Whether a child with this restart type should be restarted after `reason`.
    pub fn applies(self, reason: &crate::ExitReason) -> bool {
        match self {
            Restart::Permanent => true,
            Restart::Transient => reason.is_abnormal(),
            Restart::Temporary => false,
        }
    }
}

/// How a child is stopped (OTP's `shutdown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// Killed at once: no `terminate`.
    Brutal,
    /// Asked to stop (its `terminate` runs; a child trapping exits gets the shutdown as
    /// [`crate::Info::Exit`] and may pick its own exit reason), then killed if still alive after
    /// this long.
    Timeout(Duration),
    /// Asked to stop as for `Timeout`, waiting as long as it takes (the default for
    /// supervisors).
    Infinity,
}

/// Worker or supervisor; decides the default shutdown and shows in counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildKind {
    /// A process doing work.
    Worker,
    /// A supervisor of its own subtree.
    Supervisor,
}

/// What the supervisor hands a start function.
pub struct StartArgs {
    pub(crate) rt: Runtime,
    pub(crate) opts: SpawnOpts,
    pub(crate) extra: Option<Arc<dyn Any + Send + Sync>>,
}

impl StartArgs {
    /// The runtime to start in.
    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    /// Options that place the child in the tree (parent, link, slot, name); pass them on.
    pub fn opts(&self) -> SpawnOpts {
        self.opts.clone()
    }
}

type StartFuture = Pin<Box<dyn Future<Output = Result<ProcessRef, StartError>> + Send>>;
/// A start function: called for the first start and for every restart.
pub type StartFn = Arc<dyn Fn(StartArgs) -> StartFuture + Send + Sync>;

/// How to start, restart and stop one child (OTP's child spec).
#[derive(Clone)]
pub struct ChildSpec {
    pub(crate) id: String,
    pub(crate) start: StartFn,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) kind: ChildKind,
    pub(crate) name: Option<Name>,
    pub(crate) mailbox: crate::Mailbox,
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .finish()
    }
}

/// The default shutdown timeout for workers, as in OTP.
pub const DEFAULT_WORKER_SHUTDOWN: Duration = Duration::from_secs(5);

impl ChildSpec {
    /// A `GenServer` worker started with a clone of `args` each time (permanent, 5 s shutdown).
    pub fn worker<S: GenServer>(id: impl Into<String>, args: S::Args) -> Self
    where
        S::Args: Clone + Sync,
    {
        ChildSpec::from_fn::<S>(id, move |_| args.clone())
    }

    /// A worker whose start arguments are made by `make` for each (re)start. `make` receives the
    /// dynamic supervisor's extra arguments, if any.
    pub fn from_fn<S: GenServer>(
        id: impl Into<String>,
        make: impl Fn(Option<&(dyn Any + Send + Sync)>) -> S::Args + Send + Sync + 'static,
    ) -> Self {
        let make = Arc::new(make);
        ChildSpec::custom(id, ChildKind::Worker, move |args: StartArgs| {
            let make = make.clone();
            Box::pin(async move {
                let a = make(args.extra.as_deref());
                args.rt
                    .start_with::<S>(a, args.opts)
                    .await
                    .map(|s| s.process())
            })
        })
    }

    /// A worker taking the dynamic supervisor's extra argument of type `E` (Elixir's
    /// `extra_arguments`): `make` builds the child's args from it.
    pub fn with_extra<S: GenServer, E: Any + Send + Sync>(
        id: impl Into<String>,
        make: impl Fn(&E) -> S::Args + Send + Sync + 'static,
    ) -> Self {
        ChildSpec::from_fn::<S>(id, move |extra| {
            let e = extra
                .and_then(|e| e.downcast_ref::<E>())
                .expect("the supervisor's extra arguments have the type the child spec expects");
            make(e)
        })
    }

    /// A nested supervisor (permanent, waits for its subtree to shut down).
    pub fn supervisor(id: impl Into<String>, spec: super::SupervisorSpec) -> Self {
        ChildSpec::custom(id, ChildKind::Supervisor, move |args: StartArgs| {
            let spec = spec.clone();
            Box::pin(async move {
                super::Supervisor::start_with(&args.rt, spec, args.opts)
                    .await
                    .map(|s| s.process())
            })
        })
    }

    /// A child with a start function of your own. It must start exactly one process using
    /// [`StartArgs::opts`] so that it is linked to and parented by the supervisor.
    pub fn custom<F>(id: impl Into<String>, kind: ChildKind, start: F) -> Self
    where
        F: Fn(StartArgs) -> StartFuture + Send + Sync + 'static,
    {
        ChildSpec {
            id: id.into(),
            start: Arc::new(start),
            restart: Restart::Permanent,
            shutdown: match kind {
                ChildKind::Worker => Shutdown::Timeout(DEFAULT_WORKER_SHUTDOWN),
                ChildKind::Supervisor => Shutdown::Infinity,
            },
            kind,
            name: None,
            mailbox: crate::Mailbox::Unbounded,
        }
    }

    /// The restart type (default permanent).
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// The shutdown policy (default 5 s for workers, infinity for supervisors).
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Register every incarnation under this name, so callers reach the current one.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The child's mailbox (workers started by [`ChildSpec::worker`] and friends).
    pub fn mailbox(mut self, mailbox: crate::Mailbox) -> Self {
        self.mailbox = mailbox;
        self
    }

    /// The child id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Check the spec on its own.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.id.trim().is_empty() {
            return Err("a child id must not be empty".into());
        }
        if let Shutdown::Timeout(t) = self.shutdown
            && t.is_zero()
        {
            return Err(format!(
                "child {:?}: a shutdown timeout of 0 is not allowed; use Shutdown::Brutal",
                self.id
            ));
        }
        Ok(())
    }
}

/// A supervisor's configuration: strategy, restart intensity and children in start order.
#[derive(Clone, Debug)]
pub struct SupervisorSpec {
    pub(crate) strategy: Strategy,
    pub(crate) max_restarts: u32,
    pub(crate) period: Duration,
    pub(crate) children: Vec<ChildSpec>,
    pub(crate) name: Option<Name>,
}

impl SupervisorSpec {
    /// A supervisor with Elixir's default intensity: at most 3 restarts in 5 seconds.
    pub fn new(strategy: Strategy) -> Self {
        SupervisorSpec {
            strategy,
            max_restarts: 3,
            period: Duration::from_secs(5),
            children: Vec::new(),
            name: None,
        }
    }

    /// At most `max_restarts` restarts within `period`; one more and the supervisor stops all
    /// children and exits with reason `shutdown`, escalating to its own supervisor.
    pub fn intensity(mut self, max_restarts: u32, period: Duration) -> Self {
        self.max_restarts = max_restarts;
        self.period = period;
        self
    }

    /// Add a child; children start in the order added and stop in reverse.
    pub fn child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    /// Register the supervisor under a name.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        validate_period(self.period)?;
        let mut seen = std::collections::HashSet::new();
        for c in &self.children {
            c.validate()?;
            if !seen.insert(c.id.as_str()) {
                return Err(format!("duplicate child id {:?}", c.id));
            }
        }
        Ok(())
    }
}

/// The check both supervisors make of their restart intensity (OTP's `invalid_period`): a
/// window of zero could never hold a restart, so "at most N restarts in 0 s" means nothing.
pub(crate) fn validate_period(period: Duration) -> Result<(), String> {
    if period.is_zero() {
        return Err("the restart intensity period must be longer than 0".into());
    }
    Ok(())
}
