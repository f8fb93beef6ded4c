//! The Postgres backend of the queue's [`Store`](super::Store), for several instances sharing
//! accounts: table `sends` in the account's own schema (`sendq_<account id>`), so an instance
//! that takes the account over resumes its open sends from the same rows, with the same job
//! ids, `random_id`s and kept answers.
//!
//! What differs from the SQLite file is said in [`super`].

use axum::body::Bytes;
use cluster::{Cluster, Fence};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use super::ops::{Done, Op, settle};
use super::{Answer, Job, Known, StoreError, StoredBody};

/// The largest request body a Postgres row of the queue holds, bytes: 1 GiB (PostgreSQL's cap
/// on one value and one protocol message) less 1 MiB for the row's other fields.
pub const MAX_ROW_BODY: usize = (1 << 30) - (1 << 20);

/// The store's name in the account's schema name ([`cluster::account_schema`]).
pub(super) const STORE: &str = "sendq";

/// Connections of the writer's pool: it runs one transaction at a time.
const CONNECTIONS: u32 = 1;

/// As the SQLite table, in Postgres types: the job id an identity (shared by every owner),
/// flags `BOOLEAN`, bodies and answers `BYTEA`, times `TIMESTAMPTZ`. No `body_file`: the row
/// holds every body.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sends (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key TEXT,
    method TEXT NOT NULL,
    lane TEXT NOT NULL,
    random_id BIGINT NOT NULL,
    is_async BOOLEAN NOT NULL,
    content_type TEXT,
    query TEXT,
    body BYTEA NOT NULL,
    done BOOLEAN NOT NULL DEFAULT false,
    status INTEGER,
    result BYTEA,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    done_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS sends_key ON sends (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS sends_done ON sends (done_at) WHERE done;
";

const INSERT: &str = "INSERT INTO sends (idempotency_key, method, lane, random_id, is_async,
    content_type, query, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
const FINISH: &str = "UPDATE sends SET done = true, status = $2, result = $3, body = '',
    done_at = now() WHERE id = $1";
const FORGET: &str = "DELETE FROM sends WHERE id = $1";
const CANCEL: &str = "DELETE FROM sends WHERE id = $1 AND NOT done";
const PRUNE: &str =
    "DELETE FROM sends WHERE done AND done_at < now() - $1::float8 * interval '1 second'";
const GET: &str = "SELECT id, done, status, result FROM sends WHERE id = $1";
const FIND_KEY: &str = "SELECT id, done, status, result FROM sends WHERE idempotency_key = $1";
const OPEN_JOBS: &str = "SELECT id, method, lane, random_id, is_async, content_type, query,
    body, idempotency_key IS NOT NULL FROM sends WHERE NOT done ORDER BY id";

type KnownRow = (i64, bool, Option<i32>, Option<Vec<u8>>);
type JobRow = (
    i64,
    String,
    String,
    i64,
    bool,
    Option<String>,
    Option<String>,
    Vec<u8>,
    bool,
);

fn pg(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Postgres { op, source }
}

/// The writer's pool (on the account's schema), the lease it writes under, and the largest
/// body it stores.
pub(super) struct Writer {
    pool: PgPool,
    fence: Fence,
    body_limit: usize,
}

impl Writer {
    /// Opens the queue of `fence`'s account: its schema's pool, and the table created in a
    /// fenced transaction (so two instances never race to create it).
    ///
    /// Errors: as [`super::Store::open_postgres`].
    pub(super) async fn open(
        cluster: &Cluster,
        fence: Fence,
        body_limit: usize,
    ) -> Result<Self, StoreError> {
        if body_limit > MAX_ROW_BODY {
            return Err(StoreError::TooLarge {
                bytes: body_limit,
                max: MAX_ROW_BODY,
            });
        }
        let account = fence.account.clone();
        let from_cluster = |source| StoreError::Cluster {
            account: account.clone(),
            source,
        };
        let id = cluster.account_id(&account).await.map_err(from_cluster)?;
        let pool = cluster
            .store_pool(&cluster::account_schema(STORE, id), CONNECTIONS)
            .await
            .map_err(from_cluster)?;
        let writer = Self {
            pool,
            fence,
            body_limit,
        };
        let mut tx = writer.pool.begin().await.map_err(pg("open"))?;
        if !writer.fence.check(&mut tx).await.map_err(pg("open"))? {
            return Err(writer.fenced());
        }
        sqlx::raw_sql(SCHEMA)
            .execute(&mut *tx)
            .await
            .map_err(pg("create table"))?;
        tx.commit().await.map_err(pg("open"))?;
        Ok(writer)
    }

    fn fenced(&self) -> StoreError {
        StoreError::Fenced {
            account: self.fence.account.clone(),
        }
    }

    /// Runs `ops` in one transaction and answers each after the commit. A batch with a write
    /// first checks the fence; when the lease has moved, its writes are refused and its reads
    /// still answered. A failed statement rolls the whole batch back.
    pub(super) async fn transaction(&self, ops: Vec<Op>) {
        let writes = ops.iter().any(Op::writes);
        let (mut tx, fenced) = match self.begin(writes).await {
            Ok(begun) => begun,
            Err(e) => {
                tracing::error!(error = %e, "starting a send queue transaction failed");
                Op::fail_all(ops, &e.to_string());
                return;
            }
        };
        let mut done = Vec::with_capacity(ops.len());
        let mut spooled = Vec::new();
        for op in ops {
            if fenced && op.writes() {
                done.push(Done::Refused(op, self.fenced()));
                continue;
            }
            spooled.extend(op.spooled_body());
            done.push(self.apply(&mut tx, op).await);
        }
        let failed = end(tx, aborted(&done)).await;
        settle(done, spooled, failed);
    }

    /// Begins a batch's transaction and, when the batch `writes`, checks the fence in it;
    /// whether the lease has moved.
    async fn begin(
        &self,
        writes: bool,
    ) -> Result<(Transaction<'static, Postgres>, bool), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let fenced = writes && !self.fence.check(&mut tx).await?;
        if fenced {
            tracing::error!(
                account = %self.fence.account,
                "the account's lease moved: the send queue refuses writes"
            );
        }
        Ok((tx, fenced))
    }

    async fn apply(&self, conn: &mut PgConnection, op: Op) -> Done {
        match op {
            Op::Insert { job, key, then } => {
                let known = self.insert(conn, &job, key.as_deref()).await;
                Done::Insert(known, job, then)
            }
            Op::Finish { id, answer, .. } => {
                let finished = sqlx::query(FINISH)
                    .bind(id)
                    .bind(i32::from(answer.status))
                    .bind(answer.body.as_ref())
                    .execute(conn)
                    .await
                    .map(|_| ())
                    .map_err(pg("finish"));
                Done::Logged(finished, "recording a send's answer")
            }
            Op::Forget { id, .. } => {
                let forgotten = sqlx::query(FORGET)
                    .bind(id)
                    .execute(conn)
                    .await
                    .map(|_| ())
                    .map_err(pg("forget"));
                Done::Logged(forgotten, "forgetting a finished send")
            }
            Op::Cancel { id, reply } => {
                let cancelled = sqlx::query(CANCEL)
                    .bind(id)
                    .execute(conn)
                    .await
                    .map(|_| ())
                    .map_err(pg("cancel"));
                Done::Unit(cancelled, reply)
            }
            Op::Get { id, reply } => Done::Get(get(conn, id).await, reply),
            Op::OpenJobs { reply } => Done::Jobs(open_jobs(conn).await, reply),
            Op::Prune { keep, reply } => {
                let pruned = sqlx::query(PRUNE)
                    .bind(keep.as_secs_f64())
                    .execute(conn)
                    .await
                    .map(|done| done.rows_affected())
                    .map_err(pg("prune"));
                Done::Count(pruned, reply)
            }
        }
    }

    async fn insert(
        &self,
        conn: &mut PgConnection,
        job: &Job,
        key: Option<&str>,
    ) -> Result<Known, StoreError> {
        check_text(job, key)?;
        if let Some(key) = key
            && let Some(known) = find_key(&mut *conn, key).await?
        {
            return Ok(known);
        }
        let body = match &job.body {
            StoredBody::Inline(bytes) => bytes.clone(),
            StoredBody::File(path) => Bytes::from(
                tokio::fs::read(path.as_ref())
                    .await
                    .map_err(StoreError::Spool)?,
            ),
        };
        if body.len() > self.body_limit {
            return Err(StoreError::TooLarge {
                bytes: body.len(),
                max: self.body_limit,
            });
        }
        let id = sqlx::query_scalar(INSERT)
            .bind(key)
            .bind(&job.method)
            .bind(&job.lane)
            .bind(job.random_id)
            .bind(job.is_async)
            .bind(job.content_type.as_deref())
            .bind(job.query.as_deref())
            .bind(body.as_ref())
            .fetch_one(conn)
            .await
            .map_err(pg("insert"))?;
        Ok(Known::Inserted(id))
    }
}

/// Refuses a send whose text holds a NUL character (a JSON `chat_id` or `idempotency_key`
/// may), which Postgres's `TEXT` cannot store: caught here it fails that request alone, where
/// the statement would abort the whole batch.
fn check_text(job: &Job, key: Option<&str>) -> Result<(), StoreError> {
    let fields = [
        ("idempotency key", key),
        ("method", Some(job.method.as_str())),
        ("chat_id", Some(job.lane.as_str())),
        ("content type", job.content_type.as_deref()),
        ("query string", job.query.as_deref()),
    ];
    match fields
        .into_iter()
        .find(|(_, text)| text.is_some_and(|text| text.contains('\0')))
    {
        Some((field, _)) => Err(StoreError::NulInText { field }),
        None => Ok(()),
    }
}

/// The first failed statement of a batch, if any: it aborted the transaction.
fn aborted(done: &[Done]) -> Option<String> {
    done.iter()
        .filter_map(Done::error)
        .find(|e| matches!(e, StoreError::Postgres { .. }))
        .map(ToString::to_string)
}

/// Commits `tx`, or rolls it back when a statement of it failed (`aborted`: Postgres would
/// answer the commit with a rollback); why the batch failed, if it did.
async fn end(tx: Transaction<'static, Postgres>, aborted: Option<String>) -> Option<String> {
    if let Some(why) = aborted {
        tracing::error!(error = %why, "a send queue statement failed; the batch is rolled back");
        let _ = tx.rollback().await;
        return Some(why);
    }
    tx.commit().await.err().map(|e| {
        tracing::error!(error = %e, "committing the send queue failed");
        e.to_string()
    })
}

async fn get(conn: &mut PgConnection, id: i64) -> Result<Option<Known>, StoreError> {
    let row: Option<KnownRow> = sqlx::query_as(GET)
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(pg("get"))?;
    row.map(known).transpose()
}

async fn find_key(conn: &mut PgConnection, key: &str) -> Result<Option<Known>, StoreError> {
    let row: Option<KnownRow> = sqlx::query_as(FIND_KEY)
        .bind(key)
        .fetch_optional(conn)
        .await
        .map_err(pg("find key"))?;
    row.map(known).transpose()
}

fn known((id, done, status, result): KnownRow) -> Result<Known, StoreError> {
    if !done {
        return Ok(Known::Open(id));
    }
    let status = status
        .and_then(|status| u16::try_from(status).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("job {id} has an invalid status")))?;
    Ok(Known::Done(
        id,
        Answer {
            status,
            body: result.unwrap_or_default().into(),
        },
    ))
}

async fn open_jobs(conn: &mut PgConnection) -> Result<Vec<Job>, StoreError> {
    let rows: Vec<JobRow> = sqlx::query_as(OPEN_JOBS)
        .fetch_all(conn)
        .await
        .map_err(pg("load"))?;
    Ok(rows
        .into_iter()
        .map(
            |(id, method, lane, random_id, is_async, content_type, query, body, keyed)| Job {
                id,
                method,
                lane,
                random_id,
                is_async,
                keyed,
                content_type,
                query,
                body: StoredBody::Inline(body.into()),
            },
        )
        .collect())
}
