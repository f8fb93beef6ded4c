//! The outbox file: creation (mode 0600), pragmas, the integrity check and the schema
//! (versioned by `PRAGMA user_version`). The schema's steps ([`STEPS`]) are Postgres's too
//! ([`for_postgres`]; `pg` runs them).

use std::path::Path;
use std::time::Duration;

use libsql::{Connection, Value};

use super::value::sql;
use super::{OutboxError, Status};

/// The schema version this code writes.
pub(super) const SCHEMA_VERSION: i64 = 3;

/// Version 1, its statuses written as `{name}` ([`Status::in_sql`]).
const V1: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS updates (
    id INTEGER PRIMARY KEY,
    webhook_id TEXT NOT NULL UNIQUE,
    natural_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    downloads TEXT,
    received_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_at INTEGER,
    done_at INTEGER,
    archived INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS updates_open ON updates (status, chat_id, id);
-- Only open rows, by lane: the scheduler's per-chat heads are index seeks, not scans.
CREATE INDEX IF NOT EXISTS updates_open_lanes ON updates (chat_id, id) WHERE status IN ({open});
-- /status and the pending gauge: counts and the oldest open row without reading row bodies.
CREATE INDEX IF NOT EXISTS updates_open_ids ON updates (id) WHERE status IN ({open});
CREATE INDEX IF NOT EXISTS updates_dead ON updates (id) WHERE status = {dead};
CREATE INDEX IF NOT EXISTS updates_errors ON updates (last_attempt_at) WHERE last_error IS NOT NULL;
CREATE INDEX IF NOT EXISTS updates_unarchived ON updates (archived) WHERE archived = 0;
CREATE VIEW IF NOT EXISTS dead_letter AS
    SELECT id AS update_id, webhook_id, kind, chat_id, body, received_at, attempts,
           last_error, last_attempt_at, done_at AS died_at
    FROM updates WHERE status = {dead};
";

/// Creates the parent directory and, when missing, the file with mode 0600 (it holds
/// customers' messages).
pub(super) async fn prepare_file(path: &Path) -> Result<(), OutboxError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OutboxError::Io { path, source }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(io(parent))?;
    }
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    match options.open(path).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}

/// WAL, a busy timeout and `synchronous=NORMAL` (no fsync per commit; see `Outbox::open`).
pub(super) async fn configure(conn: &Connection) -> Result<(), OutboxError> {
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(sql("configure"))?;
    pragma(conn, "PRAGMA journal_mode = WAL").await?;
    pragma(conn, "PRAGMA synchronous = NORMAL").await?;
    Ok(())
}

/// `PRAGMA quick_check` must answer `ok`, and the schema must not be newer than ours.
pub(super) async fn check(conn: &Connection) -> Result<(), OutboxError> {
    let verdict = pragma(conn, "PRAGMA quick_check").await?;
    if verdict.as_deref() != Some("ok") {
        return Err(OutboxError::Corrupt(format!(
            "integrity check failed: {}",
            verdict.unwrap_or_default()
        )));
    }
    let version = user_version(conn).await?;
    if version > SCHEMA_VERSION {
        return Err(newer(version));
    }
    Ok(())
}

/// Version 2: the Bot API `Update` of rows whose `body` is in another format (`NULL` when
/// `body` is the Bot API `Update` itself), so `getUpdates` and a webhook set with
/// `setWebhook` can serve every row whatever `WEBHOOK_FORMAT` is.
/// Open rows of version 1 get `''`: their `Update` is unknown (their body may be legacy).
const V2: &str = "ALTER TABLE updates ADD COLUMN update_json TEXT;
UPDATE updates SET update_json = '' WHERE status IN ({open});";

/// Schema version 3: the `sink` table (the queue of the second target, see `sink`; its states
/// are `SinkState`'s numbers).
const V3: &str = "
CREATE TABLE IF NOT EXISTS sink (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    state INTEGER NOT NULL,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS sink_open_lanes ON sink (chat_id, id) WHERE state IN (0, 1);
CREATE INDEX IF NOT EXISTS sink_dead ON sink (id) WHERE state = 2;
";

/// The steps from one version to the next: `STEPS[n - 1]` brings version `n - 1` to `n`.
/// Statuses are written as `{name}` ([`Status::in_sql`]); after step 1, [`FIRST_ID`] stores
/// the first `update_id`.
pub(super) const STEPS: [&str; SCHEMA_VERSION as usize] = [V1, V2, V3];

/// Stores the first `update_id` ([`first_update_id`]) when none is stored.
pub(super) const FIRST_ID: &str =
    "INSERT INTO meta (key, value) VALUES ('next_update_id', ?1) ON CONFLICT DO NOTHING";

/// As the Bot API does: ids start at a random positive number and then increase.
pub(super) fn first_update_id() -> i64 {
    rand::random_range(1..1_000_000_000)
}

/// A step's text as Postgres runs it: statuses filled in, `BIGINT` for SQLite's `INTEGER`
/// (SQLite's integers are 64-bit), and the view replaced rather than skipped when present
/// (Postgres has no `CREATE VIEW IF NOT EXISTS`).
pub(super) fn for_postgres(step: &str) -> String {
    Status::in_sql(step)
        .replace("INTEGER", "BIGINT")
        .replace("CREATE VIEW IF NOT EXISTS", "CREATE OR REPLACE VIEW")
}

/// The error for an outbox whose schema `version` is newer than this code's.
pub(super) fn newer(version: i64) -> OutboxError {
    OutboxError::Corrupt(format!(
        "schema version {version} is newer than the supported {SCHEMA_VERSION}"
    ))
}

/// Brings the schema to [`SCHEMA_VERSION`] in one transaction: version 1's tables and the
/// random first `update_id`, then version 2's column, then version 3's `sink` table
/// ([`STEPS`]). The version is read again inside the transaction, so the receiver and the
/// sender opening a new file at once migrate it once.
pub(super) async fn migrate(conn: &Connection) -> Result<(), OutboxError> {
    let version = user_version(conn).await?;
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    let body = async {
        conn.execute("BEGIN IMMEDIATE", ()).await?;
        let from = match pragma_value(conn, "PRAGMA user_version").await {
            Ok(Some(Value::Integer(v))) => v,
            _ => 0,
        };
        for (step, text) in (1..).zip(STEPS) {
            if step <= from {
                continue;
            }
            conn.execute_batch(&Status::in_sql(text)).await?;
            if step == 1 {
                conn.execute(FIRST_ID, [first_update_id()]).await?;
            }
        }
        conn.execute(&format!("PRAGMA user_version = {SCHEMA_VERSION}"), ())
            .await?;
        conn.execute("COMMIT", ()).await?;
        Ok::<_, libsql::Error>(())
    };
    let result = body.await;
    if result.is_err() && !conn.is_autocommit() {
        let _ = conn.execute("ROLLBACK", ()).await;
    }
    result.map_err(sql("migrate"))
}

async fn user_version(conn: &Connection) -> Result<i64, OutboxError> {
    let value = pragma_value(conn, "PRAGMA user_version").await?;
    Ok(match value {
        Some(Value::Integer(v)) => v,
        _ => 0,
    })
}

async fn pragma(conn: &Connection, statement: &'static str) -> Result<Option<String>, OutboxError> {
    Ok(match pragma_value(conn, statement).await? {
        Some(Value::Text(text)) => Some(text),
        Some(other) => Some(format!("{other:?}")),
        None => None,
    })
}

/// The first column of the first row of a PRAGMA (run through `query`: libsql's `execute`
/// rejects statements that return rows).
async fn pragma_value(
    conn: &Connection,
    statement: &'static str,
) -> Result<Option<Value>, OutboxError> {
    let mut rows = conn.query(statement, ()).await.map_err(sql(statement))?;
    let first = match rows.next().await.map_err(sql(statement))? {
        Some(row) => Some(row.get_value(0).map_err(sql(statement))?),
        None => None,
    };
    while rows.next().await.map_err(sql(statement))?.is_some() {}
    Ok(first)
}
