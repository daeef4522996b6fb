//! Tests of `Task` and `Task.Supervisor`, translated from Elixir's `task_test.exs` and
//! `task/supervisor_test.exs` (test names follow theirs).

mod support;

mod awaiting;
mod many;
mod shutdown;
mod stream;
mod supervised;
mod wait_edges;
