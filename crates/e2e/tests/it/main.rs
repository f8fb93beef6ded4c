//! The end-to-end tests, one binary: flows spanning both binaries against testdc (`accounts`:
//! many accounts in one deployment, `voice_reply`,
//! `big_file`, `updates`: getUpdates and the runtime webhook, `polling`: six client libraries'
//! own polling loops), and the docs checks (`docs`: the README's configuration table, `.env.example`
//! and every crate's DEPS.md; `readme`: the README's shell blocks run as written).
#![allow(clippy::unwrap_used)]

mod accounts;
mod big_file;
mod cluster;
mod common;
mod docs;
mod polling;
mod readme;
mod updates;
mod voice_reply;
