//! The queue's store: one row per send, written before the send is first tried and holding its
//! `random_id`, so a restart — `kill -9` included — resumes every open send with the same
//! `random_id` and Telegram sees each once. Finished rows that someone may ask about again (an
//! idempotency key, an asynchronous job) keep their answer for the idempotency window, then are
//! pruned; the others are deleted when finished.
//!
//! Two backends behind one API, chosen at open: an SQLite file ([`Store::open`]; libsql, the
//! copy grammers links) or the account's own schema on the cluster's Postgres
//! ([`Store::open_postgres`]), where another instance that takes the account over resumes the
//! same rows: the same job ids, `random_id`s and idempotency answers. What differs on Postgres:
//! - Fencing: a batch with a write first checks, in its transaction, that this instance still
//!   holds the account's lease ([`cluster::Fence::check`], which also locks the lease row
//!   `FOR SHARE`, so a takeover waits for the commit). When it does not, every write of the
//!   batch fails with [`StoreError::Fenced`] and nothing is written; reads still run.
//! - Request bodies are stored whole in the row (`BYTEA`), a spooled upload too (the send
//!   itself still reads its spool file on this instance): the writer reads the file into
//!   memory and sends it to the database in the batch's transaction. That costs memory and
//!   writer time for the body's size (a 100 MiB upload holds up its batch for as long as
//!   sending 100 MiB to the database takes), the size again in the database's WAL and table
//!   (until the send is finished and its body cleared), and, on a takeover, every open body
//!   read into memory at once ([`Store::open_jobs`] answers [`StoredBody::Inline`]). A value
//!   is capped at 1 GiB, hence [`MAX_ROW_BODY`].
//! - A failed statement aborts a Postgres transaction, so it fails its whole batch (rolled
//!   back, every request answered [`StoreError::Commit`]); on SQLite only that request fails.
//! - Job ids come from an identity column: they keep growing across owners and are never
//!   reused (SQLite reuses the largest id once its row is gone; a batch rolled back on
//!   Postgres leaves a gap). Finish times are the database's clock, not an instance's.
//!
//! One writer task owns the connection and runs what callers ask in batches: whatever is
//! waiting when it turns to the queue of requests runs in one transaction, and only then is
//! answered. Concurrent sends thus share one commit (each commit rewrites the pages it touched,
//! so one per send would write the same pages again and again) and none is answered before it
//! is on disk. A stored send's callback runs on the writer in row order, so the queue's lanes
//! get their sends in job id order without a lock held across the write. Finishing a send is
//! not awaited: it rides with the next transaction that stores new sends (or within 20 ms), so
//! a busy queue commits about once per batch.

mod ops;
mod postgres;
mod sqlite;
#[cfg(test)]
mod tests;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::{mpsc, oneshot};

use ops::{Op, Reply};
use writer::Writer;

pub use postgres::MAX_ROW_BODY;

/// Why the queue store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Opening or creating the SQLite file failed.
    #[error("cannot open the send queue {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: libsql::Error,
    },
    /// An SQLite statement failed.
    #[error("send queue {op} failed: {source}")]
    Sql {
        /// What was being done.
        op: &'static str,
        /// Why.
        source: libsql::Error,
    },
    /// A Postgres statement failed (at open, or in a batch: then the whole batch is rolled
    /// back and every request of it fails).
    #[error("send queue {op} on postgres failed: {source}")]
    Postgres {
        /// What was being done.
        op: &'static str,
        /// Why (sqlx never prints the connection password).
        source: sqlx::Error,
    },
    /// The account's number or its schema's pool could not be had from the cluster (the
    /// account is not registered, the database is unreachable).
    #[error("cannot open the send queue of account {account}: {source}")]
    Cluster {
        /// The account.
        account: String,
        /// Why.
        source: cluster::ClusterError,
    },
    /// Another instance owns the account now (the lease the store was opened with expired or
    /// was taken over): the write was refused and nothing of it was written. Reads still work;
    /// the new owner resumes the account's open sends, so this instance must stop sending for
    /// the account.
    #[error("the send queue of account {account} belongs to another instance now")]
    Fenced {
        /// The account.
        account: String,
    },
    /// A request body larger than a Postgres row of the queue holds: at
    /// [`Store::open_postgres`], a `body_limit` above [`MAX_ROW_BODY`]; at insert, a body above
    /// the `body_limit` given at open.
    #[error("a request body of {bytes} bytes is larger than the send queue stores ({max})")]
    TooLarge {
        /// The size asked for, bytes.
        bytes: usize,
        /// The most stored, bytes.
        max: usize,
    },
    /// A text of the request (its `chat_id`, idempotency key…) holds a NUL character, which a
    /// Postgres row cannot store (SQLite stores it).
    #[error("the send queue on postgres cannot store a {field} holding a NUL character")]
    NulInText {
        /// Which text.
        field: &'static str,
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
    /// The spool directory (large request bodies) cannot be created or listed, or a spool file
    /// cannot be read into a Postgres row.
    #[error("cannot use the send queue's spool: {0}")]
    Spool(std::io::Error),
}

/// Where a queue on Postgres lives ([`Store::open_postgres`]): the cluster, and the lease of the
/// account whose queue it is (the account is the fence's).
#[derive(Clone, Debug)]
pub struct PostgresQueue {
    /// The shared database.
    pub cluster: cluster::Cluster,
    /// The account's lease as this instance holds it; every write is checked against it.
    pub fence: cluster::Fence,
}

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

/// A request body: small ones in memory; a large upload in a spool file beside the queue (so
/// memory stays bounded whatever the upload's size). On SQLite the row holds a small body and
/// names a spool file (SQLite holds no large blobs); on Postgres the row holds every body
/// whole, so that another instance can resume the send, and a resumed body comes back
/// [`StoredBody::Inline`].
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

/// The queue, written by one writer task.
pub struct Store {
    ops: mpsc::UnboundedSender<Op>,
    /// Transactions the writer has run (tests see a deferred write committed without asking
    /// the writer anything).
    commits: Arc<AtomicU64>,
}

impl Store {
    /// Opens (creating) the queue at `path` in WAL mode (`:memory:` keeps it in memory) and
    /// starts its writer task.
    ///
    /// Errors: [`StoreError::Open`] when the file cannot be opened or its schema written.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self::start(Writer::Sqlite(
            sqlite::Writer::open(path).await?,
        )))
    }

    /// Opens the queue of `fence`'s account on `cluster`'s Postgres and starts its writer task:
    /// table `sends` in the account's schema `sendq_<account id>` ([`cluster::account_schema`]),
    /// created if missing in a transaction fenced like every write. Whatever a previous owner
    /// of the account left is this store's: the same rows, job ids and answers.
    ///
    /// Every write transaction first checks, with [`cluster::Fence::check`], that `fence` still
    /// holds the account's lease, and fails with [`StoreError::Fenced`] when it does not. Each
    /// request body is stored whole in its row, spool files included (read into memory to be
    /// written), so another instance can resume it; `body_limit` (bytes) is the largest the
    /// sender accepts, at most [`MAX_ROW_BODY`].
    ///
    /// Errors: [`StoreError::TooLarge`] for a `body_limit` over [`MAX_ROW_BODY`],
    /// [`StoreError::Cluster`] (account not registered, database unreachable),
    /// [`StoreError::Fenced`], [`StoreError::Postgres`].
    pub async fn open_postgres(
        cluster: &cluster::Cluster,
        fence: cluster::Fence,
        body_limit: usize,
    ) -> Result<Self, StoreError> {
        let writer = postgres::Writer::open(cluster, fence, body_limit).await?;
        Ok(Self::start(Writer::Postgres(writer)))
    }

    fn start(writer: Writer) -> Self {
        let (ops, requests) = mpsc::unbounded_channel();
        let commits = Arc::new(AtomicU64::new(0));
        tokio::spawn(writer.run(requests, commits.clone()));
        Self { ops, commits }
    }

    /// How many transactions the writer has run since the store was opened (a deferred
    /// write shows up here once it is committed).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
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
