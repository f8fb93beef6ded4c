//! Test support: where a test's outboxes live ([`Store`]: SQLite files in a temporary
//! directory, or accounts' outboxes in a throwaway Postgres) and [`on_both_backends!`], which
//! runs one test body on each.
//!
//! The Postgres server is shared by the tests running at the same time (starting one takes
//! about a second) and stopped when the last of them ends, so none outlives the test binary;
//! each test gets a database of its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use cluster::{Cluster, Fence};
use testkit::postgres::Postgres;
use tokio::sync::Mutex;

use super::{IN_MEMORY, Mode, Outbox};

/// Runs each named `async fn(Store)` twice, as `<name>::sqlite` and `<name>::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::testing::Store::sqlite()).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name($crate::testing::Store::postgres().await).await;
            }
        }
    )*};
}

/// Long enough that no test's lease expires while it runs.
pub(crate) const LEASE: Duration = Duration::from_secs(600);

/// The server the running Postgres tests share, while any holds it.
static SERVER: Mutex<Weak<Postgres>> = Mutex::const_new(Weak::new());

/// Numbers the tests' databases (unique in the binary, whichever server they are on).
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// A fresh database on the shared server: the server (hold it while the database is used)
/// and the database's URL.
pub(crate) async fn database() -> (Arc<Postgres>, String) {
    let server = {
        let mut shared = SERVER.lock().await;
        match shared.upgrade() {
            Some(server) => server,
            None => {
                let server = Arc::new(Postgres::start().await);
                *shared = Arc::downgrade(&server);
                server
            }
        }
    };
    let name = format!("outbox_{}", DATABASES.fetch_add(1, Ordering::Relaxed));
    let url = server.create_database(&name);
    (server, url)
}

/// Where a test's outboxes live; outboxes are named, and opening a name again opens the same
/// outbox (a restart, or a second connection such as the sender's).
pub(crate) enum Store {
    /// `<name>.outbox` files.
    Sqlite(tempfile::TempDir),
    /// Account `<name>`'s outbox, leased by instance `test`.
    Postgres {
        cluster: Cluster,
        fences: Mutex<HashMap<String, Fence>>,
        // Last: the server stops after the cluster's pool is gone.
        _server: Arc<Postgres>,
    },
}

impl Store {
    /// Files in a new temporary directory.
    pub(crate) fn sqlite() -> Self {
        Store::Sqlite(tempfile::tempdir().expect("tempdir"))
    }

    /// A new database on the shared Postgres server.
    pub(crate) async fn postgres() -> Self {
        let (server, url) = database().await;
        let cluster = Cluster::connect(&url, "test", 4)
            .await
            .expect("connect the cluster");
        Store::Postgres {
            cluster,
            fences: Mutex::default(),
            _server: server,
        }
    }

    /// Opens outbox `name` with `mode` (a Postgres account is registered and leased the first
    /// time).
    pub(crate) async fn open(&self, name: &str, mode: Mode) -> Outbox {
        let outbox = match self {
            Store::Sqlite(dir) => Outbox::open(dir.path().join(format!("{name}.outbox"))).await,
            Store::Postgres {
                cluster, fences, ..
            } => {
                let fence = self::fence(cluster, fences, name).await;
                Outbox::open_postgres(cluster, fence).await
            }
        };
        outbox.expect("open the outbox").with_mode(mode)
    }

    /// An outbox nothing else uses: in memory ([`IN_MEMORY`]) on SQLite, a fresh account's in
    /// Postgres.
    pub(crate) async fn scratch(&self, mode: Mode) -> Outbox {
        match self {
            Store::Sqlite(_) => Outbox::open(IN_MEMORY)
                .await
                .expect("open in memory")
                .with_mode(mode),
            Store::Postgres { .. } => {
                let n = DATABASES.fetch_add(1, Ordering::Relaxed);
                self.open(&format!("scratch{n}"), mode).await
            }
        }
    }
}

/// The fence of account `name`, registered and leased on first use.
async fn fence(cluster: &Cluster, fences: &Mutex<HashMap<String, Fence>>, name: &str) -> Fence {
    let mut fences = fences.lock().await;
    if let Some(fence) = fences.get(name) {
        return fence.clone();
    }
    cluster
        .register_account(name, &serde_json::json!({}))
        .await
        .expect("register the account");
    let lease = cluster
        .acquire(name, LEASE)
        .await
        .expect("acquire")
        .expect("a new account's lease is free");
    let fence = lease.fence_token();
    fences.insert(name.to_owned(), fence.clone());
    fence
}
