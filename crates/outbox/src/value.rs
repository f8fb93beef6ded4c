//! What the two backends share: statement parameters ([`Param`], written with
//! [`params!`]), result rows ([`Row`], the backend's own row borrowed, so nothing is
//! converted per row) and the readers of their columns ([`int`], [`opt_int`], [`text`],
//! [`opt_text`]).

use std::borrow::Cow;

use libsql::Value;
use sqlx::Row as _;

use super::OutboxError;

pub(super) type Result<T> = std::result::Result<T, OutboxError>;

/// Maps a libsql error to [`OutboxError::Sql`] naming the operation.
pub(super) fn sql(op: &'static str) -> impl FnOnce(libsql::Error) -> OutboxError {
    move |source| OutboxError::Sql { op, source }
}

/// A statement parameter. NULLs keep their type: Postgres declares every parameter's type
/// when it prepares a statement.
#[derive(Debug)]
pub(super) enum Param<'a> {
    /// An integer (`BIGINT` on Postgres).
    Int(Option<i64>),
    /// Text; borrowed where the caller keeps it, moved in where it was built for the call.
    Text(Option<Cow<'a, str>>),
}

impl From<i64> for Param<'_> {
    fn from(value: i64) -> Self {
        Param::Int(Some(value))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(value: Option<i64>) -> Self {
        Param::Int(value)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(value: &'a str) -> Self {
        Param::Text(Some(Cow::Borrowed(value)))
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(value: &'a String) -> Self {
        Param::Text(Some(Cow::Borrowed(value)))
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Param::Text(value.map(Cow::Borrowed))
    }
}

impl From<String> for Param<'_> {
    fn from(value: String) -> Self {
        Param::Text(Some(Cow::Owned(value)))
    }
}

impl From<Option<String>> for Param<'_> {
    fn from(value: Option<String>) -> Self {
        Param::Text(value.map(Cow::Owned))
    }
}

impl Param<'_> {
    /// The value as libsql binds it.
    pub(super) fn into_libsql(self) -> Value {
        match self {
            Param::Int(Some(v)) => Value::Integer(v),
            Param::Text(Some(v)) => Value::Text(v.into_owned()),
            Param::Int(None) | Param::Text(None) => Value::Null,
        }
    }
}

/// One result row, the backend's own.
pub(super) enum Row<'r> {
    /// A libsql row.
    Lite(&'r libsql::Row),
    /// A sqlx row.
    Pg(&'r sqlx::postgres::PgRow),
}

/// Column `i` as an integer or NULL (on Postgres, a `BIGINT`: every integer column is one).
pub(super) fn opt_int(row: &Row<'_>, i: usize) -> Result<Option<i64>> {
    match row {
        Row::Lite(row) => match row.get_value(i as i32).map_err(sql("read"))? {
            Value::Null => Ok(None),
            Value::Integer(v) => Ok(Some(v)),
            other => Err(OutboxError::Corrupt(format!(
                "column {i} holds {other:?}, expected an integer"
            ))),
        },
        Row::Pg(row) => row.try_get(i).map_err(|e| corrupt(i, e)),
    }
}

/// Column `i` as text or NULL.
pub(super) fn opt_text(row: &Row<'_>, i: usize) -> Result<Option<String>> {
    match row {
        Row::Lite(row) => match row.get_value(i as i32).map_err(sql("read"))? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v)),
            other => Err(OutboxError::Corrupt(format!(
                "column {i} holds {other:?}, expected text"
            ))),
        },
        Row::Pg(row) => row.try_get(i).map_err(|e| corrupt(i, e)),
    }
}

/// Column `i` as an integer.
pub(super) fn int(row: &Row<'_>, i: usize) -> Result<i64> {
    opt_int(row, i)?.ok_or_else(|| OutboxError::Corrupt(format!("column {i} is null")))
}

/// Column `i` as text.
pub(super) fn text(row: &Row<'_>, i: usize) -> Result<String> {
    opt_text(row, i)?.ok_or_else(|| OutboxError::Corrupt(format!("column {i} is null")))
}

fn corrupt(i: usize, error: sqlx::Error) -> OutboxError {
    OutboxError::Corrupt(format!("column {i}: {error}"))
}
