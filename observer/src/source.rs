//! Where samples come from: a live runtime over TCP or a Unix socket, several of them at once
//! (a fleet), a recording, or the runtime in the same process. The rest of the observer sees only [`Source`], so every mode shares one
//! model, one set of views and one headless printer.

pub mod attach;
pub mod dump;
pub mod embedded;
pub mod event;
pub mod fleet;
pub mod record;
pub mod replay;

pub use attach::{Addr, AttachSource};
pub use embedded::{ChannelFeed, EmbeddedSource, Feed};
pub use event::{ConnState, ControlFuture, Playback, Source, SourceEvent, Trouble};
pub use fleet::FleetSource;
pub use record::Recorded;
pub use replay::{ReplaySource, Speed};
