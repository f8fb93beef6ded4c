//! The durable outbox: every forwarded update is a row in an SQLite file of its own
//! (`OUTBOX_PATH`), or in the account's tables in Postgres, before the update position moves
//! past it, and stays there until the webhook answered 2xx (then its natural key is kept a
//! while longer for de-duplication, its body only until archived) or it grew too old (then it
//! is a dead letter that can be listed and replayed).
//!
//! Rows, one per update (`updates` table):
//! - `id` is the update's `update_id`: monotonic per outbox, starting at a random base as the
//!   Bot API does; the `webhook-id` header is derived from it, so both are stable across
//!   retries and restarts.
//! - `natural_key` (unique) names the update itself (`new:<chat>:<message>`, …): an update
//!   replayed by getDifference after a crash finds its row and is not stored twice.
//! - `status`: [`Status`]. A chat's rows are delivered in `id` order: a chat's oldest open
//!   row (media or ready) holds back the chat's later ones; other chats go on.
//!
//! Two backends, chosen at open, with the same API and behaviour:
//! - [`Outbox::open`]: an SQLite file (or [`IN_MEMORY`]). SQLite comes from libsql, the copy
//!   grammers links (rusqlite would not link beside it).
//! - [`Outbox::open_postgres`]: one account's outbox in the database several gateway
//!   instances share (`cluster`), so another instance can take the account over with its
//!   outbox. Writes there are fenced by the account's lease ([`OutboxError::Fenced`]).
//!
//! Modules: `db` (the connection: one interface over both backends, so each query is written
//! once), `value` (parameters and rows of both), `pg` (what only Postgres needs: its
//! connection, the lease check, the write lock, its schema version), `schema` (pragmas,
//! tables, open checks), `rows` (row types), `queries`, `polling`, `sink` (the queue of the
//! second target, NATS JetStream: its own rows, same order rules).

/// The statement text of a template naming statuses as `{media}`, `{open}`, …
/// ([`Status::in_sql`]), built on first use and kept, so it is `'static` like a literal and
/// `Db` prepares it once.
macro_rules! sql {
    ($template:expr) => {{
        static TEXT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| Status::in_sql($template));
        TEXT.as_str()
    }};
}

/// Statement parameters ([`value::Param`]) as an array: `params![id, text, None::<i64>]`.
macro_rules! params {
    ($($param:expr),* $(,)?) => {
        [$($crate::value::Param::from($param)),*]
    };
}

// First: its macro is used by the test modules below.
#[cfg(test)]
#[macro_use]
mod testing;

mod db;
mod pg;
#[cfg(test)]
mod pg_tests;
mod polling;
#[cfg(test)]
mod polling_tests;
mod queries;
mod rows;
mod schema;
mod sink;
#[cfg(test)]
mod sink_tests;
#[cfg(test)]
mod tests;
mod value;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use cluster::{Cluster, ClusterError, Fence};
use tokio::sync::{Mutex, MutexGuard};

use db::Db;

pub use polling::{
    EnvWebhook, FETCH_MAX, Polled, RuntimeWebhook, Target, WebhookState, allowed, default_kind,
};
pub use queries::{LANE_ROWS, PRUNE_BATCH};
pub use rows::{DeadLetter, Download, Due, Inserted, NewUpdate, Outcome, PendingMedia, Stats};
pub use sink::{SINK_LANE_ROWS, SinkRow, SinkState, SinkStats};

/// Where a row is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i64)]
pub enum Status {
    /// Stored; its media is still being downloaded. Holds back its chat.
    Media = 0,
    /// Ready to deliver (or being retried).
    Ready = 1,
    /// The webhook answered 2xx (or there is no webhook).
    Delivered = 2,
    /// Older than the maximum age after failed attempts: a dead letter.
    Dead = 3,
}

impl Status {
    /// The statuses of open rows, which hold back their chat.
    const OPEN: [Status; 2] = [Status::Media, Status::Ready];

    /// `text` with `{media}`, `{ready}`, `{delivered}`, `{dead}` replaced by their numbers and
    /// `{open}` by the open ones as a list (`0, 1`), so SQL names statuses only through this
    /// enum. The numbers end up as literals in the statement text, never bound: a bound
    /// status would keep SQLite from the partial indexes on open rows (and, with STAT4,
    /// re-prepare the statement on every new value).
    fn in_sql(text: &str) -> String {
        let open = Self::OPEN.map(|s| (s as i64).to_string()).join(", ");
        let sql = text
            .replace("{media}", &(Status::Media as i64).to_string())
            .replace("{ready}", &(Status::Ready as i64).to_string())
            .replace("{delivered}", &(Status::Delivered as i64).to_string())
            .replace("{dead}", &(Status::Dead as i64).to_string())
            .replace("{open}", &open);
        debug_assert!(!sql.contains('{'), "unknown placeholder in {sql}");
        sql
    }
}

/// Why the outbox failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// Creating the file or its directory failed.
    #[error("cannot create the outbox file {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite failed (unreadable file, not a database, disk full, …).
    #[error("outbox database error during {op}: {source}")]
    Sql {
        /// What was being done.
        op: &'static str,
        /// The libsql error.
        #[source]
        source: libsql::Error,
    },
    /// Postgres failed (unreachable, connection lost, a statement refused, …); on a lost
    /// connection the next call connects again.
    #[error("outbox postgres error during {op}: {source}")]
    Postgres {
        /// What was being done.
        op: &'static str,
        /// sqlx's error.
        #[source]
        source: sqlx::Error,
    },
    /// A Postgres outbox's write was refused: this instance no longer holds `account`'s lease
    /// (another instance owns the account now, or the lease expired). Nothing was written; the
    /// outbox must not be written again under this lease ([`Outbox::open_postgres`] with the
    /// lease of a new acquisition may). The check and the rule are `cluster`'s
    /// ([`Fence::check`]).
    #[error("the outbox of account {account} belongs to another instance now; nothing was written")]
    Fenced {
        /// The account.
        account: String,
    },
    /// Opening a Postgres outbox failed in the cluster: the account is not registered, or its
    /// schema or connection pool could not be made.
    #[error("cannot open the outbox in the cluster: {0}")]
    Cluster(#[from] ClusterError),
    /// The file is damaged or was written by a newer version.
    #[error("the outbox is corrupt or unsupported: {0}")]
    Corrupt(String),
}

/// The outbox: an SQLite file, or an account's tables in Postgres. Cheap to share behind an
/// `Arc`; one connection, one statement at a time.
pub struct Outbox {
    path: PathBuf,
    conn: Mutex<Db>,
    mode: Mode,
    sink_wake: std::sync::Arc<tokio::sync::Notify>,
}

/// How rows are written: set once with [`Outbox::with_mode`] before sharing.
#[derive(Clone, Debug, Default)]
pub struct Mode {
    /// A webhook is configured: ready rows wait for delivery (else they count as delivered).
    pub deliver: bool,
    /// `ARCHIVE_DIR` is set: rows are archived when final.
    pub archive: bool,
    /// Prefix of `webhook-id`s (the account, so ids of two accounts never collide).
    pub id_prefix: String,
    /// `NATS_URL` is set: every fresh update is also queued for the JetStream sink.
    pub sink: bool,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("path", &self.path).finish()
    }
}

/// The `OUTBOX_PATH` that keeps the outbox in memory (SQLite's name for it); see
/// [`Outbox::open`].
pub const IN_MEMORY: &str = ":memory:";

/// The store name of the outbox in the cluster: an account's outbox tables are in schema
/// `outbox_<account id>` ([`cluster::account_schema`]).
pub const PG_STORE: &str = "outbox";

/// Connections of a Postgres outbox's pool: the outbox takes one out and keeps it (one
/// statement at a time, as on SQLite); the pool opens its replacement after a failure.
const PG_CONNECTIONS: u32 = 1;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Outbox {
    /// Opens (creating with mode 0600 when missing) the outbox at `path`, switches it to WAL
    /// with `synchronous=NORMAL` (a stored update survives a crash or kill of the process; a
    /// power cut may lose the last commits, which Telegram then replays through
    /// getDifference from the older saved position), checks its integrity and migrates the
    /// schema.
    ///
    /// Errors: the file cannot be created or read, is not an SQLite database, fails
    /// `PRAGMA quick_check`, or has a newer schema. A damaged outbox is never replaced by an
    /// empty one: the receiver refuses to start instead.
    ///
    /// [`IN_MEMORY`] (`:memory:`) keeps the outbox in memory instead: the same ordering,
    /// retries and de-duplication while the process runs, but nothing survives a restart —
    /// neither undelivered updates nor the update position (the receiver then starts from
    /// now).
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, OutboxError> {
        let path = path.as_ref().to_path_buf();
        if path.as_os_str() != IN_MEMORY {
            schema::prepare_file(&path).await?;
        }
        let sql = |op| move |source| OutboxError::Sql { op, source };
        let db = libsql::Builder::new_local(&path)
            .build()
            .await
            .map_err(sql("open"))?;
        let conn = db.connect().map_err(sql("open"))?;
        schema::configure(&conn).await?;
        schema::check(&conn).await?;
        schema::migrate(&conn).await?;
        Ok(Self {
            path,
            conn: Mutex::new(Db::sqlite(db, conn)),
            mode: Mode::default(),
            sink_wake: Default::default(),
        })
    }

    /// Opens the outbox of account `fence.account` in the cluster's database, writing as the
    /// holder of the lease `fence` names (from [`cluster::Lease::fence_token`]); creates its
    /// tables in the account's schema (`outbox_<account id>`, see [`PG_STORE`]) or migrates
    /// them, in a transaction fenced like every write. A new owner of the account opens it
    /// the same way and finds every row, the update position and the webhook settings as
    /// the last owner committed them.
    ///
    /// Same API and behaviour as a file, except: the outbox is as durable as the database's
    /// commits (`synchronous_commit`); every write first checks the lease
    /// ([`OutboxError::Fenced`]); [`Outbox::data_version`] also changes with this handle's
    /// own commits; [`Outbox::path`] is `postgres:<schema>`; [`Outbox::writable`] also says
    /// whether the lease is still held.
    ///
    /// Errors: [`OutboxError::Cluster`] (the account is not registered, the schema or pool
    /// cannot be made), [`OutboxError::Fenced`], [`OutboxError::Postgres`],
    /// [`OutboxError::Corrupt`] when the tables have a newer schema version.
    pub async fn open_postgres(cluster: &Cluster, fence: Fence) -> Result<Self, OutboxError> {
        let id = cluster.account_id(&fence.account).await?;
        let schema = cluster::account_schema(PG_STORE, id);
        let pool = cluster.store_pool(&schema, PG_CONNECTIONS).await?;
        let pg = pg::Pg::open(pool, fence).await?;
        Ok(Self {
            path: PathBuf::from(format!("postgres:{schema}")),
            conn: Mutex::new(Db::postgres(pg)),
            mode: Mode::default(),
            sink_wake: Default::default(),
        })
    }

    /// The connection, for one operation (ending first a transaction that a dropped future
    /// left open).
    async fn db(&self) -> MutexGuard<'_, Db> {
        let mut db = self.conn.lock().await;
        db.settle().await;
        db
    }

    /// Sets how rows are written (see [`Mode`]).
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The `webhook-id` of row `id`: `<prefix><id>`, stable across retries and restarts.
    pub fn webhook_id(&self, id: i64) -> String {
        format!("{}{id}", self.mode.id_prefix)
    }

    fn ready_status(&self) -> Status {
        if self.mode.deliver {
            Status::Ready
        } else {
            Status::Delivered
        }
    }

    /// Whether the outbox lives in memory ([`IN_MEMORY`]): nothing survives a restart.
    pub fn in_memory(&self) -> bool {
        self.path.as_os_str() == IN_MEMORY
    }

    /// The file; for an outbox in Postgres, `postgres:<schema>` (no file).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a write transaction can be taken right now (for `/readyz`); in Postgres also
    /// whether this instance still holds the account's lease.
    pub async fn writable(&self) -> bool {
        self.db().await.writable().await
    }
}
