//! Beamline's observer: a terminal UI (and a JSON printer) for a running Beamline runtime.
//!
//! Data flows one way: a [`source`] yields wire messages; the [`model`] folds them into moments
//! and history and runs its diagnosis; the [`state`] holds what the user is looking at and turns
//! [`input`] actions into effects; [`view`] draws `&State`. [`app`] is the loop tying them
//! together; [`headless`] prints [`json`] instead of drawing; [`cli`] picks a mode.
//!
//! Imports point down this list and never back up:
//!
//! - [`app`], [`headless`], [`cli`], `embed` (feature `runtime`): the loops and modes.
//! - [`view`]: one file per screen, plus header, overlays, shared cells and formatting.
//! - [`state`]: in parts (navigation, query, playback, fetches, rows); effects out, replies in.
//! - [`input`]: keys and mouse to actions, pure.
//! - [`layout`]: where things go on screen, shared by the views and the state's click handling.
//! - [`theme`]: colours, or none.
//! - [`model`]: moments shared between live and paused display, bounded history, mailbox
//!   pressure and the diagnosis (one file per detector).
//! - [`source`]: attach (TCP/Unix, reconnecting), replay, embedded, and recording.
//! - [`vocab`]: the small types everyone names (views, columns, filter, confirmation);
//!   [`type_names`]: the names of samples' hot types, one numbering for the whole observer.
//!
//! Embedding in an application built on `beamline` (feature `runtime`; the demo does this):
//!
//! ```ignore
//! beamline_observer::watch(&runtime, beamline_observer::Options::default()).await?;
//! ```
//! Without the feature, anything implementing [`Feed`] can be shown with [`run_embedded`].

pub mod app;
pub mod cli;
#[cfg(feature = "runtime")]
pub mod embed;
pub mod fixture;
pub mod headless;
pub mod input;
pub mod json;
pub mod layout;
pub mod model;
pub mod source;
pub mod state;
pub mod theme;
pub mod trace_json;
pub mod type_names;
pub mod view;
pub mod vocab;

pub use app::{Options, run_embedded};
#[cfg(feature = "runtime")]
pub use embed::watch;
pub use model::diagnosis::{Alert, AlertKind, Severity, Thresholds};
pub use source::{ChannelFeed, EmbeddedSource, Feed, Source};
