//! Panics inside callbacks: caught per callback so they end only their process, and kept out of
//! stderr (where they would tear an embedded observer's screen) in favour of a tracing event
//! and the exit reason.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

thread_local! {
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

pin_project_lite::pin_project! {
    /// A callback's future, polled so that a panic inside it becomes `Err(message)`.
    ///
    /// A struct rather than an `async fn`: it adds nothing to the size of the callback's future,
    /// which is stored in every process's task (an `async fn` wrapper kept the future twice).
    pub(crate) struct Guarded<F> {
        #[pin]
        fut: F,
    }
}

/// Poll `fut` to completion, turning a panic into `Err(message)`.
pub(crate) fn guarded<F: Future>(fut: F) -> Guarded<F> {
    Guarded { fut }
}

impl<F: Future> Future for Guarded<F> {
    type Output = Result<F::Output, String>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.project().fut;
        let was = IN_CALLBACK.replace(true);
        let polled = catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
        IN_CALLBACK.set(was);
        match polled {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => {
                pended();
                Poll::Pending
            }
            Err(payload) => Poll::Ready(Err(message(payload))),
        }
    }
}

/// A callback awaits: its process may time the message it handles from here (only the
/// `Pending` path pays; see `Stats::since_is_stale`).
#[cold]
#[inline(never)]
fn pended() {
    crate::current::with(|me| me.callback_pended());
}

/// The text of a panic payload.
pub(crate) fn message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Install (once per program) a panic hook that stays silent for panics inside process
/// callbacks (they become exit reasons and tracing events) and defers to the previous hook for
/// every other panic.
pub(crate) fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_CALLBACK.get() {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn panics_become_messages() {
        install_quiet_hook();
        assert_eq!(guarded(async { 7 }).await, Ok(7));
        let r = guarded(async {
            tokio::task::yield_now().await;
            panic!("boom {}", 1)
        })
        .await;
        assert_eq!(r, Err::<(), _>("boom 1".to_string()));
    }
}
