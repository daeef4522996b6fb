//! Why a process ended.

use std::fmt;

/// The reason a process exited, as in OTP.
///
/// `Normal`, `Shutdown` and `ShutdownWith` are the ordinary ends of a life: transient children
/// are not restarted after them and they are not logged as crashes. Everything else is
/// abnormal. As an exit signal (through a link or [`crate::ProcessRef::exit`]) only `Normal` is
/// ignored by a process that does not trap exits; any other reason, `Shutdown` included, ends
/// it, as in OTP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// The process chose to stop, with nothing wrong.
    Normal,
    /// It was asked to stop by its supervisor or the runtime.
    Shutdown,
    /// `{shutdown, term}`: an orderly stop with an explanation; not abnormal.
    ShutdownWith(String),
    /// Killed brutally: no `terminate`, no cleanup, cannot be trapped.
    Killed,
    /// A callback panicked; carries the panic message.
    Panic(String),
    /// The process (or its supervisor) stopped with an error of its own.
    Error(String),
    /// Used in down messages when the monitored process was already gone.
    NoProcess,
}

impl ExitReason {
    /// `true` for the reasons that make transient children restart (everything but `Normal`,
    /// `Shutdown` and `ShutdownWith`).
    pub fn is_abnormal(&self) -> bool {
        !matches!(
            self,
            ExitReason::Normal | ExitReason::Shutdown | ExitReason::ShutdownWith(_)
        )
    }

    /// An error reason from anything printable.
    pub fn error(e: impl fmt::Display) -> Self {
        ExitReason::Error(e.to_string())
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::ShutdownWith(why) => write!(f, "shutdown: {why}"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::Panic(msg) => write!(f, "panic: {msg}"),
            ExitReason::Error(msg) => write!(f, "error: {msg}"),
            ExitReason::NoProcess => f.write_str("noproc"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_normal_and_shutdown_are_ordinary() {
        assert!(!ExitReason::Normal.is_abnormal());
        assert!(!ExitReason::Shutdown.is_abnormal());
        assert!(!ExitReason::ShutdownWith("x".into()).is_abnormal());
        assert!(ExitReason::Killed.is_abnormal());
        assert!(ExitReason::Panic("boom".into()).is_abnormal());
        assert!(ExitReason::error("bad").is_abnormal());
        assert_eq!(ExitReason::Panic("boom".into()).to_string(), "panic: boom");
    }
}
