//! The SQLite backend of the queue's [`Store`](super::Store): one file in WAL mode, written by
//! one connection with prepared statements; a large request body stays in its spool file, which
//! the row names.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{ConstantBuilder, Retryable};

use libsql::{Connection, Statement, Value, params};

use super::ops::{Done, Op, settle};
use super::{Answer, Job, Known, StoreError, StoredBody};

fn sql(op: &'static str) -> impl FnOnce(libsql::Error) -> StoreError {
    move |source| StoreError::Sql { op, source }
}

/// The table is `sends` (a first version's `jobs` table is moved into it at open,
/// [`MIGRATE_JOBS`]). Only what a send needs is indexed: the rowid (the job id, also the open
/// sends' order), idempotency keys where there is one, and the finish time of kept answers,
/// so storing and forgetting a synchronous send without a key touches the table alone.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sends (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT,
    method TEXT NOT NULL,
    lane TEXT NOT NULL,
    random_id INTEGER NOT NULL,
    is_async INTEGER NOT NULL,
    content_type TEXT,
    query TEXT,
    body BLOB NOT NULL,
    body_file TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    status INTEGER,
    result BLOB,
    created_at INTEGER NOT NULL,
    done_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS sends_key ON sends (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS sends_done ON sends (done_at) WHERE done = 1;
";

/// Moves the rows of the first version's table (`jobs`: a `UNIQUE` key column, so every row
/// had an index entry, and an index of open rows) into `sends`, keeping their ids.
const MIGRATE_JOBS: &str = "
BEGIN IMMEDIATE;
INSERT INTO sends (id, idempotency_key, method, lane, random_id, is_async, content_type, query,
    body, done, status, result, created_at, done_at)
SELECT id, idempotency_key, method, lane, random_id, is_async, content_type, query, body, done,
    status, result, created_at, done_at FROM jobs;
DROP TABLE jobs;
COMMIT;
";

const INSERT: &str = "INSERT INTO sends (idempotency_key, method, lane, random_id, is_async,
    content_type, query, body, body_file, created_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
const FINISH: &str = "UPDATE sends SET done = 1, status = ?2, result = ?3, body = x'',
    body_file = NULL, done_at = ?4 WHERE id = ?1";
const FORGET: &str = "DELETE FROM sends WHERE id = ?1";

/// The writer's connection and prepared statements.
pub(super) struct Writer {
    conn: Connection,
    insert: Statement,
    finish: Statement,
    forget: Statement,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl Writer {
    /// Opens (creating) the queue at `path` in WAL mode (`:memory:` keeps it in memory),
    /// moving a first version's table into `sends`.
    ///
    /// The file is held by one connection at a time (see below): while another holds it —
    /// this process's previous store whose writer is still closing, or another sender given
    /// the same file — opening is tried again every 50 ms for 5 s (asynchronously, so that a
    /// writer task closing on the same thread can finish).
    ///
    /// Errors: [`StoreError::Open`] when the file cannot be opened or its schema written
    /// (`database is locked` after 5 s: another process holds it).
    pub(super) async fn open(path: &Path) -> Result<Self, StoreError> {
        let held = |e: &StoreError| {
            matches!(
                e,
                StoreError::Open {
                    source: libsql::Error::SqliteFailure(5 | 6, _),
                    ..
                }
            )
        };
        (|| Self::try_open(path))
            .retry(
                ConstantBuilder::default()
                    .with_delay(Duration::from_millis(50))
                    .with_max_times(100),
            )
            .when(held)
            .await
    }

    async fn try_open(path: &Path) -> Result<Self, StoreError> {
        let open = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let db = libsql::Builder::new_local(path)
            .build()
            .await
            .map_err(open)?;
        let conn = db.connect().map_err(open)?;
        // WAL with synchronous=NORMAL survives a killed process (not a power cut) and keeps a
        // commit to one fsync-free append. The writer's connection is the file's only one, so
        // it holds the file exclusively: set before WAL is first used, SQLite then keeps the
        // WAL index in the process's memory and takes no file locks per transaction (six
        // `fcntl` calls per queued send before), and a second sender pointed at the same queue
        // file by mistake cannot open it (SQLITE_BUSY) instead of sending its sends twice
        // (sqlite.org/pragma.html#pragma_locking_mode, sqlite.org/wal.html "Use of WAL
        // Without Shared-Memory").
        for pragma in [
            "PRAGMA locking_mode=EXCLUSIVE",
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
        ] {
            let mut rows = conn.query(pragma, ()).await.map_err(open)?;
            while let Ok(Some(_)) = rows.next().await {}
        }
        conn.execute_batch(SCHEMA).await.map_err(open)?;
        let mut old = conn
            .query(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'",
                (),
            )
            .await
            .map_err(open)?;
        if old.next().await.map_err(open)?.is_some() {
            drop(old);
            conn.execute_batch(MIGRATE_JOBS).await.map_err(open)?;
        }
        Ok(Writer {
            insert: conn.prepare(INSERT).await.map_err(open)?,
            finish: conn.prepare(FINISH).await.map_err(open)?,
            forget: conn.prepare(FORGET).await.map_err(open)?,
            conn,
        })
    }

    /// Runs `ops` in one transaction and answers each after the commit.
    pub(super) async fn transaction(&self, ops: Vec<Op>) {
        if let Err(e) = self.conn.execute("BEGIN IMMEDIATE", ()).await {
            tracing::error!(error = %e, "starting a send queue transaction failed");
            Op::fail_all(ops, &e.to_string());
            return;
        }
        let mut done = Vec::with_capacity(ops.len());
        let mut spooled = Vec::new();
        for op in ops {
            spooled.extend(op.spooled_body());
            done.push(self.apply(op).await);
        }
        let committed = self.conn.execute("COMMIT", ()).await;
        let failed = committed.err().map(|e| {
            tracing::error!(error = %e, "committing the send queue failed");
            e.to_string()
        });
        if failed.is_some() && !self.conn.is_autocommit() {
            let _ = self.conn.execute("ROLLBACK", ()).await;
        }
        settle(done, spooled, failed);
    }

    async fn apply(&self, op: Op) -> Done {
        match op {
            Op::Insert { job, key, then } => {
                let known = self.insert(&job, key.as_deref()).await;
                Done::Insert(known, job, then)
            }
            Op::Finish { id, answer, .. } => {
                let finished = self
                    .finish
                    .execute(params![
                        id,
                        i64::from(answer.status),
                        answer.body.to_vec(),
                        now()
                    ])
                    .await
                    .map(|_| ())
                    .map_err(sql("finish"));
                self.finish.reset();
                Done::Logged(finished, "recording a send's answer")
            }
            Op::Forget { id, .. } => {
                let forgotten = self
                    .forget
                    .execute(params![id])
                    .await
                    .map(|_| ())
                    .map_err(sql("forget"));
                self.forget.reset();
                Done::Logged(forgotten, "forgetting a finished send")
            }
            Op::Cancel { id, reply } => {
                let cancelled = self
                    .conn
                    .execute("DELETE FROM sends WHERE id = ?1 AND done = 0", params![id])
                    .await
                    .map(|_| ())
                    .map_err(sql("cancel"));
                Done::Unit(cancelled, reply)
            }
            Op::Get { id, reply } => Done::Get(get(&self.conn, id).await, reply),
            Op::OpenJobs { reply } => Done::Jobs(open_jobs(&self.conn).await, reply),
            Op::Prune { keep, reply } => {
                let before = now() - keep.as_secs() as i64;
                let pruned = self
                    .conn
                    .execute(
                        "DELETE FROM sends WHERE done = 1 AND done_at < ?1",
                        params![before],
                    )
                    .await
                    .map_err(sql("prune"));
                Done::Count(pruned, reply)
            }
        }
    }

    async fn insert(&self, job: &Job, key: Option<&str>) -> Result<Known, StoreError> {
        if let Some(key) = key
            && let Some(known) = find_key(&self.conn, key).await?
        {
            return Ok(known);
        }
        let inserted = self
            .insert
            .execute(params![
                key,
                job.method.as_str(),
                job.lane.as_str(),
                job.random_id,
                i64::from(job.is_async),
                job.content_type.as_deref(),
                job.query.as_deref(),
                match &job.body {
                    StoredBody::Inline(bytes) => bytes.to_vec(),
                    StoredBody::File(_) => Vec::new(),
                },
                job.body
                    .file()
                    .map(|path| path.to_string_lossy().into_owned()),
                now(),
            ])
            .await
            .map_err(sql("insert"));
        self.insert.reset();
        inserted?;
        Ok(Known::Inserted(self.conn.last_insert_rowid()))
    }
}

async fn get(conn: &Connection, id: i64) -> Result<Option<Known>, StoreError> {
    let mut rows = conn
        .query(
            "SELECT id, done, status, result FROM sends WHERE id = ?1",
            params![id],
        )
        .await
        .map_err(sql("get"))?;
    match rows.next().await.map_err(sql("get"))? {
        Some(row) => known(&row).map(Some),
        None => Ok(None),
    }
}

async fn open_jobs(conn: &Connection) -> Result<Vec<Job>, StoreError> {
    let mut rows = conn
        .query(
            "SELECT id, method, lane, random_id, is_async, content_type, query, body,
                idempotency_key IS NOT NULL, body_file FROM sends WHERE done = 0 ORDER BY id",
            (),
        )
        .await
        .map_err(sql("load"))?;
    let mut jobs = Vec::new();
    while let Some(row) = rows.next().await.map_err(sql("load"))? {
        jobs.push(Job {
            id: int(&row, 0)?,
            method: text(&row, 1)?.unwrap_or_default(),
            lane: text(&row, 2)?.unwrap_or_default(),
            random_id: int(&row, 3)?,
            is_async: int(&row, 4)? != 0,
            content_type: text(&row, 5)?,
            query: text(&row, 6)?,
            body: match text(&row, 9)? {
                Some(path) => StoredBody::File(std::sync::Arc::new(PathBuf::from(path))),
                None => StoredBody::Inline(blob(&row, 7)?.into()),
            },
            keyed: int(&row, 8)? != 0,
        });
    }
    Ok(jobs)
}

async fn find_key(conn: &Connection, key: &str) -> Result<Option<Known>, StoreError> {
    let mut rows = conn
        .query(
            "SELECT id, done, status, result FROM sends WHERE idempotency_key = ?1",
            params![key],
        )
        .await
        .map_err(sql("find key"))?;
    match rows.next().await.map_err(sql("find key"))? {
        Some(row) => known(&row).map(Some),
        None => Ok(None),
    }
}

fn known(row: &libsql::Row) -> Result<Known, StoreError> {
    let id = int(row, 0)?;
    if int(row, 1)? == 0 {
        return Ok(Known::Open(id));
    }
    let status = u16::try_from(int(row, 2)?)
        .map_err(|_| StoreError::Corrupt(format!("job {id} has an invalid status")))?;
    Ok(Known::Done(
        id,
        Answer {
            status,
            body: blob(row, 3)?.into(),
        },
    ))
}

fn int(row: &libsql::Row, i: i32) -> Result<i64, StoreError> {
    match row.get_value(i).map_err(sql("read"))? {
        Value::Integer(v) => Ok(v),
        other => Err(StoreError::Corrupt(format!(
            "column {i} holds {other:?}, expected an integer"
        ))),
    }
}

fn text(row: &libsql::Row, i: i32) -> Result<Option<String>, StoreError> {
    match row.get_value(i).map_err(sql("read"))? {
        Value::Null => Ok(None),
        Value::Text(v) => Ok(Some(v)),
        _ => Err(StoreError::Corrupt(format!("column {i} is not text"))),
    }
}

fn blob(row: &libsql::Row, i: i32) -> Result<Vec<u8>, StoreError> {
    match row.get_value(i).map_err(sql("read"))? {
        Value::Null => Ok(Vec::new()),
        Value::Blob(v) => Ok(v),
        Value::Text(v) => Ok(v.into_bytes()),
        _ => Err(StoreError::Corrupt(format!("column {i} is not a blob"))),
    }
}
