//! Integration tests of the receiver against the real stack: testdc (MTProto on loopback), a
//! webhook sink, and the receiver in-process or as a child process.
#![allow(clippy::unwrap_used, missing_docs)]

mod backpressure;
mod bot_api_spec;
mod callbacks;
mod chats;
mod cli;
mod delivery;
mod first_run;
mod golden;
mod handlers;
mod helpers;
mod kinds;
mod media;
mod media_faults;
mod media_limits;
mod media_order;
mod media_server;
mod nats;
mod operations;
mod private;
mod resilience;
mod restart;
mod secrets;
mod sink;
mod slowloris;
mod stale_state;
mod telethon;
mod two_processes;
