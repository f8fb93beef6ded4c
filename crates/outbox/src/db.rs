//! The outbox's one connection, on SQLite (libsql) or on Postgres (sqlx, see `pg`), behind one
//! interface, so every query in `queries`, `polling` and `sink` is written once:
//! - statements are SQLite text with `?N` parameters, `'static` (a literal, or built once by
//!   [`sql!`]); Postgres runs them with `$N` ([`pg::placeholders`], translated once per
//!   statement);
//! - parameters and rows are `value`'s, common to both.
//!
//! Every statement is compiled once and reused. On SQLite this cache is ours: parsing SQL was
//! a quarter of the receiver's CPU under load (`sqlite3RunParser` in the bench's profile),
//! because libsql's `Connection::execute`/`query` prepare anew on every call. On Postgres it
//! is sqlx's per-connection statement cache.
//!
//! Writes: [`Db::transaction`] (`BEGIN IMMEDIATE` on SQLite) and [`Db::write`] (autocommit
//! on SQLite). On Postgres both are one transaction that first checks the account's lease
//! ([`cluster::Fence::check`]); see `pg`.

use std::collections::HashMap;

use libsql::params::Params;
use libsql::{Connection, Statement, Value};

use super::OutboxError;
use super::pg::{self, Pg};
use super::value::{Param, Result, Row, int, sql};

/// The connection: SQLite or Postgres.
pub(super) struct Db {
    backend: Backend,
    /// A transaction was begun and not yet ended. Still set when [`Outbox::db`] takes the
    /// connection, it is one whose future was dropped halfway: [`Db::settle`] ends it.
    ///
    /// [`Outbox::db`]: super::Outbox::db
    open_tx: bool,
}

enum Backend {
    Lite(Lite),
    Pg(Box<Pg>),
}

/// The SQLite connection with its statement cache (keyed by the SQL text, which is always
/// `'static`, so the cache holds a fixed, small set).
struct Lite {
    conn: Connection,
    statements: HashMap<&'static str, Statement>,
    _db: libsql::Database,
}

impl Lite {
    /// The prepared statement for `text`, reset and ready to bind.
    async fn statement(&mut self, op: &'static str, text: &'static str) -> Result<&Statement> {
        if !self.statements.contains_key(text) {
            let statement = self.conn.prepare(text).await.map_err(sql(op))?;
            self.statements.insert(text, statement);
        }
        let statement = &self.statements[text];
        statement.reset();
        Ok(statement)
    }

    async fn execute<'p>(
        &mut self,
        op: &'static str,
        text: &'static str,
        params: impl IntoIterator<Item = Param<'p>>,
    ) -> Result<u64> {
        let params = lite_params(params);
        let statement = self.statement(op, text).await?;
        let changed = statement.execute(params).await.map_err(sql(op));
        statement.reset();
        Ok(changed? as u64)
    }

    async fn all<'p, T>(
        &mut self,
        op: &'static str,
        text: &'static str,
        params: impl IntoIterator<Item = Param<'p>>,
        mut map: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let params = lite_params(params);
        let statement = self.statement(op, text).await?;
        let mut rows = statement.query(params).await.map_err(sql(op))?;
        let mut out = Vec::new();
        let result = loop {
            match rows.next().await {
                Ok(Some(row)) => match map(&Row::Lite(&row)) {
                    Ok(value) => out.push(value),
                    Err(e) => break Err(e),
                },
                Ok(None) => break Ok(out),
                Err(e) => break Err(sql(op)(e)),
            }
        };
        drop(rows);
        statement.reset();
        result
    }
}

/// `params` as libsql binds them, in one allocation.
fn lite_params<'p>(params: impl IntoIterator<Item = Param<'p>>) -> Params {
    let values: Vec<Value> = params.into_iter().map(Param::into_libsql).collect();
    if values.is_empty() {
        Params::None
    } else {
        Params::Positional(values)
    }
}

impl Db {
    /// The SQLite connection `conn` of `db` (already configured and migrated).
    pub(super) fn sqlite(db: libsql::Database, conn: Connection) -> Self {
        Self {
            backend: Backend::Lite(Lite {
                conn,
                statements: HashMap::new(),
                _db: db,
            }),
            open_tx: false,
        }
    }

    /// The Postgres connection of an opened (migrated) outbox.
    pub(super) fn postgres(pg: Pg) -> Self {
        Self {
            backend: Backend::Pg(Box::new(pg)),
            open_tx: false,
        }
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    ///
    /// On Postgres only inside [`Db::transaction`] or [`Db::write`], which check the lease.
    pub(super) async fn execute<'p>(
        &mut self,
        op: &'static str,
        text: &'static str,
        params: impl IntoIterator<Item = Param<'p>>,
    ) -> Result<u64> {
        match &mut self.backend {
            Backend::Lite(lite) => lite.execute(op, text, params).await,
            Backend::Pg(pg) => {
                debug_assert!(self.open_tx, "an unfenced write on Postgres: {text}");
                pg.execute(op, text, params).await
            }
        }
    }

    /// Runs a query and maps every row.
    pub(super) async fn all<'p, T>(
        &mut self,
        op: &'static str,
        text: &'static str,
        params: impl IntoIterator<Item = Param<'p>>,
        map: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match &mut self.backend {
            Backend::Lite(lite) => lite.all(op, text, params, map).await,
            Backend::Pg(pg) => pg.all(op, text, params, map).await,
        }
    }

    /// Runs `body` in one transaction, rolling back on error: `BEGIN IMMEDIATE` on SQLite (it
    /// waits for other writers up to the busy timeout); on Postgres a transaction that first
    /// checks the lease ([`OutboxError::Fenced`] when another instance holds it) and then
    /// takes the outbox's write lock (`pg`).
    pub(super) async fn transaction<T>(
        &mut self,
        op: &'static str,
        body: impl AsyncFnOnce(&mut Db) -> Result<T>,
    ) -> Result<T> {
        self.open_tx = true;
        let began = match &mut self.backend {
            Backend::Lite(lite) => lite.execute(op, "BEGIN IMMEDIATE", []).await.map(drop),
            Backend::Pg(pg) => pg.begin_write(op).await,
        };
        let result = match began {
            Ok(()) => match body(self).await {
                Ok(value) => self.commit(op).await.map(|()| value),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if result.is_err() {
            self.rollback().await;
        }
        result
    }

    /// Runs `body`, whose statements write: on SQLite each in its own autocommit (as a
    /// single statement needs nothing more), on Postgres as [`Db::transaction`] does, so the
    /// lease is checked first.
    pub(super) async fn write<T>(
        &mut self,
        op: &'static str,
        body: impl AsyncFnOnce(&mut Db) -> Result<T>,
    ) -> Result<T> {
        match self.backend {
            Backend::Lite(_) => body(self).await,
            Backend::Pg(_) => self.transaction(op, body).await,
        }
    }

    async fn commit(&mut self, op: &'static str) -> Result<()> {
        match &mut self.backend {
            Backend::Lite(lite) => lite.execute(op, "COMMIT", []).await.map(drop)?,
            Backend::Pg(pg) => pg.commit(op).await?,
        }
        self.open_tx = false;
        Ok(())
    }

    async fn rollback(&mut self) {
        match &mut self.backend {
            // Fails only when there is nothing to roll back.
            Backend::Lite(lite) => drop(lite.execute("rollback", "ROLLBACK", []).await),
            Backend::Pg(pg) => pg.rollback().await,
        }
        self.open_tx = false;
    }

    /// Ends a transaction a dropped future left open (see [`Db::open_tx`]), so the next
    /// statement does not run inside it, and on Postgres the lease row is not held.
    pub(super) async fn settle(&mut self) {
        if self.open_tx {
            match &mut self.backend {
                Backend::Lite(_) => self.rollback().await,
                Backend::Pg(pg) => {
                    // Its last statement may still be running: a new connection is simpler.
                    pg.discard();
                    self.open_tx = false;
                }
            }
        }
    }

    /// Whether a write transaction can be taken now: on SQLite the write lock, on Postgres a
    /// connection and the lease.
    pub(super) async fn writable(&mut self) -> bool {
        self.open_tx = true;
        let ok = match &mut self.backend {
            Backend::Lite(lite) => {
                let ok = lite
                    .execute("writable", "BEGIN IMMEDIATE", [])
                    .await
                    .is_ok();
                let _ = lite.execute("writable", "ROLLBACK", []).await;
                ok
            }
            Backend::Pg(pg) => pg.writable().await,
        };
        self.open_tx = false;
        ok
    }

    /// A number that changes when a write is committed: SQLite's `PRAGMA data_version`
    /// (commits of other connections to the file), or on Postgres the counter every write
    /// transaction increments (this connection's commits too).
    pub(super) async fn data_version(&mut self) -> Result<i64> {
        let text = match self.backend {
            Backend::Lite(_) => "PRAGMA data_version",
            Backend::Pg(_) => pg::DATA_VERSION,
        };
        self.all("data_version", text, [], |r| int(r, 0))
            .await?
            .first()
            .copied()
            .ok_or_else(|| OutboxError::Corrupt("the data version is missing".into()))
    }
}
