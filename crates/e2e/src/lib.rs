//! End-to-end flows that span both binaries against testdc; the tests live in `tests/`.
//! This crate has no code of its own: it exists so the receiver and sender never depend on
//! each other, even in tests.
