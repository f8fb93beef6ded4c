//! [`SessionError`]: every way a [`crate::SessionStore`] operation can fail.

use std::path::PathBuf;

/// Why a session-store operation failed.
///
/// Unlike grammers' `SqliteSession`, which `unwrap()`s inside `cache_peers`, every failure of the
/// store surfaces here so the caller (usually grammers' sender pool) can log it and carry on.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Creating the session file, its parent directory, or setting its permissions failed.
    #[error("failed to prepare session file {path}")]
    Io {
        /// The file or directory being created.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database stayed locked by another process after every retry (SQLite's busy timeout
    /// inside each attempt, plus a bounded number of backoff rounds between attempts).
    #[error("session database stayed locked during {op} after {attempts} attempts")]
    Busy {
        /// The store operation that gave up, e.g. `"cache_peers"`.
        op: &'static str,
        /// How many times the operation was tried.
        attempts: u32,
        /// The last `SQLITE_BUSY`/`SQLITE_LOCKED` error seen.
        #[source]
        source: libsql::Error,
    },
    /// SQLite reported an error other than contention.
    #[error("session database error during {op}")]
    Sql {
        /// The store operation that failed, e.g. `"open"`.
        op: &'static str,
        /// The libsql error.
        #[source]
        source: libsql::Error,
    },
    /// A stored value could not be decoded (wrong column type, bad address, auth key not 256 bytes).
    #[error("session database holds an invalid value: {0}")]
    Corrupt(String),
    /// The file was written by a newer version of this crate (`PRAGMA user_version` is higher
    /// than [`crate::SCHEMA_VERSION`]); refusing to guess at its layout.
    #[error("session schema version {found} is newer than the supported version {supported}")]
    UnsupportedSchema {
        /// The `user_version` found in the file.
        found: i64,
        /// The newest version this crate understands.
        supported: i64,
    },
    /// A session file is neither the gateway's nor Telethon's (not SQLite, unreadable, or
    /// another schema); it was not changed.
    #[error("{path} is not a gateway or Telethon session file: {reason}")]
    NotASession {
        /// The file.
        path: PathBuf,
        /// What was found instead (never file contents).
        reason: String,
    },
    /// A Telethon session cannot be imported (no login, or a value of the wrong type).
    #[error("cannot import the Telethon session: {0}")]
    Telethon(String),
    /// A Telethon `StringSession` cannot be parsed; the reason never quotes the string.
    #[error("invalid Telethon StringSession: {0}")]
    InvalidStringSession(&'static str),
    /// An import would replace an existing session file.
    #[error("{path} already exists")]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The shared database of several instances (Postgres, crate `cluster`) failed.
    #[error("shared session database error during {op}")]
    Remote {
        /// The store operation that failed, e.g. `"cache_peers"`.
        op: &'static str,
        /// The database client's error (it never holds the connection password).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// This instance no longer holds the account's lease (expired or taken over), so the
    /// session write was refused: another instance owns the account now.
    #[error(
        "the lease on account {account} (fencing token {fence}) is no longer held; session write refused"
    )]
    Fenced {
        /// The account's name.
        account: String,
        /// The fencing token the refused writer held.
        fence: i64,
    },
    /// The in-memory DC cache lock was poisoned by a panicking thread.
    #[error("session cache lock is poisoned")]
    Poisoned,
}
