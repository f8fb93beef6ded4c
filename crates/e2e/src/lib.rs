//! End-to-end flows that span both binaries against testdc, and the one-command demo.
//!
//! The library is the demo ([`demo`]): testdc, the receiver, the sender and a webhook consumer
//! in one process. The `demo` example runs it; `tests/it/readme.rs` starts it to run the README's
//! shell blocks. The flows themselves live in `tests/`. This crate exists so the receiver and
//! the sender never depend on each other, even in tests and demos.

pub mod demo;
