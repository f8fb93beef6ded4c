//! Bounded retry of whole operations when another process holds the SQLite lock.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use libsql::Connection;

use crate::SessionError;

/// Attempts per operation. Each attempt may already wait up to the busy timeout inside SQLite;
/// this covers the cases the busy handler does not (lock upgrades, WAL recovery, `open`).
pub(crate) const MAX_ATTEMPTS: u32 = 8;
const BASE_DELAY: Duration = Duration::from_millis(10);
const MAX_DELAY: Duration = Duration::from_millis(200);

/// The waits between attempts: doubling from [`BASE_DELAY`] up to [`MAX_DELAY`], each with
/// random jitter (up to as much again) so the two processes do not retry in lockstep.
fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(BASE_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_max_times(MAX_ATTEMPTS as usize - 1)
        .with_jitter()
}

/// Runs `op` on `conn`, retrying it from scratch while it fails with `SQLITE_BUSY` or
/// `SQLITE_LOCKED`.
///
/// Before each attempt and after each failure an open transaction is rolled back, so an
/// attempt (or an earlier cancelled future) never leaves the connection inside `BEGIN`.
/// Errors: [`SessionError::Busy`] after [`MAX_ATTEMPTS`], [`SessionError::Sql`] at once
/// for any other SQLite error; the `SessionError` an `op` produces itself passes through.
pub(crate) async fn run<T, F, Fut>(
    conn: &Connection,
    op_name: &'static str,
    mut op: F,
) -> Result<T, SessionError>
where
    F: FnMut(Connection) -> Fut,
    Fut: Future<Output = Result<T, OpError>>,
{
    let mut attempts = 0;
    let attempt = || {
        attempts += 1;
        // `op` returns a future that has not run yet: the rollback still comes first.
        let run = op(conn.clone());
        async move {
            rollback_if_open(conn).await;
            let result = run.await;
            if result.is_err() {
                rollback_if_open(conn).await;
            }
            result
        }
    };
    let result = attempt
        .retry(backoff())
        .when(|e| matches!(e, OpError::Sql(err) if is_busy(err)))
        .notify(|_, delay| {
            tracing::debug!(op = op_name, ?delay, "session database busy, retrying");
        })
        .await;
    match result {
        Ok(value) => Ok(value),
        Err(OpError::Session(err)) => Err(err),
        Err(OpError::Sql(err)) if is_busy(&err) => Err(SessionError::Busy {
            op: op_name,
            attempts,
            source: err,
        }),
        Err(OpError::Sql(err)) => Err(SessionError::Sql {
            op: op_name,
            source: err,
        }),
    }
}

/// An error inside one attempt: SQL errors are classified for retry, the rest pass through.
#[derive(Debug)]
pub(crate) enum OpError {
    /// From libsql; retried when it means contention.
    Sql(libsql::Error),
    /// Already a final error (e.g. a corrupt value); never retried.
    Session(SessionError),
}

impl From<libsql::Error> for OpError {
    fn from(err: libsql::Error) -> Self {
        Self::Sql(err)
    }
}

impl From<SessionError> for OpError {
    fn from(err: SessionError) -> Self {
        Self::Session(err)
    }
}

/// `SQLITE_BUSY` (5) and `SQLITE_LOCKED` (6), including their extended codes, or the message
/// SQLite uses for them when a code is not available.
pub(crate) fn is_busy(err: &libsql::Error) -> bool {
    match err {
        libsql::Error::SqliteFailure(code, msg) => {
            matches!(code & 0xff, 5 | 6)
                || msg.contains("database is locked")
                || msg.contains("database table is locked")
        }
        other => other.to_string().contains("database is locked"),
    }
}

/// Rolls back a transaction left open by a failed or cancelled attempt. libsql's own
/// `Transaction` is avoided because its `Drop` unwraps the rollback result.
async fn rollback_if_open(conn: &Connection) {
    if !conn.is_autocommit()
        && let Err(err) = conn.execute("ROLLBACK", ()).await
    {
        tracing::warn!(%err, "rollback of session transaction failed");
    }
}

#[cfg(test)]
mod tests {
    use backon::BackoffBuilder as _;

    use super::*;

    #[test]
    fn busy_and_locked_codes_are_retried_but_other_errors_are_not() {
        let busy = libsql::Error::SqliteFailure(5, "database is locked".into());
        let busy_snapshot = libsql::Error::SqliteFailure(517, "x".into());
        let locked = libsql::Error::SqliteFailure(6, "database table is locked".into());
        let constraint = libsql::Error::SqliteFailure(19, "constraint failed".into());
        assert!(is_busy(&busy) && is_busy(&busy_snapshot) && is_busy(&locked));
        assert!(!is_busy(&constraint));
    }

    #[test]
    fn backoff_is_bounded() {
        let delays: Vec<Duration> = backoff().build().collect();
        assert_eq!(delays.len() as u32, MAX_ATTEMPTS - 1);
        assert!(delays.iter().all(|d| *d <= MAX_DELAY * 2), "{delays:?}");
    }
}
