//! The queue's SQLite file (libsql, the copy grammers links): one row per send, written before
//! the send is first tried and holding its `random_id`, so a restart — `kill -9` included —
//! resumes every open send with the same `random_id` and Telegram sees each once. Finished rows
//! that someone may ask about again (an idempotency key, an asynchronous job) keep their answer
//! for the idempotency window, then are pruned; the others are deleted when finished.
//!
//! One writer task owns the connection and runs what callers ask in batches: whatever is
//! waiting when it turns to the queue of requests runs in one transaction, with prepared
//! statements, and only then is answered. Concurrent sends thus share one commit (each commit
//! rewrites the WAL pages it touched, so one per send would write the same pages again and
//! again) and none is answered before it is on disk. A stored send's callback runs on the
//! writer in row order, so the queue's lanes get their sends in job id order without a lock
//! held across the write. Finishing a send is not awaited: it rides with the next transaction
//! that stores new sends (or within 20 ms), so a busy queue commits about once per batch.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use libsql::{Connection, Statement, Value, params};
use tokio::sync::{mpsc, oneshot};

/// Why the queue store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Opening or creating the file failed.
    #[error("cannot open the send queue {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: libsql::Error,
    },
    /// A statement failed.
    #[error("send queue {op} failed: {source}")]
    Sql {
        /// What was being done.
        op: &'static str,
        /// Why.
        source: libsql::Error,
    },
    /// A row held something this code never writes.
    #[error("send queue row is damaged: {0}")]
    Corrupt(String),
    /// The batch's transaction could not be committed (nothing of it is stored).
    #[error("send queue commit failed: {0}")]
    Commit(String),
    /// The writer task is gone (the sender is stopping).
    #[error("the send queue is closed")]
    Closed,
    /// The spool directory (large request bodies) cannot be created or listed.
    #[error("cannot prepare the send queue's spool directory: {0}")]
    Spool(std::io::Error),
}

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

/// A send as stored: what to replay and with which `random_id`.
#[derive(Clone, Debug)]
pub struct Job {
    /// Row id, also the job id of the async API.
    pub id: i64,
    /// The Bot API method as the client spelled it.
    pub method: String,
    /// The lane (normalised `chat_id` of the destination).
    pub lane: String,
    /// The `random_id` every try of this send uses.
    pub random_id: i64,
    /// Asked for asynchronously (202 + job id; the result goes to the result webhook).
    pub is_async: bool,
    /// Stored under an idempotency key.
    pub keyed: bool,
    /// The request's Content-Type, if any.
    pub content_type: Option<String>,
    /// The request's query string, if any.
    pub query: Option<String>,
    /// The request's body (shared, not copied, by every try).
    pub body: StoredBody,
}

/// A stored request body: small ones in memory and in the row; a large upload in a spool file
/// beside the queue, which the row names (so memory stays bounded whatever the upload's size,
/// and SQLite holds no large blobs).
#[derive(Clone, Debug)]
pub enum StoredBody {
    /// The bytes.
    Inline(Bytes),
    /// A file holding the bytes; deleted once the send is finished or withdrawn.
    File(std::sync::Arc<PathBuf>),
}

impl StoredBody {
    /// The spool file, if the body is in one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            StoredBody::File(path) => Some(path),
            StoredBody::Inline(_) => None,
        }
    }

    /// Deletes the spool file, if any, in the background (a missing file is no error).
    pub fn discard(&self) {
        if let Some(path) = self.file() {
            let path = path.to_path_buf();
            tokio::spawn(async move {
                if let Err(e) = tokio::fs::remove_file(&path).await
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(error = %e, path = %path.display(), "deleting a spooled request body failed");
                }
            });
        }
    }
}

/// A finished send's answer: HTTP status and JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status (200, or the error's `error_code`).
    pub status: u16,
    /// The body as sent to the client (shared by every waiter).
    pub body: Bytes,
}

/// What the store knows of a job.
#[derive(Clone, Debug)]
pub enum Known {
    /// Stored just now by this call.
    Inserted(i64),
    /// Still to be sent (or being sent).
    Open(i64),
    /// Sent or refused; its answer.
    Done(i64, Answer),
}

/// What runs on the writer once a send is stored (or found by its key): the outcome and the
/// job as given. Called in row order, after the commit.
pub type AfterInsert = Box<dyn FnOnce(Result<Known, StoreError>, Job) + Send>;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A request to the writer.
enum Op {
    Insert {
        job: Job,
        key: Option<String>,
        then: AfterInsert,
    },
    Finish {
        id: i64,
        answer: Answer,
        /// The request body, whose spool file goes once this is committed.
        body: StoredBody,
    },
    /// [`Store::forget`]: the row of a finished send nobody can ask about.
    Forget {
        id: i64,
        body: StoredBody,
    },
    Cancel {
        id: i64,
        reply: Reply<()>,
    },
    Get {
        id: i64,
        reply: Reply<Option<Known>>,
    },
    OpenJobs {
        reply: Reply<Vec<Job>>,
    },
    Prune {
        keep: Duration,
        reply: Reply<u64>,
    },
}

/// An answer held until the batch is committed.
enum Done {
    Insert(Result<Known, StoreError>, Job, AfterInsert),
    Unit(Result<(), StoreError>, Reply<()>),
    Get(Result<Option<Known>, StoreError>, Reply<Option<Known>>),
    Jobs(Result<Vec<Job>, StoreError>, Reply<Vec<Job>>),
    Count(Result<u64, StoreError>, Reply<u64>),
    /// Nobody waits: a failure is logged as failing to do this.
    Logged(Result<(), StoreError>, &'static str),
}

/// Most requests run in one transaction.
const MAX_BATCH: usize = 512;

/// Longest a deferred finish waits for a transaction with other work (see [`Writer::run`]).
const FLUSH_AFTER: Duration = Duration::from_millis(20);

const INSERT: &str = "INSERT INTO sends (idempotency_key, method, lane, random_id, is_async,
    content_type, query, body, body_file, created_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
const FINISH: &str = "UPDATE sends SET done = 1, status = ?2, result = ?3, body = x'',
    body_file = NULL, done_at = ?4 WHERE id = ?1";
const FORGET: &str = "DELETE FROM sends WHERE id = ?1";

/// The queue file, written by one writer task.
pub struct Store {
    ops: mpsc::UnboundedSender<Op>,
}

/// The writer's connection and prepared statements.
struct Writer {
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

impl Store {
    /// Opens (creating) the queue at `path` in WAL mode (`:memory:` keeps it in memory) and
    /// starts its writer task.
    ///
    /// Errors: [`StoreError::Open`] when the file cannot be opened or its schema written.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
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
        // commit to one fsync-free append.
        for pragma in [
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=5000",
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
        let writer = Writer {
            insert: conn.prepare(INSERT).await.map_err(open)?,
            finish: conn.prepare(FINISH).await.map_err(open)?,
            forget: conn.prepare(FORGET).await.map_err(open)?,
            conn,
        };
        let (ops, requests) = mpsc::unbounded_channel();
        tokio::spawn(writer.run(requests));
        Ok(Self { ops })
    }

    /// Stores a new send and runs `then` with [`Known::Inserted`], or finds the one stored
    /// under the same idempotency key (then nothing is inserted) and runs `then` with it.
    /// `job.id` is ignored. `then` runs on the writer, after the commit, in row order.
    pub fn insert_then(&self, job: Job, key: Option<String>, then: AfterInsert) {
        if let Err(mpsc::error::SendError(Op::Insert { job, then, .. })) =
            self.ops.send(Op::Insert { job, key, then })
        {
            then(Err(StoreError::Closed), job);
        }
    }

    /// [`Store::insert_then`], awaited.
    pub async fn insert(&self, job: &Job, key: Option<&str>) -> Result<Known, StoreError> {
        let (reply, known) = oneshot::channel();
        let then: AfterInsert = Box::new(move |result, _| {
            let _ = reply.send(result);
        });
        self.insert_then(job.clone(), key.map(str::to_owned), then);
        known.await.unwrap_or(Err(StoreError::Closed))
    }

    async fn ask<T>(&self, op: impl FnOnce(Reply<T>) -> Op) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ops.send(op(reply)).map_err(|_| StoreError::Closed)?;
        answer.await.unwrap_or(Err(StoreError::Closed))
    }

    /// Records the answer of job `id` and drops its request body, without waiting for the
    /// commit: it is written with the writer's next batch, before any request sent after this
    /// call (a later [`Store::get`] or idempotency-key lookup sees it). A failure is logged.
    /// Until the commit
    /// the job is open, so a crash in between resumes it with its `random_id` and Telegram
    /// answers the repeat with the message already sent.
    /// `body` is the send's request body: a spool file is deleted once the answer is committed
    /// (never before, so a resumed send always has its body).
    pub fn record(&self, id: i64, answer: Answer, body: &StoredBody) {
        let _ = self.ops.send(Op::Finish {
            id,
            answer,
            body: body.clone(),
        });
    }

    /// Deletes the row of job `id`, finished, without waiting: for a synchronous send without
    /// an idempotency key, whose answer nobody can ask for again (its caller has it, and its
    /// job id was never shown). Ordered and crash-safe as [`Store::record`], and so is the
    /// deletion of `body`'s spool file.
    pub fn forget(&self, id: i64, body: &StoredBody) {
        let _ = self.ops.send(Op::Forget {
            id,
            body: body.clone(),
        });
    }

    /// Forgets job `id` (a synchronous send given up before it was tried: the client was told
    /// 429 and will send again).
    pub async fn cancel(&self, id: i64) -> Result<(), StoreError> {
        self.ask(|reply| Op::Cancel { id, reply }).await
    }

    /// Every open job, oldest first (at start: what a previous run left).
    pub async fn open_jobs(&self) -> Result<Vec<Job>, StoreError> {
        self.ask(|reply| Op::OpenJobs { reply }).await
    }

    /// What is known of job `id`; `None` when there is no such job (never, or pruned).
    pub async fn get(&self, id: i64) -> Result<Option<Known>, StoreError> {
        self.ask(|reply| Op::Get { id, reply }).await
    }

    /// Deletes finished jobs older than `keep`; how many went.
    pub async fn prune(&self, keep: Duration) -> Result<u64, StoreError> {
        self.ask(|reply| Op::Prune { keep, reply }).await
    }
}

impl Writer {
    /// Runs batches until every [`Store`] handle is gone.
    ///
    /// Finished sends nobody waits for ([`Store::record`], [`Store::forget`]) are deferred:
    /// they go into the next transaction that has other work, or after [`FLUSH_AFTER`] (or
    /// [`MAX_BATCH`] of them), and first in it, so what follows them in the queue of requests
    /// sees them. A busy queue thus commits about once per batch of new sends, not twice.
    async fn run(self, mut requests: mpsc::UnboundedReceiver<Op>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut deferred: Vec<Op> = Vec::new();
        let mut flush_at = tokio::time::Instant::now();
        loop {
            let (received, due) = if deferred.is_empty() {
                (requests.recv_many(&mut batch, MAX_BATCH).await, false)
            } else {
                tokio::select! {
                    n = requests.recv_many(&mut batch, MAX_BATCH) => (n, false),
                    () = tokio::time::sleep_until(flush_at) => (1, true),
                }
            };
            let closed = received == 0;
            if closed && deferred.is_empty() {
                return;
            }
            if !closed && !due {
                // Let the tasks that are ready run first: under load they add their sends to
                // this transaction instead of each starting one (at idle this costs a few µs).
                tokio::task::yield_now().await;
                while batch.len() < MAX_BATCH
                    && let Ok(op) = requests.try_recv()
                {
                    batch.push(op);
                }
            }
            let had = deferred.len();
            let mut work = Vec::with_capacity(batch.len());
            for op in batch.drain(..) {
                if op.is_deferrable() {
                    deferred.push(op);
                } else {
                    work.push(op);
                }
            }
            if had == 0 && !deferred.is_empty() {
                flush_at = tokio::time::Instant::now() + FLUSH_AFTER;
            }
            if work.is_empty() && !due && !closed && deferred.len() < MAX_BATCH {
                continue;
            }
            let mut ops = std::mem::take(&mut deferred);
            ops.extend(work);
            self.transaction(ops).await;
            if closed {
                return;
            }
        }
    }

    /// Runs `ops` in one transaction and answers each after the commit.
    async fn transaction(&self, ops: Vec<Op>) {
        if let Err(e) = self.conn.execute("BEGIN IMMEDIATE", ()).await {
            tracing::error!(error = %e, "starting a send queue transaction failed");
            let why = e.to_string();
            for op in ops {
                op.fail(&why);
            }
            return;
        }
        let mut done = Vec::with_capacity(ops.len());
        let mut spooled = Vec::new();
        for op in ops {
            if let Op::Finish { body: b, .. } | Op::Forget { body: b, .. } = &op
                && b.file().is_some()
            {
                spooled.push(b.clone());
            }
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
        if failed.is_none() {
            spooled.iter().for_each(StoredBody::discard);
        }
        for done in done {
            done.deliver(failed.as_deref());
        }
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

impl Op {
    /// Whether nobody waits for it, so it may wait for the next transaction.
    fn is_deferrable(&self) -> bool {
        matches!(self, Op::Finish { .. } | Op::Forget { .. })
    }

    /// Answers the request with a failure to start its transaction.
    fn fail(self, why: &str) {
        let error = || StoreError::Commit(why.to_owned());
        match self {
            Op::Insert { job, then, .. } => then(Err(error()), job),
            Op::Cancel { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Op::Finish { .. } | Op::Forget { .. } => {
                tracing::error!(error = %error(), "recording a finished send failed");
            }
            Op::Get { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Op::OpenJobs { reply } => {
                let _ = reply.send(Err(error()));
            }
            Op::Prune { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
        }
    }
}

impl Done {
    /// Hands the result over; `failed`: the commit failed, so every request failed.
    fn deliver(self, failed: Option<&str>) {
        fn check<T>(result: Result<T, StoreError>, failed: Option<&str>) -> Result<T, StoreError> {
            match failed {
                Some(why) => Err(StoreError::Commit(why.to_owned())),
                None => result,
            }
        }
        match self {
            Done::Insert(known, job, then) => then(check(known, failed), job),
            Done::Unit(result, reply) => {
                let _ = reply.send(check(result, failed));
            }
            Done::Get(result, reply) => {
                let _ = reply.send(check(result, failed));
            }
            Done::Jobs(result, reply) => {
                let _ = reply.send(check(result, failed));
            }
            Done::Count(result, reply) => {
                let _ = reply.send(check(result, failed));
            }
            Done::Logged(result, what) => {
                if let Err(e) = check(result, failed) {
                    tracing::error!(error = %e, "{what} failed");
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job(method: &str) -> Job {
        Job {
            id: 0,
            method: method.into(),
            lane: "42".into(),
            random_id: 7,
            is_async: false,
            keyed: false,
            content_type: Some("application/json".into()),
            query: None,
            body: StoredBody::Inline(Bytes::from_static(b"{}")),
        }
    }

    #[tokio::test]
    async fn a_key_finds_its_job_open_then_done_and_survives_reopening() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("q.db");
        let store = Store::open(&path).await.expect("open");
        let Known::Inserted(id) = store.insert(&job("sendMessage"), Some("k1")).await.unwrap()
        else {
            panic!("new job")
        };
        assert!(matches!(
            store.insert(&job("sendMessage"), Some("k1")).await.unwrap(),
            Known::Open(same) if same == id
        ));
        let answer = Answer {
            status: 200,
            body: Bytes::from_static(b"{\"ok\":true}"),
        };
        store.record(id, answer.clone(), &StoredBody::Inline(Bytes::new()));
        // Any later request goes after the deferred answer: it is committed once this returns.
        assert!(matches!(
            store.get(id).await.unwrap(),
            Some(Known::Done(..))
        ));
        drop(store);
        let store = Store::open(&path).await.expect("reopen");
        assert!(store.open_jobs().await.unwrap().is_empty());
        match store.insert(&job("sendMessage"), Some("k1")).await.unwrap() {
            Known::Done(same, got) => assert_eq!((same, got), (id, answer)),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_recorded_answer_is_seen_by_the_next_request_and_a_forgotten_send_is_gone() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("q.db");
        let store = Store::open(&path).await.expect("open");
        let Known::Inserted(kept) = store.insert(&job("a"), Some("k")).await.unwrap() else {
            panic!("new job")
        };
        let Known::Inserted(gone) = store.insert(&job("b"), None).await.unwrap() else {
            panic!("new job")
        };
        let answer = Answer {
            status: 200,
            body: Bytes::from_static(b"{\"ok\":true}"),
        };
        // Neither is awaited; both are deferred until a request that needs the writer.
        let inline = StoredBody::Inline(Bytes::new());
        store.record(kept, answer.clone(), &inline);
        store.forget(gone, &inline);
        assert!(matches!(
            store.get(kept).await.unwrap(),
            Some(Known::Done(id, got)) if id == kept && got == answer
        ));
        assert!(store.get(gone).await.unwrap().is_none());
        assert!(store.open_jobs().await.unwrap().is_empty());
        // Nothing else comes: a lone deferred answer is still written within FLUSH_AFTER.
        let Known::Inserted(late) = store.insert(&job("c"), Some("k2")).await.unwrap() else {
            panic!("new job")
        };
        store.record(late, answer.clone(), &inline);
        tokio::time::sleep(FLUSH_AFTER * 10).await;
        // Read through another connection, so the writer is not asked anything.
        let db = libsql::Builder::new_local(&path).build().await.unwrap();
        let mut rows = db
            .connect()
            .unwrap()
            .query("SELECT done FROM sends WHERE id = ?1", params![late])
            .await
            .unwrap();
        let row = rows.next().await.unwrap().expect("the row");
        assert_eq!(int(&row, 0).unwrap(), 1, "recorded without another request");
    }

    #[tokio::test]
    async fn a_first_version_jobs_table_moves_into_sends_with_its_ids_and_keys() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("q.db");
        {
            let db = libsql::Builder::new_local(&path).build().await.unwrap();
            let conn = db.connect().unwrap();
            conn.execute_batch(
                "CREATE TABLE jobs (id INTEGER PRIMARY KEY, idempotency_key TEXT UNIQUE,
                    method TEXT NOT NULL, lane TEXT NOT NULL, random_id INTEGER NOT NULL,
                    is_async INTEGER NOT NULL, content_type TEXT, query TEXT,
                    body BLOB NOT NULL, done INTEGER NOT NULL DEFAULT 0, status INTEGER,
                    result BLOB, created_at INTEGER NOT NULL, done_at INTEGER);
                CREATE INDEX jobs_open ON jobs (id) WHERE done = 0;
                INSERT INTO jobs (id, idempotency_key, method, lane, random_id, is_async, body,
                    created_at) VALUES (41, 'old-key', 'sendMessage', '42', 99, 0, x'7b7d', 1);",
            )
            .await
            .unwrap();
        }
        let store = Store::open(&path).await.expect("open migrates");
        let open = store.open_jobs().await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(
            (open[0].id, open[0].random_id, open[0].keyed),
            (41, 99, true)
        );
        assert!(matches!(
            store
                .insert(&job("sendMessage"), Some("old-key"))
                .await
                .unwrap(),
            Known::Open(41)
        ));
        let Known::Inserted(next) = store.insert(&job("x"), None).await.unwrap() else {
            panic!("new job")
        };
        assert!(next > 41, "ids continue after the old ones: {next}");
    }

    #[tokio::test]
    async fn open_jobs_come_back_in_order_with_their_random_id() {
        let store = Store::open(Path::new(":memory:")).await.expect("open");
        for method in ["a", "b", "c"] {
            store.insert(&job(method), None).await.unwrap();
        }
        store.cancel(2).await.unwrap();
        let open = store.open_jobs().await.unwrap();
        let got: Vec<_> = open
            .iter()
            .map(|j| (j.id, j.method.as_str(), j.random_id))
            .collect();
        assert_eq!(got, vec![(1, "a", 7), (3, "c", 7)]);
    }
}
