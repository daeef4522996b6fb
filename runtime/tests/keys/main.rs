//! Tests of the key/value `Registry`, translated from Elixir's `registry_test.exs`,
//! `registry/unique_test.exs` and `registry/duplicate_test.exs` (test names follow theirs).

mod support;

mod common;
mod duplicate;
mod observed;
mod unique;
