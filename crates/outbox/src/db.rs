//! The outbox's one connection and its prepared statements: every statement is compiled once
//! and reused. Parsing SQL was a quarter of the receiver's CPU under load (`sqlite3RunParser`
//! in the bench's profile), because libsql's `Connection::execute`/`query` prepare anew on
//! every call.

use std::collections::HashMap;

use libsql::params::IntoParams;
use libsql::{Connection, Row, Statement, Value};

use super::OutboxError;

pub(super) type Result<T> = std::result::Result<T, OutboxError>;

/// Maps a libsql error to [`OutboxError::Sql`] naming the operation.
pub(super) fn sql(op: &'static str) -> impl FnOnce(libsql::Error) -> OutboxError {
    move |source| OutboxError::Sql { op, source }
}

/// The connection with its statement cache (keyed by the SQL text, which is always a
/// `'static` literal, so the cache holds a fixed, small set).
pub(super) struct Db {
    conn: Connection,
    statements: HashMap<&'static str, Statement>,
}

impl Db {
    pub(super) fn new(conn: Connection) -> Self {
        Self {
            conn,
            statements: HashMap::new(),
        }
    }

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

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub(super) async fn execute(
        &mut self,
        op: &'static str,
        text: &'static str,
        params: impl IntoParams,
    ) -> Result<u64> {
        let statement = self.statement(op, text).await?;
        let changed = statement.execute(params).await.map_err(sql(op));
        statement.reset();
        Ok(changed? as u64)
    }

    /// Runs a query and maps every row.
    pub(super) async fn all<T>(
        &mut self,
        op: &'static str,
        text: &'static str,
        params: impl IntoParams,
        mut map: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let statement = self.statement(op, text).await?;
        let mut rows = statement.query(params).await.map_err(sql(op))?;
        let mut out = Vec::new();
        let result = loop {
            match rows.next().await {
                Ok(Some(row)) => match map(&row) {
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

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back on error.
    pub(super) async fn transaction<T>(
        &mut self,
        op: &'static str,
        body: impl AsyncFnOnce(&mut Db) -> Result<T>,
    ) -> Result<T> {
        self.execute(op, "BEGIN IMMEDIATE", ()).await?;
        match body(self).await {
            Ok(value) => {
                self.execute(op, "COMMIT", ()).await?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.execute(op, "ROLLBACK", ()).await;
                Err(e)
            }
        }
    }
}

/// Column `i` as an integer.
pub(super) fn int(row: &Row, i: i32) -> Result<i64> {
    match row.get_value(i).map_err(sql("read"))? {
        Value::Integer(v) => Ok(v),
        other => Err(OutboxError::Corrupt(format!(
            "column {i} holds {other:?}, expected an integer"
        ))),
    }
}

/// Column `i` as an integer or NULL.
pub(super) fn opt_int(row: &Row, i: i32) -> Result<Option<i64>> {
    match row.get_value(i).map_err(sql("read"))? {
        Value::Null => Ok(None),
        Value::Integer(v) => Ok(Some(v)),
        other => Err(OutboxError::Corrupt(format!(
            "column {i} holds {other:?}, expected an integer"
        ))),
    }
}

/// Column `i` as text or NULL.
pub(super) fn opt_text(row: &Row, i: i32) -> Result<Option<String>> {
    match row.get_value(i).map_err(sql("read"))? {
        Value::Null => Ok(None),
        Value::Text(v) => Ok(Some(v)),
        other => Err(OutboxError::Corrupt(format!(
            "column {i} holds {other:?}, expected text"
        ))),
    }
}

/// Column `i` as text.
pub(super) fn text(row: &Row, i: i32) -> Result<String> {
    opt_text(row, i)?.ok_or_else(|| OutboxError::Corrupt(format!("column {i} is null")))
}
