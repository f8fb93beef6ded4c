//! Integration tests of the receiver against the real stack: testdc (MTProto on loopback), a
//! webhook sink, and the receiver in-process or as a child process.
#![allow(clippy::unwrap_used, missing_docs)]

mod chats;
mod helpers;
mod private;
mod resilience;
mod two_processes;
