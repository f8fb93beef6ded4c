//! The queue's SQLite file (libsql, the copy grammers links): one row per send, written before
//! the send is first tried and holding its `random_id`, so a restart — `kill -9` included —
//! resumes every open send with the same `random_id` and Telegram sees each once. Finished rows
//! keep their answer for the idempotency window, then are pruned.
//!
//! One writer task owns the connection and runs what callers ask in batches: whatever is
//! waiting when it turns to the queue of requests runs in one transaction, with prepared
//! statements, and only then is answered. Concurrent sends thus share one commit (each commit
//! rewrites the WAL pages it touched, so one per send would write the same pages again and
//! again) and none is answered before it is on disk. A stored send's callback runs on the
//! writer in row order, so the queue's lanes get their sends in job id order without a lock
//! held across the write.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
}

fn sql(op: &'static str) -> impl FnOnce(libsql::Error) -> StoreError {
    move |source| StoreError::Sql { op, source }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    method TEXT NOT NULL,
    lane TEXT NOT NULL,
    random_id INTEGER NOT NULL,
    is_async INTEGER NOT NULL,
    content_type TEXT,
    query TEXT,
    body BLOB NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    status INTEGER,
    result BLOB,
    created_at INTEGER NOT NULL,
    done_at INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (id) WHERE done = 0;
CREATE INDEX IF NOT EXISTS jobs_done ON jobs (done_at) WHERE done = 1;
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
    /// The request's Content-Type, if any.
    pub content_type: Option<String>,
    /// The request's query string, if any.
    pub query: Option<String>,
    /// The request's body.
    pub body: Vec<u8>,
}

/// A finished send's answer: HTTP status and JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status (200, or the error's `error_code`).
    pub status: u16,
    /// The body as sent to the client.
    pub body: Vec<u8>,
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
        reply: Reply<()>,
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
}

/// Most requests run in one transaction.
const MAX_BATCH: usize = 512;

const INSERT: &str = "INSERT INTO jobs (idempotency_key, method, lane, random_id, is_async,
    content_type, query, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const FINISH: &str = "UPDATE jobs SET done = 1, status = ?2, result = ?3, body = x'',
    done_at = ?4 WHERE id = ?1";

/// The queue file, written by one writer task.
pub struct Store {
    ops: mpsc::UnboundedSender<Op>,
}

/// The writer's connection and prepared statements.
struct Writer {
    conn: Connection,
    insert: Statement,
    finish: Statement,
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
        let writer = Writer {
            insert: conn.prepare(INSERT).await.map_err(open)?,
            finish: conn.prepare(FINISH).await.map_err(open)?,
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

    /// Records the answer of job `id` and drops its request body.
    pub async fn finish(&self, id: i64, answer: &Answer) -> Result<(), StoreError> {
        let answer = answer.clone();
        self.ask(|reply| Op::Finish { id, answer, reply }).await
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
    async fn run(self, mut requests: mpsc::UnboundedReceiver<Op>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while requests.recv_many(&mut batch, MAX_BATCH).await > 0 {
            if let Err(e) = self.conn.execute("BEGIN IMMEDIATE", ()).await {
                tracing::error!(error = %e, "starting a send queue transaction failed");
                let why = e.to_string();
                for op in batch.drain(..) {
                    op.fail(&why);
                }
                continue;
            }
            let mut done = Vec::with_capacity(batch.len());
            for op in batch.drain(..) {
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
            for done in done {
                done.deliver(failed.as_deref());
            }
        }
    }

    async fn apply(&self, op: Op) -> Done {
        match op {
            Op::Insert { job, key, then } => {
                let known = self.insert(&job, key.as_deref()).await;
                Done::Insert(known, job, then)
            }
            Op::Finish { id, answer, reply } => {
                let finished = self
                    .finish
                    .execute(params![id, i64::from(answer.status), answer.body, now()])
                    .await
                    .map(|_| ())
                    .map_err(sql("finish"));
                self.finish.reset();
                Done::Unit(finished, reply)
            }
            Op::Cancel { id, reply } => {
                let cancelled = self
                    .conn
                    .execute("DELETE FROM jobs WHERE id = ?1 AND done = 0", params![id])
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
                        "DELETE FROM jobs WHERE done = 1 AND done_at < ?1",
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
                job.body.clone(),
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
    /// Answers the request with a failure to start its transaction.
    fn fail(self, why: &str) {
        let error = || StoreError::Commit(why.to_owned());
        match self {
            Op::Insert { job, then, .. } => then(Err(error()), job),
            Op::Finish { reply, .. } | Op::Cancel { reply, .. } => {
                let _ = reply.send(Err(error()));
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
        }
    }
}

async fn get(conn: &Connection, id: i64) -> Result<Option<Known>, StoreError> {
    let mut rows = conn
        .query(
            "SELECT id, done, status, result FROM jobs WHERE id = ?1",
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
            "SELECT id, method, lane, random_id, is_async, content_type, query, body
             FROM jobs WHERE done = 0 ORDER BY id",
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
            body: blob(&row, 7)?,
        });
    }
    Ok(jobs)
}

async fn find_key(conn: &Connection, key: &str) -> Result<Option<Known>, StoreError> {
    let mut rows = conn
        .query(
            "SELECT id, done, status, result FROM jobs WHERE idempotency_key = ?1",
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
            body: blob(row, 3)?,
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
            content_type: Some("application/json".into()),
            query: None,
            body: b"{}".to_vec(),
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
            body: b"{\"ok\":true}".to_vec(),
        };
        store.finish(id, &answer).await.unwrap();
        drop(store);
        let store = Store::open(&path).await.expect("reopen");
        assert!(store.open_jobs().await.unwrap().is_empty());
        match store.insert(&job("sendMessage"), Some("k1")).await.unwrap() {
            Known::Done(same, got) => assert_eq!((same, got), (id, answer)),
            other => panic!("{other:?}"),
        }
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
