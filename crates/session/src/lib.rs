//! A grammers session store that two processes can share: [`SessionStore`].
//!
//! The `receiver` and the `sender` run as separate processes on one Telegram account, so they
//! share one session file. grammers' own `SqliteSession` fails there ("database is locked": no
//! busy timeout, no WAL, unwraps in `cache_peers`); this crate implements
//! [`grammers_session::Session`] over the same libsql SQLite with WAL, a busy timeout,
//! `BEGIN IMMEDIATE` writes and bounded retries.
//!
//! Modules:
//! - `store`: [`SessionStore`], the `Session` impl, file creation (mode 0600) and the DC cache.
//! - `seed`: [`SessionSeed`], pre-authorising a session against a loopback test DC.
//! - `resolve`: [`resolve`], which file a configured name opens; a Telethon session found there
//!   is imported into [`gateway_path`] beside it and never written ([`install`]).
//! - `inspect`: telling our schema from Telethon's without writing to the file.
//! - `telethon`: [`TelethonSession`], read from a Telethon SQLite file or `StringSession`.
//! - `sql`: the statements and row <-> grammers type conversion (never panics on bad rows).
//! - `schema`: connection pragmas and the schema, versioned by `PRAGMA user_version`.
//! - `retry`: retrying an operation while SQLite reports `SQLITE_BUSY`/`SQLITE_LOCKED`.
//! - `columns`: [`PeerColumns`], a cached peer as columns (shared with the Postgres store in
//!   crate `cluster`).
//! - `known`: [`KnownPeers`], the peers a store answers from memory (shared with the Postgres
//!   store).
//! - `error`: [`SessionError`].
//!
//! Deliberately absent: an in-memory peer cache (every `peer()` reads the file so the other
//! process's peers are visible at once) and refreshing the home DC/DC options written by the
//! other process after open.

mod columns;
mod error;
mod inspect;
mod known;
mod resolve;
mod retry;
mod schema;
mod seed;
mod sql;
mod store;
mod telethon;

pub use columns::PeerColumns;
pub use error::SessionError;
pub use known::KnownPeers;
pub use resolve::{
    ImportSummary, Resolved, SessionSource, gateway_path, import_target, install, resolve,
};
pub use schema::SCHEMA_VERSION;
pub use seed::SessionSeed;
pub use store::SessionStore;
pub use telethon::TelethonSession;
