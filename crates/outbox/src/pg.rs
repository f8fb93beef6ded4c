//! The outbox on Postgres: one account's outbox in the cluster's database, for when several
//! gateway instances share accounts (`cluster`) and another instance may take one over.
//!
//! - Tables: the SQLite schema's own steps (`schema::STEPS`, [`schema::for_postgres`]: `BIGINT`
//!   for `INTEGER`, a replaceable view) in the account's schema `outbox_<account id>`
//!   ([`cluster::account_schema`]); the connection's `search_path` makes the statements'
//!   unqualified names that schema's ([`cluster::Cluster::store_pool`]). The schema version is
//!   the `meta` row `schema_version` (SQLite's `PRAGMA user_version`).
//! - Fencing: every write transaction first checks, with [`Fence::check`], that this instance
//!   still holds the account's lease, which also keeps the lease row locked (`FOR SHARE`)
//!   until the commit, so a takeover waits for a write in progress and every write after it
//!   fails with [`OutboxError::Fenced`], before anything was written. Reads are not fenced.
//! - Write lock: every write transaction then increments the `meta` row `data_version`, which
//!   locks that row until the commit. Writers of one outbox therefore take turns, as
//!   `BEGIN IMMEDIATE` makes them on SQLite (`insert_all` reads `next_update_id` and relies on
//!   it), and the counter is what a long poll watches instead of `PRAGMA data_version`.
//! - One connection, detached from the store's pool (dropping it needs no runtime), used one
//!   statement at a time like the SQLite one; replaced after an I/O error, and after a dropped
//!   future left a transaction open on it (closing it ends the transaction and frees the lease
//!   row; the server closes it after [`IDLE_IN_TRANSACTION`] if it is not used again).

use std::collections::HashMap;
use std::sync::Arc;

use cluster::Fence;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres};

use super::value::{Param, Result, Row, int};
use super::{OutboxError, schema};

/// The query a long poll reads ([`super::Outbox::data_version`]).
pub(super) const DATA_VERSION: &str = "SELECT value FROM meta WHERE key = 'data_version'";

/// The first statement after the lease check in every write transaction: the write lock.
const BUMP: &str = "UPDATE meta SET value = value + 1 WHERE key = 'data_version'";

/// First key of the advisory lock that lets one opener at a time create an outbox's tables
/// (`'outb'`); the second is the schema's hash. Two-key locks do not collide with sqlx's
/// one-key migration lock.
const MIGRATE_LOCK: i32 = 0x6f75_7462;

/// Set on each connection: a transaction left idle this long is ended by the server, which
/// closes the connection. Only a future dropped halfway through a transaction leaves one idle
/// (the outbox's transactions run their statements back to back); `Db::settle` ends it at the
/// connection's next use, this when there is none, so the lease row it holds cannot keep a
/// takeover waiting for long.
const IDLE_IN_TRANSACTION: &str = "SET idle_in_transaction_session_timeout = '5s'";

/// Maps a sqlx error to [`OutboxError::Postgres`] naming the operation.
pub(super) fn pg(op: &'static str) -> impl FnOnce(sqlx::Error) -> OutboxError {
    move |source| OutboxError::Postgres { op, source }
}

/// `text` with SQLite's numbered parameters (`?1`) as Postgres writes them (`$1`). The
/// outbox's statements have no `?` anywhere else.
pub(super) fn placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// One account's outbox connection on Postgres.
pub(super) struct Pg {
    pool: PgPool,
    conn: Option<PgConnection>,
    fence: Fence,
    /// Each statement's Postgres text, translated once.
    texts: HashMap<&'static str, Arc<str>>,
}

impl Pg {
    /// Connects through `pool` (the account's store pool) and creates or migrates the tables,
    /// in one transaction fenced by `fence`.
    ///
    /// Errors: [`OutboxError::Fenced`], [`OutboxError::Postgres`], [`OutboxError::Corrupt`]
    /// when the schema is newer than this code's.
    pub(super) async fn open(pool: PgPool, fence: Fence) -> Result<Self> {
        let mut pg = Self {
            pool,
            conn: None,
            fence,
            texts: HashMap::new(),
        };
        pg.simple("migrate", "BEGIN").await?;
        let migrated = pg.migrate().await;
        match migrated {
            Ok(()) => pg.simple("migrate", "COMMIT").await?,
            Err(e) => {
                pg.rollback().await;
                return Err(e);
            }
        }
        Ok(pg)
    }

    /// Brings the tables to [`schema::SCHEMA_VERSION`] (inside `open`'s transaction).
    async fn migrate(&mut self) -> Result<()> {
        let op = "migrate";
        self.check_fence(op).await?;
        let lock =
            format!("SELECT pg_advisory_xact_lock({MIGRATE_LOCK}, hashtext(current_schema()))");
        self.raw(op, lock).await?;
        let tables = self
            .all(
                op,
                "SELECT COUNT(*) FROM pg_tables
                 WHERE schemaname = current_schema() AND tablename = 'meta'",
                [],
                |r| int(r, 0),
            )
            .await?;
        let version = if tables.first().is_some_and(|&n| n > 0) {
            let stored = self
                .all(
                    op,
                    "SELECT value FROM meta WHERE key = 'schema_version'",
                    [],
                    |r| int(r, 0),
                )
                .await?;
            stored.first().copied().unwrap_or(0)
        } else {
            0
        };
        if version == schema::SCHEMA_VERSION {
            return Ok(());
        }
        if version > schema::SCHEMA_VERSION {
            return Err(schema::newer(version));
        }
        for (step, text) in (1..).zip(schema::STEPS) {
            if step <= version {
                continue;
            }
            self.raw(op, schema::for_postgres(text)).await?;
            if step == 1 {
                let first = schema::first_update_id();
                self.execute(op, schema::FIRST_ID, [first.into()]).await?;
                self.execute(
                    op,
                    "INSERT INTO meta (key, value) VALUES ('data_version', 0)
                     ON CONFLICT DO NOTHING",
                    [],
                )
                .await?;
            }
        }
        self.execute(
            op,
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [schema::SCHEMA_VERSION.into()],
        )
        .await?;
        Ok(())
    }

    /// The connection, opened when there is none.
    async fn conn(&mut self, op: &'static str) -> Result<&mut PgConnection> {
        connection(&mut self.conn, &self.pool, op).await
    }

    /// Drops the connection (the server ends its transaction); the next statement opens
    /// another.
    pub(super) fn discard(&mut self) {
        self.conn = None;
    }

    /// `error` as [`OutboxError::Postgres`]; the connection is dropped when the error says it
    /// is unusable.
    fn failed(&mut self, op: &'static str, error: sqlx::Error) -> OutboxError {
        if matches!(
            error,
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_)
        ) {
            self.discard();
        }
        pg(op)(error)
    }

    /// The statement `text` with `params` bound.
    fn query<'p>(
        &mut self,
        text: &'static str,
        params: impl IntoIterator<Item = Param<'p>>,
    ) -> Query<'static, Postgres, PgArguments> {
        let sql = self
            .texts
            .entry(text)
            .or_insert_with(|| placeholders(text).into())
            .clone();
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for param in params {
            query = match param {
                Param::Int(v) => query.bind(v),
                Param::Text(v) => query.bind(v.as_deref()),
            };
        }
        query
    }

    pub(super) async fn execute<'p>(
        &mut self,
        op: &'static str,
        text: &'static str,
        params: impl IntoIterator<Item = Param<'p>>,
    ) -> Result<u64> {
        let query = self.query(text, params);
        let done = query.execute(self.conn(op).await?).await;
        done.map(|d| d.rows_affected())
            .map_err(|e| self.failed(op, e))
    }

    pub(super) async fn all<'p, T>(
        &mut self,
        op: &'static str,
        text: &'static str,
        params: impl IntoIterator<Item = Param<'p>>,
        mut map: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let query = self.query(text, params);
        let rows = query.fetch_all(self.conn(op).await?).await;
        let rows = rows.map_err(|e| self.failed(op, e))?;
        rows.iter().map(|r| map(&Row::Pg(r))).collect()
    }

    /// A parameterless statement (or several) outside the statement cache.
    async fn raw(&mut self, op: &'static str, text: String) -> Result<()> {
        let done = sqlx::raw_sql(AssertSqlSafe(text))
            .execute(self.conn(op).await?)
            .await;
        done.map(drop).map_err(|e| self.failed(op, e))
    }

    /// `BEGIN`, `COMMIT`, `ROLLBACK`.
    async fn simple(&mut self, op: &'static str, text: &'static str) -> Result<()> {
        let done = sqlx::raw_sql(text).execute(self.conn(op).await?).await;
        done.map(drop).map_err(|e| self.failed(op, e))
    }

    /// [`OutboxError::Fenced`] unless this instance still holds the lease (checked inside the
    /// open transaction, which then keeps the lease row locked).
    async fn check_fence(&mut self, op: &'static str) -> Result<()> {
        let conn = connection(&mut self.conn, &self.pool, op).await?;
        match self.fence.check(conn).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(OutboxError::Fenced {
                account: self.fence.account.clone(),
            }),
            Err(e) => Err(self.failed(op, e)),
        }
    }

    /// Begins a write transaction: the lease check, then the write lock (see the module
    /// docs). On an error the caller rolls back.
    pub(super) async fn begin_write(&mut self, op: &'static str) -> Result<()> {
        self.simple(op, "BEGIN").await?;
        self.check_fence(op).await?;
        self.execute(op, BUMP, []).await?;
        Ok(())
    }

    pub(super) async fn commit(&mut self, op: &'static str) -> Result<()> {
        self.simple(op, "COMMIT").await
    }

    /// Rolls back; when even that fails, drops the connection (which ends the transaction).
    pub(super) async fn rollback(&mut self) {
        // No connection: dropping it (after an I/O error) ended the transaction.
        if self.conn.is_some() && self.simple("rollback", "ROLLBACK").await.is_err() {
            self.discard();
        }
    }

    /// Whether a connection is there and the lease is still this instance's.
    pub(super) async fn writable(&mut self) -> bool {
        if self.simple("writable", "BEGIN").await.is_err() {
            return false;
        }
        let held = self.check_fence("writable").await.is_ok();
        self.rollback().await;
        held
    }
}

/// The connection in `slot`, opened from `pool` when there is none (taken out of the pool
/// for good: see the module docs).
async fn connection<'c>(
    slot: &'c mut Option<PgConnection>,
    pool: &PgPool,
    op: &'static str,
) -> Result<&'c mut PgConnection> {
    let conn = match slot.take() {
        Some(conn) => conn,
        None => {
            let mut conn = pool.acquire().await.map_err(pg(op))?.detach();
            sqlx::raw_sql(IDLE_IN_TRANSACTION)
                .execute(&mut conn)
                .await
                .map_err(pg(op))?;
            conn
        }
    };
    Ok(slot.insert(conn))
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn numbered_parameters_become_dollars_and_nothing_else_changes() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND (?12 IS NULL OR c = ?2) AND d = '?'"),
            "SELECT a FROM t WHERE b = $1 AND ($12 IS NULL OR c = $2) AND d = '?'"
        );
    }
}
