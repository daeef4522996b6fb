//! Test servers shared by the modules.

use beamline::{CallReply, Ctx, ExitReason, GenServer, Info, InitError, Next, ReplyTo, ServerRef};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a probe saw, in order: callbacks and messages.
pub type Log = Arc<Mutex<Vec<String>>>;

pub fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

pub fn seen(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// A server that does what its messages say, recording callbacks in a log.
pub struct Probe {
    pub log: Log,
    pub held: Vec<ReplyTo<Reply>>,
    pub state: Vec<u8>,
}

pub enum Call {
    Echo(u64),
    /// Sleep (on tokio's clock) then answer.
    Slow(Duration, u64),
    /// Call another probe from inside this one.
    Ask(ServerRef<Probe>),
    /// Call itself through its own handle.
    AskMyself,
    /// Keep the reply handle and answer on the next `Release` cast.
    Defer,
    Panic(String),
    Stop(ExitReason),
    Forget,
    Timeout(Duration),
}

#[derive(Debug, PartialEq)]
pub enum Reply {
    Num(u64),
    Err(beamline::CallError),
    Done,
}

#[derive(Debug, PartialEq)]
pub enum Cast {
    Push(String),
    Release(u64),
    Hibernate,
    Panic,
    Sleep(Duration),
}

pub struct Args {
    pub log: Log,
    pub init: InitMode,
}

pub enum InitMode {
    Ok,
    Fail,
    Ignore,
    Panic,
    Timeout(Duration),
    /// Sleep this long (on tokio's clock) inside `init`.
    Slow(Duration),
}

impl Args {
    pub fn new(log: &Log) -> Self {
        Args {
            log: log.clone(),
            init: InitMode::Ok,
        }
    }
}

impl Probe {
    fn note(&self, s: impl Into<String>) {
        self.log.lock().unwrap().push(s.into());
    }
}

impl GenServer for Probe {
    type Args = Args;
    type Call = Call;
    type Reply = Reply;
    type Cast = Cast;
    type Info = String;

    const INSPECTABLE: bool = true;

    async fn init(args: Args, ctx: &mut Ctx<Self>) -> Result<Self, InitError> {
        args.log.lock().unwrap().push("init".into());
        match args.init {
            InitMode::Ok => {}
            InitMode::Fail => return Err(InitError::stop("no database")),
            InitMode::Ignore => return Err(InitError::Ignore),
            InitMode::Panic => panic!("init exploded"),
            InitMode::Timeout(d) => ctx.set_idle_timeout(d),
            InitMode::Slow(d) => tokio::time::sleep(d).await,
        }
        Ok(Probe {
            log: args.log,
            held: Vec::new(),
            state: Vec::new(),
        })
    }

    async fn handle_call(&mut self, msg: Call, ctx: &mut Ctx<Self>) -> CallReply<Reply> {
        match msg {
            Call::Echo(n) => CallReply::reply(Reply::Num(n)),
            Call::Slow(d, n) => {
                tokio::time::sleep(d).await;
                CallReply::reply(Reply::Num(n))
            }
            Call::Ask(other) => match other.call(Call::Echo(7)).await {
                Ok(r) => CallReply::reply(r),
                Err(e) => CallReply::reply(Reply::Err(e)),
            },
            Call::AskMyself => {
                let me = ctx.myself().clone();
                match me.call(Call::Echo(1)).await {
                    Ok(r) => CallReply::reply(r),
                    Err(e) => CallReply::reply(Reply::Err(e)),
                }
            }
            Call::Defer => {
                self.held.push(ctx.defer_reply());
                CallReply::noreply()
            }
            Call::Panic(m) => panic!("{m}"),
            Call::Stop(reason) => CallReply::stop(reason, Some(Reply::Done)),
            Call::Forget => CallReply::noreply(),
            Call::Timeout(d) => CallReply::reply(Reply::Done).with_timeout(d),
        }
    }

    async fn handle_cast(&mut self, msg: Cast, _ctx: &mut Ctx<Self>) -> Next {
        match msg {
            Cast::Push(s) => {
                self.note(format!("cast {s}"));
                Next::noreply()
            }
            Cast::Release(n) => {
                for r in self.held.drain(..) {
                    let _ = r.reply(Reply::Num(n));
                }
                Next::noreply()
            }
            Cast::Hibernate => Next::hibernate(),
            Cast::Panic => panic!("cast exploded"),
            Cast::Sleep(d) => {
                tokio::time::sleep(d).await;
                Next::noreply()
            }
        }
    }

    async fn handle_info(&mut self, msg: Info<String>, _ctx: &mut Ctx<Self>) -> Next {
        match msg {
            Info::Msg(s) => self.note(format!("info {s}")),
            Info::Timeout => self.note("timeout"),
            Info::Down(d) => self.note(format!("down {} {}", d.pid, d.reason)),
            Info::Exit { from, reason } => self.note(format!("exit {from} {reason}")),
        }
        Next::noreply()
    }

    async fn terminate(&mut self, reason: &ExitReason, _ctx: &mut Ctx<Self>) {
        self.note(format!("terminate {reason}"));
    }

    fn hibernate(&mut self) {
        self.state = Vec::new();
        self.note("hibernate");
    }

    fn state_size(&self) -> beamline::StateSize {
        beamline::StateSize::deep(std::mem::size_of::<Self>() + self.state.capacity())
    }

    fn inspect(&self) -> String {
        format!("Probe {{ state: {} bytes }}", self.state.len())
    }
}

/// Let every spawned task run until all are waiting. The clock is paused in these tests and
/// tokio only advances it when nothing is runnable, so when this returns every process has
/// finished what it could do.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}
