//! Errors a caller can match on.

use crate::{ExitReason, ProcessRef};
use std::time::Duration;

/// Why a `call` did not produce a reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No reply within the timeout. A reply that arrives later is discarded, never seen by a
    /// later call.
    #[error("call timed out after {0:?}")]
    Timeout(Duration),
    /// The target was not alive when the call was made (or the name is not registered).
    #[error("no such process")]
    NoProcess,
    /// A process called itself: it would wait for a reply that only it can give (OTP's
    /// `calling_self`). Returned at once instead of hanging.
    #[error("a process called itself; use cast or a plain function instead")]
    CallingSelf,
    /// The target exited while the call was pending.
    #[error("the process exited during the call: {0}")]
    Exited(ExitReason),
    /// The target's bounded mailbox was full (policy `Reject` or `DropNewest`) and the call was
    /// not queued.
    #[error("the process's mailbox is full")]
    MailboxFull,
    /// The target dropped the reply handle without replying.
    #[error("the process dropped the call without replying")]
    NoReply,
}

/// Why a cast was not accepted. Casts to dead processes are not errors (as in OTP); they are
/// counted as dead letters.
#[derive(PartialEq, Eq, thiserror::Error)]
pub enum CastError<M> {
    /// The bounded mailbox was full under the `Reject` policy (or `try_cast` under `Wait`);
    /// the message is handed back.
    #[error("mailbox full")]
    Full(M),
}

/// Shown without the message, so any message type can be unwrapped.
impl<M> std::fmt::Debug for CastError<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CastError::Full(_) => f.write_str("Full(..)"),
        }
    }
}

impl<M> CastError<M> {
    /// The message that was not delivered.
    pub fn into_inner(self) -> M {
        match self {
            CastError::Full(m) => m,
        }
    }
}

/// Why a process could not be started.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StartError {
    /// The name is taken; carries the process that holds it.
    #[error("already started as {}", .0.pid())]
    AlreadyStarted(ProcessRef),
    /// `init` returned an error (or panicked); `terminate` was not called.
    #[error("init failed: {0}")]
    InitFailed(ExitReason),
    /// `init` asked to be ignored; no process remains.
    #[error("init returned ignore")]
    Ignored,
    /// A supervisor spec was rejected before anything started.
    #[error("invalid supervisor spec: {0}")]
    InvalidSpec(String),
    /// The runtime is shutting down.
    #[error("the runtime is shutting down")]
    ShuttingDown,
}
