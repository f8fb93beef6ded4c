//! Several gateway instances sharing accounts through one Postgres database.
//!
//! Telegram refuses two live owners of one auth key (`AUTH_KEY_DUPLICATED`, lost updates), so
//! the shape is "one owner per account, another takes over when it dies":
//! - [`Cluster`]: the connection pool (sqlx) and the schema (`migrations/`, run at
//!   [`Cluster::connect`]); this instance's heartbeat ([`Cluster::heartbeat`]) and the account
//!   registry ([`Cluster::register_account`], [`Cluster::accounts`]).
//! - [`lease`]: a lease row per account (owner, fencing token, expiry on the database's clock).
//!   Acquiring takes only a free or expired lease and bumps the fencing token; a holder treats
//!   its lease as lost at a local deadline that falls before the database's expiry, so it stops
//!   before anyone else can start.
//! - [`PgSession`]: grammers' `Session` on Postgres for one account; every write checks, in
//!   its transaction, that the writer still holds the lease with its fencing token
//!   ([`session::SessionError::Fenced`] otherwise).
//! - [`Ownership`]: the loop that takes this instance's fair share of the accounts, renews
//!   their leases and reports [`Change`]s (start serving / stop serving) to the caller;
//!   [`Follower`]: the same changes for the instance's second process, which holds no lease.
//!
//! Times are the database's (`now()`), never compared across machines' clocks; durations are
//! milliseconds in SQL and [`std::time::Duration`] in Rust.

mod follower;
pub mod lease;
mod ownership;
mod pg_session;
mod sql;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

pub use follower::Follower;
pub use lease::{Lease, LeaseState};
pub use ownership::{Change, Ownership, OwnershipConfig};
pub use pg_session::PgSession;

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// `DATABASE_URL` is not a Postgres URL sqlx accepts. The URL itself is never quoted (it
    /// may hold a password).
    #[error("DATABASE_URL is not a valid postgres:// URL: {0}")]
    InvalidUrl(String),
    /// The database refused or failed an operation (connection, query, migration).
    #[error("postgres error during {op}: {source}")]
    Postgres {
        /// What was being done, e.g. `"acquire lease"`.
        op: &'static str,
        /// sqlx's error (sqlx never prints the connection password).
        #[source]
        source: sqlx::Error,
    },
    /// The schema could not be brought to this version.
    #[error("postgres migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The account is not in the registry.
    #[error("account {0} is not registered")]
    UnknownAccount(String),
    /// The account is being served by an instance (its lease is live); stop that first.
    #[error("account {0} is being served by instance {1}")]
    AccountBusy(String, String),
    /// The account's session store failed.
    #[error("session store: {0}")]
    Session(#[from] session::SessionError),
}

/// Wraps a sqlx error with what was being done.
pub(crate) fn pg(op: &'static str) -> impl FnOnce(sqlx::Error) -> ClusterError {
    move |source| ClusterError::Postgres { op, source }
}

/// The schema this crate needs (`crates/cluster/migrations`), embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Who may write an account's rows: the holder of its lease, by owner and fencing token.
///
/// Every store that keeps an account's state in Postgres (its session, outbox, send queue)
/// calls [`Fence::check`] first in each write transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The account's name.
    pub account: String,
    /// The holding instance.
    pub owner: String,
    /// The fencing token of the holder's lease.
    pub token: i64,
}

impl Fence {
    /// Whether the lease is still this holder's and live, checked inside the caller's
    /// transaction on `conn`; when it is, its row stays locked (`FOR SHARE`) until that
    /// transaction ends, so a takeover (which updates the row) waits for the write and every
    /// write after the takeover sees the new owner.
    pub async fn check(&self, conn: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
        let held: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM public.gateway_leases
             WHERE account = $1 AND owner = $2 AND fence = $3 AND expires_at > now()
             FOR SHARE",
        )
        .bind(&self.account)
        .bind(&self.owner)
        .bind(self.token)
        .fetch_optional(conn)
        .await?;
        Ok(held.is_some())
    }
}

/// Where an account's requests go ([`Cluster::route`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The account's name.
    pub account: String,
    /// The instance owning it now, if any.
    pub owner: Option<String>,
    /// That instance's sender URL (`CLUSTER_SENDER_URL`), if it gave one.
    pub sender_url: Option<String>,
}

/// The Postgres schema holding one store's tables for one account: `<store>_<account id>`
/// (for example `outbox_7`; the id from [`Cluster::account_id`]).
pub fn account_schema(store: &str, account_id: i64) -> String {
    format!("{store}_{account_id}")
}

/// One instance's handle on the shared database: a connection pool and the instance's id.
///
/// Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Cluster {
    pool: PgPool,
    instance: String,
}

impl Cluster {
    /// Connects to `database_url` (`postgres://user:password@host:port/db`, sqlx's URL
    /// options such as `sslmode` apply) with a pool of at most `max_connections`, and runs the
    /// migrations (concurrent starts are safe: sqlx takes an advisory lock).
    ///
    /// `instance` names this instance in leases and heartbeats; two running instances must
    /// never share one (each would think the other's leases its own).
    ///
    /// Errors: [`ClusterError::InvalidUrl`], [`ClusterError::Postgres`] when the database is
    /// unreachable (within 10 s), [`ClusterError::Migrate`].
    pub async fn connect(
        database_url: &str,
        instance: &str,
        max_connections: u32,
    ) -> Result<Self, ClusterError> {
        let options: PgConnectOptions = database_url
            .parse()
            .map_err(|e: sqlx::Error| ClusterError::InvalidUrl(redacted_reason(&e)))?;
        let options = options
            .application_name(&format!("tg-gateway {instance}"))
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(pg("connect"))?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            instance: instance.to_owned(),
        })
    }

    /// The pool, for the other stores that live in the same database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// This instance's id (as given to [`Cluster::connect`]).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Records that this instance is alive now, and where its sender answers (`None` when it
    /// runs none). Call it at least every lease period; see [`Cluster::live_instances`].
    pub async fn heartbeat(&self, sender_url: Option<&str>) -> Result<(), ClusterError> {
        sqlx::query(
            "INSERT INTO gateway_instances (id, sender_url) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET sender_url = EXCLUDED.sender_url, seen_at = now()",
        )
        .bind(&self.instance)
        .bind(sender_url)
        .execute(&self.pool)
        .await
        .map_err(pg("heartbeat"))?;
        Ok(())
    }

    /// The instances whose heartbeat is newer than `within` (database clock), sorted by id,
    /// with their sender URLs.
    pub async fn live_instances(
        &self,
        within: Duration,
    ) -> Result<Vec<(String, Option<String>)>, ClusterError> {
        sqlx::query_as(
            "SELECT id, sender_url FROM gateway_instances
             WHERE seen_at > now() - ($1::float8 * interval '1 millisecond') ORDER BY id",
        )
        .bind(sql::millis(within))
        .fetch_all(&self.pool)
        .await
        .map_err(pg("live instances"))
    }

    /// Removes this instance's heartbeat (a clean shutdown), so it stops counting toward
    /// every instance's fair share at once.
    pub async fn leave(&self) -> Result<(), ClusterError> {
        sqlx::query("DELETE FROM gateway_instances WHERE id = $1")
            .bind(&self.instance)
            .execute(&self.pool)
            .await
            .map_err(pg("leave"))?;
        Ok(())
    }

    /// Adds `name` to the account registry with `settings` (JSON), or replaces its settings.
    pub async fn register_account(
        &self,
        name: &str,
        settings: &serde_json::Value,
    ) -> Result<(), ClusterError> {
        sqlx::query(
            "INSERT INTO gateway_accounts (name, settings) VALUES ($1, $2::text::jsonb)
             ON CONFLICT (name) DO UPDATE SET settings = EXCLUDED.settings",
        )
        .bind(name)
        .bind(settings.to_string())
        .execute(&self.pool)
        .await
        .map_err(pg("register account"))?;
        Ok(())
    }

    /// The registered account's number (stable for its lifetime; see [`account_schema`]).
    /// Errors: [`ClusterError::UnknownAccount`].
    pub async fn account_id(&self, name: &str) -> Result<i64, ClusterError> {
        sqlx::query_scalar("SELECT id FROM gateway_accounts WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(pg("account id"))?
            .ok_or_else(|| ClusterError::UnknownAccount(name.to_owned()))
    }

    /// A pool of at most `max_connections` to the same database whose connections work in
    /// `schema` (created if missing; `search_path` is `schema, public`, so a store's
    /// unqualified table names are its own and `public.gateway_leases` stays reachable).
    /// A store keeps its tables there with the same SQL it uses elsewhere. Calls for one new
    /// schema may run at once (each gets its pool).
    pub async fn store_pool(
        &self,
        schema: &str,
        max_connections: u32,
    ) -> Result<PgPool, ClusterError> {
        let quoted = format!("\"{}\"", schema.replace('"', "\"\""));
        let created = sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {quoted}"
        )))
        .execute(&self.pool)
        .await;
        match created {
            Ok(_) => {}
            // Another connection created it at the same moment: `IF NOT EXISTS` only skips a
            // schema already committed, a concurrent creation fails on the catalog's key.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
            Err(e) => return Err(pg("create schema")(e)),
        }
        let options = self.pool.connect_options().as_ref().clone();
        let set_path = format!("SET search_path TO {quoted}, public");
        PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                let set_path = set_path.clone();
                Box::pin(async move {
                    sqlx::query(sqlx::AssertSqlSafe(set_path))
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(pg("store pool"))
    }

    /// The settings registered with `name` (see [`Cluster::register_account`]), or `None`
    /// when it is not registered.
    pub async fn account_settings(
        &self,
        name: &str,
    ) -> Result<Option<serde_json::Value>, ClusterError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT settings::text FROM gateway_accounts WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(pg("account settings"))?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Registers `name` with `settings` and stores `data` (a session read from a file with
    /// [`session::SessionStore::export_data`]) as its session, under a lease taken for the
    /// import and given up after it. An account already registered is left as it is (returns
    /// `false`) unless `replace`.
    ///
    /// Errors: [`ClusterError::AccountBusy`] when an instance serves it now, the database's.
    pub async fn import_account(
        &self,
        name: &str,
        settings: &serde_json::Value,
        data: &grammers_session::SessionData,
        replace: bool,
    ) -> Result<bool, ClusterError> {
        if !replace && self.account_settings(name).await?.is_some() {
            return Ok(false);
        }
        if let Some((owner, _)) = self.owner_of(name).await? {
            return Err(ClusterError::AccountBusy(name.to_owned(), owner));
        }
        self.register_account(name, settings).await?;
        let user_id = data.peer_infos.values().find_map(|peer| match peer {
            grammers_session::types::PeerInfo::User {
                id,
                is_self: Some(true),
                ..
            } => Some(*id),
            _ => None,
        });
        sqlx::query("UPDATE gateway_accounts SET user_id = $2 WHERE name = $1")
            .bind(name)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(pg("import account"))?;
        let Some(lease) = self.acquire(name, Duration::from_secs(30)).await? else {
            let owner = self
                .owner_of(name)
                .await?
                .map(|(o, _)| o)
                .unwrap_or_default();
            return Err(ClusterError::AccountBusy(name.to_owned(), owner));
        };
        let stored = async {
            let store = PgSession::open(self, &lease.fence_token()).await?;
            store.import(data).await
        }
        .await;
        self.release_now(lease).await?;
        stored?;
        Ok(true)
    }

    /// Where requests for the account signed in as `user_id` go: its name, the instance that
    /// owns it now and that instance's sender URL (from its heartbeat). `None` when no
    /// registered account has that user id; owner and URL are `None` while nobody owns it.
    pub async fn route(&self, user_id: i64) -> Result<Option<Route>, ClusterError> {
        let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT a.name, l.owner, i.sender_url FROM gateway_accounts a
             LEFT JOIN gateway_leases l ON l.account = a.name AND l.expires_at > now()
             LEFT JOIN gateway_instances i ON i.id = l.owner
             WHERE a.user_id = $1 ORDER BY a.name LIMIT 1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(pg("route"))?;
        Ok(row.map(|(account, owner, sender_url)| Route {
            account,
            owner,
            sender_url,
        }))
    }

    /// Every registered account's name, sorted.
    pub async fn accounts(&self) -> Result<Vec<String>, ClusterError> {
        sqlx::query_scalar("SELECT name FROM gateway_accounts ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(pg("list accounts"))
    }

    /// Removes `name` from the registry with its lease and session (cascade). Whoever owns it
    /// finds its next renewal refused and stops.
    pub async fn remove_account(&self, name: &str) -> Result<bool, ClusterError> {
        let done = sqlx::query("DELETE FROM gateway_accounts WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(pg("remove account"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Closes the pool (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// sqlx's URL parse error without the URL (which may hold a password).
fn redacted_reason(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Configuration(_) => "unrecognised URL or option".to_owned(),
        _ => "cannot be parsed".to_owned(),
    }
}
