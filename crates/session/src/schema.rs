//! Connection settings and the versioned schema (`PRAGMA user_version`) of the session file.

use std::time::Duration;

use libsql::Connection;

/// The schema version this crate writes, stored in `PRAGMA user_version`.
///
/// Bump it and add a migration step in `schema.rs` whenever a table changes; files with a higher
/// version are rejected with [`crate::SessionError::UnsupportedSchema`].
pub const SCHEMA_VERSION: i64 = 1;

/// How long SQLite itself waits for another process's lock before returning `SQLITE_BUSY`.
///
/// grammers' `SqliteSession` sets none, so any overlap with the other process fails at once.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// Version 1: one row tables use a `CHECK (id = 0)` key so an upsert replaces the single row.
///
/// `peer.peer_id` is the Bot API dialog id (users positive, chats negative, channels -100…),
/// which keeps the three peer kinds apart in one table. `bot`, `is_self` and `channel_kind`
/// are nullable so "unknown" (`None`) survives a round trip, unlike grammers' packed subtype.
const V1: &str = "
CREATE TABLE IF NOT EXISTS home_dc (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    dc_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dc_option (
    dc_id INTEGER PRIMARY KEY,
    ipv4 TEXT NOT NULL,
    ipv6 TEXT NOT NULL,
    auth_key BLOB
);
CREATE TABLE IF NOT EXISTS peer (
    peer_id INTEGER PRIMARY KEY,
    access_hash INTEGER,
    bot INTEGER,
    is_self INTEGER,
    channel_kind INTEGER
);
CREATE INDEX IF NOT EXISTS peer_self ON peer (is_self) WHERE is_self = 1;
CREATE TABLE IF NOT EXISTS update_state (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    pts INTEGER NOT NULL,
    qts INTEGER NOT NULL,
    date INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS channel_state (
    channel_id INTEGER PRIMARY KEY,
    pts INTEGER NOT NULL
);
";

/// Applies the per-connection settings that make two processes share one file.
///
/// WAL lets the reader process keep reading while the other writes; `synchronous=NORMAL` is
/// durable across application crashes in WAL mode and avoids an fsync per commit.
/// Errors: any SQLite error, including `SQLITE_BUSY` while switching the journal mode (the
/// caller retries).
pub(crate) async fn configure(conn: &Connection) -> libsql::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode = pragma(conn, "PRAGMA journal_mode = WAL").await?;
    if mode.as_deref() != Some("wal") {
        tracing::warn!(?mode, "session database is not in WAL mode");
    }
    pragma(conn, "PRAGMA synchronous = NORMAL").await?;
    Ok(())
}

/// Brings the schema to [`SCHEMA_VERSION`] inside one `BEGIN IMMEDIATE` transaction, so two
/// processes opening a fresh file at once create the tables exactly once.
///
/// Returns the version found before migrating.
pub(crate) async fn migrate(conn: &Connection) -> libsql::Result<i64> {
    conn.execute("BEGIN IMMEDIATE", ()).await?;
    let found = user_version(conn).await?;
    if found < SCHEMA_VERSION {
        conn.execute_batch(V1).await?;
        // PRAGMA takes no bound parameters; the value is a constant, not input.
        conn.execute(&format!("PRAGMA user_version = {SCHEMA_VERSION}"), ())
            .await?;
    }
    conn.execute("COMMIT", ()).await?;
    Ok(found)
}

async fn user_version(conn: &Connection) -> libsql::Result<i64> {
    let mut rows = conn.query("PRAGMA user_version", ()).await?;
    match rows.next().await? {
        Some(row) => match row.get_value(0)? {
            libsql::Value::Integer(v) => Ok(v),
            _ => Ok(0),
        },
        None => Ok(0),
    }
}

/// Runs a PRAGMA through `query` (libsql's `execute` rejects statements that return a row with
/// `ExecuteReturnedRows`) and returns the first column of the first row as text, if any.
async fn pragma(conn: &Connection, sql: &str) -> libsql::Result<Option<String>> {
    let mut rows = conn.query(sql, ()).await?;
    let first = match rows.next().await? {
        Some(row) => match row.get_value(0)? {
            libsql::Value::Text(text) => Some(text),
            other => Some(format!("{other:?}")),
        },
        None => None,
    };
    while rows.next().await?.is_some() {}
    Ok(first)
}
