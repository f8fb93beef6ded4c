//! Integration tests for `session::SessionStore`: round trips through the file and two processes
//! sharing one file.

// Tests may unwrap (STYLE.md: "never `unwrap()` outside tests"); a failure is the assertion.
#![allow(clippy::unwrap_used)]

mod peers;
mod round_trip;
mod telethon;
mod two_processes;
