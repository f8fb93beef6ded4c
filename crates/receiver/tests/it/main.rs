//! Integration tests of the receiver against the real stack: testdc (MTProto on loopback), a
//! webhook sink, and the receiver in-process or as a child process.
#![allow(clippy::unwrap_used, missing_docs)]

mod chats;
mod helpers;
mod media;
mod media_limits;
mod media_order;
mod media_server;
mod private;
mod resilience;
mod sink;
mod two_processes;
