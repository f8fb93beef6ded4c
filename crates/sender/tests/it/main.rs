//! End-to-end tests of the sender: the real HTTP server, the real grammers client and testdc.
#![allow(clippy::unwrap_used, missing_docs)]

mod helpers;
mod media_helpers;

mod account;
mod album;
mod auth;
mod bot_routes;
mod bot_session;
mod clients;
mod clients_teloxide;
mod compat;
mod config;
mod content;
mod docs;
mod encodings;
mod envelope;
mod faults;
mod files;
mod first_run;
mod forwarding;
mod history;
mod login;
mod manage;
mod media;
mod media_kinds;
mod messages;
mod nats;
mod observability;
mod schemathesis;
mod secrets;
mod slowloris;
mod spec;
mod validation;
