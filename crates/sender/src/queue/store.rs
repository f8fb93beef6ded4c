//! The queue's SQLite file (libsql, the copy grammers links): one row per send, written before
//! the send is first tried and holding its `random_id`, so a restart — `kill -9` included —
//! resumes every open send with the same `random_id` and Telegram sees each once. Finished rows
//! keep their answer for the idempotency window, then are pruned.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libsql::{Connection, Value, params};
use tokio::sync::Mutex;

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

/// The queue file behind one connection.
pub struct Store {
    conn: Mutex<Connection>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl Store {
    /// Opens (creating) the queue at `path` in WAL mode (`:memory:` keeps it in memory).
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
        // write to one fsync-free append.
        for pragma in [
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=5000",
        ] {
            let mut rows = conn.query(pragma, ()).await.map_err(open)?;
            while let Ok(Some(_)) = rows.next().await {}
        }
        conn.execute_batch(SCHEMA).await.map_err(open)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Stores a new send ([`Known::Inserted`]), or finds the one stored under the same
    /// idempotency key (then nothing is inserted). `job.id` is ignored.
    pub async fn insert(&self, job: &Job, key: Option<&str>) -> Result<Known, StoreError> {
        let conn = self.conn.lock().await;
        if let Some(key) = key
            && let Some(known) = find_key(&conn, key).await?
        {
            return Ok(known);
        }
        conn.execute(
            "INSERT INTO jobs (idempotency_key, method, lane, random_id, is_async, content_type,
                 query, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                key,
                job.method.as_str(),
                job.lane.as_str(),
                job.random_id,
                i64::from(job.is_async),
                job.content_type.as_deref(),
                job.query.as_deref(),
                job.body.clone(),
                now(),
            ],
        )
        .await
        .map_err(sql("insert"))?;
        Ok(Known::Inserted(conn.last_insert_rowid()))
    }

    /// Records the answer of job `id` and drops its request body.
    pub async fn finish(&self, id: i64, answer: &Answer) -> Result<(), StoreError> {
        let conn = self.conn.lock().await;
        conn.execute(
            "UPDATE jobs SET done = 1, status = ?2, result = ?3, body = x'', done_at = ?4
             WHERE id = ?1",
            params![id, i64::from(answer.status), answer.body.clone(), now()],
        )
        .await
        .map_err(sql("finish"))?;
        Ok(())
    }

    /// Forgets job `id` (a synchronous send given up before it was tried: the client was told
    /// 429 and will send again).
    pub async fn cancel(&self, id: i64) -> Result<(), StoreError> {
        let conn = self.conn.lock().await;
        conn.execute("DELETE FROM jobs WHERE id = ?1 AND done = 0", params![id])
            .await
            .map_err(sql("cancel"))?;
        Ok(())
    }

    /// Every open job, oldest first (at start: what a previous run left).
    pub async fn open_jobs(&self) -> Result<Vec<Job>, StoreError> {
        let conn = self.conn.lock().await;
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

    /// What is known of job `id`; `None` when there is no such job (never, or pruned).
    pub async fn get(&self, id: i64) -> Result<Option<Known>, StoreError> {
        let conn = self.conn.lock().await;
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

    /// Deletes finished jobs older than `keep`; how many went.
    pub async fn prune(&self, keep: Duration) -> Result<u64, StoreError> {
        let conn = self.conn.lock().await;
        let before = now() - keep.as_secs() as i64;
        conn.execute(
            "DELETE FROM jobs WHERE done = 1 AND done_at < ?1",
            params![before],
        )
        .await
        .map_err(sql("prune"))
    }
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
