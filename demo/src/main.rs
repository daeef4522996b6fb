//! `demo`: see the crate docs (`demo/src/lib.rs`) and `demo --help`.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    demo::cli::run(demo::cli::Args::parse()).await
}
