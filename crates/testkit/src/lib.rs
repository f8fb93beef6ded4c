//! Test support shared by the receiver's and the sender's integration tests: attacks and
//! process plumbing that are about HTTP and the OS, not about Telegram (that is `testdc`).
//!
//! Modules: [`stalled`] (slowloris connections, the open-file limit, a child's output lines),
//! [`botapi_spec`] (JSON the gateway emits checked against the Bot API spec), [`nats`] (a real
//! `nats-server` with JetStream on loopback, stopped and restarted for outages), [`postgres`] (a
//! real PostgreSQL server on loopback with a temporary data directory).
//! Only ever a dev-dependency.

pub mod botapi_spec;
pub mod nats;
pub mod postgres;
pub mod stalled;
