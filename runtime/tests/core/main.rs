//! Tests of the runtime core: one test binary, one module per area of the runtime-core issue.

mod support;

mod agent_task;
mod calls;
mod casts;
mod lifecycle;
mod links_monitors;
mod mailboxes;
mod names;
mod stats;
mod stops;
mod timers;
