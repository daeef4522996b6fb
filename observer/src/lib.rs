//! Beamline's observer: a terminal UI (and a JSON printer) for a running Beamline runtime.
//!
//! Data flows one way: a [`source`] yields wire messages; the [`model`] folds them into moments
//! and history and runs [`diagnosis`]; the [`state`] holds what the user is looking at and turns
//! [`input`] actions into effects; [`view`] draws `&State`. [`app`] is the loop tying them
//! together; [`headless`] prints [`json`] instead of drawing; [`cli`] picks a mode.
//!
//! - [`source`]: attach (TCP/Unix, reconnecting), replay, embedded, and recording.
//! - [`model`]: moments shared between live and paused display, bounded history.
//! - [`diagnosis`]: alerts computed from the model each sample.
//! - [`state`]: views, selection, sort, filter, pause; effects out, replies in.
//! - [`input`]: keys and mouse to actions, pure.
//! - [`view`]: one file per screen, plus header, overlays and formatting.
//! - [`theme`]: colours, or none.
//!
//! Embedding in an application built on `beamline` (feature `runtime`; the demo does this):
//!
//! ```ignore
//! beamline_observer::watch(&runtime, beamline_observer::Options::default()).await?;
//! ```
//! Without the feature, anything implementing [`Feed`] can be shown with [`run_embedded`].

pub mod app;
pub mod cli;
pub mod diagnosis;
#[cfg(feature = "runtime")]
pub mod embed;
pub mod fixture;
pub mod headless;
pub mod input;
pub mod json;
pub mod model;
pub mod source;
pub mod state;
pub mod theme;
pub mod view;

pub use app::Options;
pub use diagnosis::{Alert, AlertKind, Severity, Thresholds};
#[cfg(feature = "runtime")]
pub use embed::watch;
pub use source::{ChannelFeed, EmbeddedSource, Feed, Source};

/// Run the TUI over a runtime in the same process until the user quits.
///
/// `feed` is the runtime's observation subscription (see [`Feed`]); with `opts.record` set,
/// everything received is also saved as a recording.
pub async fn run_embedded<F: Feed>(feed: F, opts: Options) -> std::io::Result<()> {
    let src = EmbeddedSource::spawn(feed);
    match opts.record.clone() {
        Some(path) => {
            let rec = source::Recorded::create(src, &path).map_err(std::io::Error::other)?;
            app::run(rec, opts).await
        }
        None => app::run(src, opts).await,
    }
}
