//! The observer from the outside: its binary against a fake runtime endpoint, in a pipe and in a
//! pseudo-terminal.

mod support;

mod cli;
mod json;
mod pty;
mod sources;
mod stale;
