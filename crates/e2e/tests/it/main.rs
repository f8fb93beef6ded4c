//! The end-to-end tests, one binary: flows spanning both binaries against testdc (`voice_reply`,
//! `big_file`), and the docs checks (`docs`: the README's configuration table, `.env.example`
//! and every crate's DEPS.md; `readme`: the README's shell blocks run as written).
#![allow(clippy::unwrap_used)]

mod big_file;
mod common;
mod docs;
mod readme;
mod voice_reply;
