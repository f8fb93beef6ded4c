//! End-to-end tests of the sender: the real HTTP server, the real grammers client and testdc.
#![allow(clippy::unwrap_used, missing_docs)]

mod helpers;

mod auth;
mod config;
mod faults;
mod messages;
mod validation;
