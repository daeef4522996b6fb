//! The `GenServer` behaviour: the callbacks a user writes, named as in OTP.

use crate::process::Down;
use crate::{Ctx, ExitReason};
use beamline_wire::Pid;
use std::future::Future;
use std::time::Duration;

/// A process that owns a state (`Self`) and handles messages one at a time.
///
/// Everything else talks to it through a [`crate::ServerRef`]: `call` (request and typed reply),
/// `cast` (fire and forget) and `send` (an info message). A panic in any callback ends this
/// process only, with an exit reason carrying the panic message, after `terminate` has run.
///
/// ```
/// use beamline::{CallReply, Ctx, GenServer, InitError, Next, Runtime};
///
/// struct Counter(u64);
///
/// enum Cmd { Get }
///
/// impl GenServer for Counter {
///     type Args = u64;
///     type Call = Cmd;
///     type Reply = u64;
///     type Cast = u64;
///     type Info = ();
///
///     async fn init(start: u64, _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
///         Ok(Counter(start))
///     }
///     async fn handle_call(&mut self, _msg: Cmd, _ctx: &mut Ctx<Self>) -> CallReply<u64> {
///         CallReply::reply(self.0)
///     }
///     async fn handle_cast(&mut self, by: u64, _ctx: &mut Ctx<Self>) -> Next {
///         self.0 += by;
///         Next::noreply()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rt = Runtime::new();
/// let counter = rt.start::<Counter>(1).await.unwrap();
/// counter.cast(41).await.unwrap();
/// assert_eq!(counter.call(Cmd::Get).await, Ok(42));
/// # }
/// ```
pub trait GenServer: Sized + Send + 'static {
    /// What `init` is started with.
    type Args: Send + 'static;
    /// Requests that expect a reply.
    type Call: Send + 'static;
    /// The reply to a call; checked at compile time.
    type Reply: Send + 'static;
    /// Fire-and-forget requests.
    type Cast: Send + 'static;
    /// Plain messages: timers and other processes' `send`s (use `()` if none).
    type Info: Send + 'static;

    /// Whether [`GenServer::inspect`] may be shown to observers. Off by default so that state
    /// (which may hold secrets) is never exposed unless the process opts in.
    const INSPECTABLE: bool = false;

    /// The names of the variants of `Call`, `Cast` and `Info`, in declaration order, for the
    /// observer's messages-by-type table (`Cmd::Deposit` rather than `Cmd#0`). Optional:
    /// without them variants are numbered (see `msg_types.rs`). strum's `VariantNames` derive
    /// gives such a list (`cast: Cmd::VARIANTS`).
    const MESSAGE_VARIANTS: crate::VariantNames = crate::VariantNames::NONE;

    /// Build the initial state. An error means the start fails and `terminate` is not called;
    /// [`InitError::Ignore`] means no process remains and start returns "ignored".
    fn init(
        args: Self::Args,
        ctx: &mut Ctx<Self>,
    ) -> impl Future<Output = Result<Self, InitError>> + Send;

    /// Handle a call. Return [`CallReply::reply`], or take the reply handle with
    /// [`Ctx::defer_reply`] and return [`CallReply::noreply`] to answer later.
    fn handle_call(
        &mut self,
        msg: Self::Call,
        ctx: &mut Ctx<Self>,
    ) -> impl Future<Output = CallReply<Self::Reply>> + Send {
        let _ = (msg, ctx);
        async {
            panic!(
                "{} received a call but does not implement handle_call",
                std::any::type_name::<Self>()
            )
        }
    }

    /// Handle a cast.
    fn handle_cast(
        &mut self,
        msg: Self::Cast,
        ctx: &mut Ctx<Self>,
    ) -> impl Future<Output = Next> + Send {
        let _ = (msg, ctx);
        async {
            panic!(
                "{} received a cast but does not implement handle_cast",
                std::any::type_name::<Self>()
            )
        }
    }

    /// Handle an info message: a plain send, a timer, an idle timeout, a monitor's down message
    /// or (when trapping exits) a linked process's exit. By default infos other than user
    /// messages are ignored; user messages panic, as an unexpected message would in OTP.
    fn handle_info(
        &mut self,
        msg: Info<Self::Info>,
        ctx: &mut Ctx<Self>,
    ) -> impl Future<Output = Next> + Send {
        let _ = ctx;
        async move {
            if let Info::Msg(_) = msg {
                panic!(
                    "{} received an info message but does not implement handle_info",
                    std::any::type_name::<Self>()
                )
            }
            Next::noreply()
        }
    }

    /// Clean up before exiting: runs on a normal stop, on a shutdown request from a supervisor
    /// or the runtime, and after a panic in a callback. Never after a brutal kill, nor when an
    /// init fails. Bounded by the stopper's shutdown timeout.
    fn terminate(
        &mut self,
        reason: &ExitReason,
        ctx: &mut Ctx<Self>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (reason, ctx);
        async {}
    }

    /// Called when a callback asks to hibernate: drop caches, shrink buffers. The process's
    /// stats count hibernations and show it as hibernating until the next message.
    fn hibernate(&mut self) {}

    /// The size of the state for the observer. Measured on the process's own task at most once
    /// per sampling interval, never per message. The default knows only the shallow size; use
    /// [`StateSize::deep`] (for instance with [`crate::get_size`]) to report heap memory too.
    fn state_size(&self) -> StateSize {
        StateSize::shallow(std::mem::size_of::<Self>())
    }

    /// A human-readable rendering of the state, shown in the observer's detail view when
    /// [`GenServer::INSPECTABLE`] is true. Truncated to 4 KiB by the runtime.
    fn inspect(&self) -> String {
        String::new()
    }

    /// OTP's `format_status/1`: the view of the process observers get. It receives what the
    /// runtime would show (the state as [`GenServer::inspect`] renders it) and returns what to
    /// show instead, e.g. with a password replaced by `"<redacted>"`. Runs on the process's own
    /// task, only for processes that set [`GenServer::INSPECTABLE`]; the default shows
    /// everything unchanged.
    fn format_status(&self, status: FormatStatus) -> FormatStatus {
        status
    }

    /// The text the observer shows for one of this server's messages, in a queue peek or a
    /// message trace (see [`crate::trace`]), or `None` (the default) to show only its type,
    /// size, age and peer. Implementing it is the opt-in (messages may carry secrets): return
    /// the `Debug` text, redacted as needed; whatever it returns is all that leaves the process.
    /// Called on other tasks (under the mailbox's lock for a peek, by the sender or receiver
    /// while traced), so keep it a quick formatting; cut to 256 bytes by the runtime.
    ///
    /// ```ignore
    /// fn format_message(msg: Message<'_, Self>) -> Option<String> {
    ///     Some(match msg {
    ///         Message::Call(Cmd::Login { user, .. }) => format!("Login {{ user: {user}, password: <redacted> }}"),
    ///         other => format!("{other:?}"),
    ///     })
    /// }
    /// ```
    fn format_message(msg: Message<'_, Self>) -> Option<String> {
        let _ = msg;
        None
    }
}

/// What [`GenServer::format_status`] may change, as the map given to OTP's `format_status/1`
/// (which also holds `message`, `reason`, `log` and `queue`; here queued messages are rendered
/// by [`GenServer::format_message`] instead, since the queue is read outside the process).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FormatStatus {
    /// The state's rendering: [`GenServer::inspect`]'s, unless changed.
    pub state: String,
}

/// One of a server's messages, as handed to [`GenServer::format_message`].
pub enum Message<'a, S: GenServer> {
    /// A request.
    Call(&'a S::Call),
    /// A cast.
    Cast(&'a S::Cast),
    /// An info message.
    Info(&'a S::Info),
    /// A reply it sends.
    Reply(&'a S::Reply),
}

impl<S: GenServer> std::fmt::Debug for Message<'_, S>
where
    S::Call: std::fmt::Debug,
    S::Cast: std::fmt::Debug,
    S::Info: std::fmt::Debug,
    S::Reply: std::fmt::Debug,
{
    /// The message itself, without the variant around it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Call(m) => m.fmt(f),
            Message::Cast(m) => m.fmt(f),
            Message::Info(m) => m.fmt(f),
            Message::Reply(m) => m.fmt(f),
        }
    }
}

/// Why `init` did not produce a state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitError {
    /// OTP's `:ignore`: start returns [`crate::StartError::Ignored`]; supervisors skip the child.
    Ignore,
    /// OTP's `{:stop, reason}`: start fails with this reason.
    Stop(ExitReason),
}

impl InitError {
    /// A stop with an error reason from anything printable.
    pub fn stop(e: impl std::fmt::Display) -> Self {
        InitError::Stop(ExitReason::error(e))
    }
}

/// A size in bytes and whether it includes heap memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateSize {
    /// Bytes.
    pub bytes: u64,
    /// `true` if heap memory owned by the state is included.
    pub deep: bool,
}

impl StateSize {
    /// Only the inline size is known.
    pub fn shallow(bytes: usize) -> Self {
        StateSize {
            bytes: bytes as u64,
            deep: false,
        }
    }

    /// Inline plus owned heap memory.
    pub fn deep(bytes: usize) -> Self {
        StateSize {
            bytes: bytes as u64,
            deep: true,
        }
    }

    /// The deep size of anything implementing `get_size2::GetSize` (derivable with
    /// `#[derive(GetSize)]`).
    pub fn of<T: get_size2::GetSize>(value: &T) -> Self {
        StateSize::deep(value.get_size())
    }
}

/// An info message, as delivered to [`GenServer::handle_info`].
#[derive(Debug)]
pub enum Info<M> {
    /// A plain message from `send`, `send_after` or `send_interval`.
    Msg(M),
    /// The idle timeout asked for by the previous callback expired with no message.
    Timeout,
    /// A monitored process went down.
    Down(Down),
    /// A linked process exited (only delivered while trapping exits).
    Exit {
        /// The linked process.
        from: Pid,
        /// Why it exited.
        reason: ExitReason,
    },
}

/// What a cast or info callback asks for next: OTP's `{:noreply, state, timeout | :hibernate}`
/// and `{:stop, reason, state}`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[must_use]
pub struct Next {
    pub(crate) stop: Option<ExitReason>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) hibernate: bool,
}

impl Next {
    /// Carry on waiting for messages.
    pub fn noreply() -> Self {
        Next::default()
    }

    /// Carry on, but deliver [`Info::Timeout`] if no message arrives within `after`.
    pub fn timeout(after: Duration) -> Self {
        Next {
            timeout: Some(after),
            ..Next::default()
        }
    }

    /// Carry on after calling [`GenServer::hibernate`].
    pub fn hibernate() -> Self {
        Next {
            hibernate: true,
            ..Next::default()
        }
    }

    /// Stop: `terminate` runs with this reason, then the process exits.
    pub fn stop(reason: ExitReason) -> Self {
        Next {
            stop: Some(reason),
            ..Next::default()
        }
    }
}

/// What a call callback answers: OTP's `{:reply, ..}`, `{:noreply, ..}` and `{:stop, ..}`.
#[derive(Debug)]
#[must_use]
pub struct CallReply<R> {
    pub(crate) reply: Option<R>,
    pub(crate) next: Next,
}

impl<R> CallReply<R> {
    /// Reply now.
    pub fn reply(value: R) -> Self {
        CallReply {
            reply: Some(value),
            next: Next::noreply(),
        }
    }

    /// Do not reply now: the handler took the reply handle with [`Ctx::defer_reply`] and will
    /// answer later. If it did not, the caller gets [`crate::CallError::NoReply`].
    pub fn noreply() -> Self {
        CallReply {
            reply: None,
            next: Next::noreply(),
        }
    }

    /// Stop after (optionally) replying.
    pub fn stop(reason: ExitReason, reply: Option<R>) -> Self {
        CallReply {
            reply,
            next: Next::stop(reason),
        }
    }

    /// Also ask for an idle timeout.
    pub fn with_timeout(mut self, after: Duration) -> Self {
        self.next.timeout = Some(after);
        self
    }

    /// Also hibernate after replying.
    pub fn with_hibernate(mut self) -> Self {
        self.next.hibernate = true;
        self
    }
}
