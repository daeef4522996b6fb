//! `Agent`: a process around a value, for state that needs no protocol of its own (Elixir's
//! `Agent`). Built on `GenServer`, so an agent shows in the observer like any process.

use crate::spawn::SpawnOpts;
use crate::{
    CallError, CallReply, Ctx, GenServer, InitError, Next, Runtime, ServerRef, StartError,
    StateSize,
};
use std::any::Any;
use std::time::Duration;

type Op<T> = Box<dyn FnOnce(&mut T) -> Box<dyn Any + Send> + Send>;

/// The process behind an [`Agent`].
pub struct AgentServer<T: Send + 'static> {
    value: T,
}

impl<T: Send + 'static> GenServer for AgentServer<T> {
    type Args = T;
    type Call = Op<T>;
    type Reply = Box<dyn Any + Send>;
    type Cast = Box<dyn FnOnce(&mut T) + Send>;
    type Info = ();

    async fn init(value: T, _ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        Ok(AgentServer { value })
    }

    async fn handle_call(&mut self, op: Op<T>, _ctx: &mut Ctx<Self>) -> CallReply<Self::Reply> {
        CallReply::reply(op(&mut self.value))
    }

    async fn handle_cast(&mut self, op: Self::Cast, _ctx: &mut Ctx<Self>) -> Next {
        op(&mut self.value);
        Next::noreply()
    }

    fn state_size(&self) -> StateSize {
        StateSize::shallow(std::mem::size_of::<T>())
    }
}

/// A handle to an agent holding a `T`.
pub struct Agent<T: Send + 'static> {
    server: ServerRef<AgentServer<T>>,
}

impl<T: Send + 'static> Clone for Agent<T> {
    fn clone(&self) -> Self {
        Agent {
            server: self.server.clone(),
        }
    }
}

impl<T: Send + 'static> Agent<T> {
    /// Start an agent holding `value`.
    pub async fn start(rt: &Runtime, value: T) -> Result<Self, StartError> {
        Agent::start_with(rt, value, SpawnOpts::new()).await
    }

    /// Start an agent with options (a name, say).
    pub async fn start_with(rt: &Runtime, value: T, opts: SpawnOpts) -> Result<Self, StartError> {
        let server = rt
            .start_with::<AgentServer<T>>(value, opts.kind(beamline_wire::ProcessKind::Agent))
            .await?;
        Ok(Agent { server })
    }

    /// The underlying server handle (for pid, links, monitors, stats).
    pub fn server(&self) -> &ServerRef<AgentServer<T>> {
        &self.server
    }

    /// Read something out of the value.
    pub async fn get<R: Send + 'static>(
        &self,
        f: impl FnOnce(&T) -> R + Send + 'static,
    ) -> Result<R, CallError> {
        self.get_and_update(move |v| (f(v), None)).await
    }

    /// Change the value and wait until it is done.
    pub async fn update(&self, f: impl FnOnce(&mut T) + Send + 'static) -> Result<(), CallError> {
        self.call(move |v| f(v), crate::DEFAULT_CALL_TIMEOUT).await
    }

    /// Change the value without waiting.
    pub async fn cast(&self, f: impl FnOnce(&mut T) + Send + 'static) {
        let _ = self.server.cast(Box::new(f)).await;
    }

    /// Read and replace in one step: `f` returns the answer and, optionally, a new value.
    pub async fn get_and_update<R: Send + 'static>(
        &self,
        f: impl FnOnce(&T) -> (R, Option<T>) + Send + 'static,
    ) -> Result<R, CallError> {
        self.call(
            move |v| {
                let (r, new) = f(v);
                if let Some(new) = new {
                    *v = new;
                }
                r
            },
            crate::DEFAULT_CALL_TIMEOUT,
        )
        .await
    }

    async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut T) -> R + Send + 'static,
        timeout: Duration,
    ) -> Result<R, CallError> {
        let op: Op<T> = Box::new(move |v| Box::new(f(v)));
        let reply = self.server.call_timeout(op, timeout).await?;
        Ok(*reply
            .downcast::<R>()
            .expect("an agent's reply has the type its closure returned"))
    }
}
