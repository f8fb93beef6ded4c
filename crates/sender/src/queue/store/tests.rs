//! The store's behaviour, the same on both backends (each test runs on an SQLite file and on a
//! fresh Postgres database: modules `sqlite` and `postgres`), then what only one backend does:
//! SQLite's first-version migration, Postgres's fencing and takeover by another instance.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use cluster::{Cluster, Fence, Lease};
use testkit::postgres::Postgres;

use super::writer::FLUSH_AFTER;
use super::*;

/// The account every Postgres test queues for.
const ACCOUNT: &str = "shop";

/// The sender's default body limit (`MAX_UPLOAD_BYTES` + the in-memory body cap).
const BODY_LIMIT: usize = 100 << 20;

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

fn ok(text: &'static str) -> Answer {
    Answer {
        status: 200,
        body: Bytes::from_static(text.as_bytes()),
    }
}

async fn inserted(store: &Store, job: &Job, key: Option<&str>) -> i64 {
    match store.insert(job, key).await {
        Ok(Known::Inserted(id)) => id,
        other => panic!("expected a new job: {other:?}"),
    }
}

/// Where a test's queue lives, opened as often as the test likes.
enum Backend {
    Sqlite {
        _dir: Option<tempfile::TempDir>,
        path: PathBuf,
    },
    Postgres {
        _server: Postgres,
        cluster: Cluster,
        fence: Fence,
    },
}

impl Backend {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("q.db");
        Self::Sqlite {
            _dir: Some(dir),
            path,
        }
    }

    /// SQLite's `:memory:` (a new database at every open).
    async fn sqlite_in_memory() -> Self {
        Self::Sqlite {
            _dir: None,
            path: PathBuf::from(":memory:"),
        }
    }

    /// A throwaway server, a fresh database, instance `a` holding [`ACCOUNT`]'s lease.
    async fn postgres() -> Self {
        let server = Postgres::start().await;
        let url = server.create_database("sendq");
        let cluster = instance(&url, "a").await;
        cluster
            .register_account(ACCOUNT, &serde_json::json!({}))
            .await
            .expect("register");
        let lease = take(&cluster).await;
        Self::Postgres {
            _server: server,
            cluster,
            fence: lease.fence_token(),
        }
    }

    async fn open(&self) -> Store {
        match self {
            Backend::Sqlite { path, .. } => Store::open(path).await.expect("open"),
            Backend::Postgres { cluster, fence, .. } => {
                Store::open_postgres(cluster, fence.clone(), BODY_LIMIT)
                    .await
                    .expect("open")
            }
        }
    }

    /// Whether row `id` was finished by a transaction after the writer's `commits`-th (the
    /// writer is not asked anything before that is known). On Postgres the row is read
    /// through a connection of its own; the SQLite file is held by the writer's connection
    /// alone (exclusive locking), so there the writer's count of transactions shows one ran,
    /// and the row is read through the store after.
    async fn done_of(&self, store: &Store, commits: u64, id: i64) -> bool {
        match self {
            Backend::Sqlite { .. } => {
                store.commits() > commits
                    && matches!(store.get(id).await, Ok(Some(Known::Done(..))))
            }
            Backend::Postgres { cluster, .. } => {
                sqlx::query_scalar("SELECT done FROM sends WHERE id = $1")
                    .bind(id)
                    .fetch_one(&account_pool(cluster).await)
                    .await
                    .expect("the row")
            }
        }
    }
}

async fn instance(url: &str, id: &str) -> Cluster {
    Cluster::connect(url, id, 4).await.expect("connect")
}

async fn take(cluster: &Cluster) -> Lease {
    cluster
        .acquire(ACCOUNT, Duration::from_secs(60))
        .await
        .expect("acquire")
        .expect("the lease is free")
}

/// A pool on [`ACCOUNT`]'s queue schema, for reading rows behind the store's back.
async fn account_pool(cluster: &Cluster) -> sqlx::PgPool {
    let id = cluster.account_id(ACCOUNT).await.expect("account id");
    cluster
        .store_pool(&cluster::account_schema(super::postgres::STORE, id), 1)
        .await
        .expect("pool")
}

/// Each named test, once per backend.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $test() {
                super::$test(super::Backend::sqlite().await).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $test() {
                super::$test(super::Backend::postgres().await).await;
            })*
        }
    };
}

on_both_backends!(
    a_key_finds_its_job_open_then_done_and_survives_reopening,
    a_recorded_answer_is_seen_by_the_next_request_and_a_forgotten_send_is_gone,
    open_jobs_come_back_in_order_with_their_random_id,
    cancel_and_prune_delete_only_what_they_name,
);

async fn a_key_finds_its_job_open_then_done_and_survives_reopening(backend: Backend) {
    let store = backend.open().await;
    let id = inserted(&store, &job("sendMessage"), Some("k1")).await;
    assert!(matches!(
        store.insert(&job("sendMessage"), Some("k1")).await.unwrap(),
        Known::Open(same) if same == id
    ));
    let answer = ok("{\"ok\":true}");
    store.record(id, answer.clone(), &StoredBody::Inline(Bytes::new()));
    // Any later request goes after the deferred answer: it is committed once this returns.
    assert!(matches!(
        store.get(id).await.unwrap(),
        Some(Known::Done(..))
    ));
    drop(store);
    let store = backend.open().await;
    assert!(store.open_jobs().await.unwrap().is_empty());
    match store.insert(&job("sendMessage"), Some("k1")).await.unwrap() {
        Known::Done(same, got) => assert_eq!((same, got), (id, answer)),
        other => panic!("{other:?}"),
    }
}

async fn a_recorded_answer_is_seen_by_the_next_request_and_a_forgotten_send_is_gone(
    backend: Backend,
) {
    let store = backend.open().await;
    let kept = inserted(&store, &job("a"), Some("k")).await;
    let gone = inserted(&store, &job("b"), None).await;
    let answer = ok("{\"ok\":true}");
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
    let late = inserted(&store, &job("c"), Some("k2")).await;
    let commits = store.commits();
    store.record(late, answer.clone(), &inline);
    tokio::time::sleep(FLUSH_AFTER * 10).await;
    assert!(
        backend.done_of(&store, commits, late).await,
        "recorded without another request"
    );
}

async fn open_jobs_come_back_in_order_with_their_random_id(backend: Backend) {
    let store = backend.open().await;
    for (method, random_id) in [("a", 7), ("b", 8), ("c", -9)] {
        let job = Job {
            random_id,
            ..job(method)
        };
        store.insert(&job, None).await.unwrap();
    }
    store.cancel(2).await.unwrap();
    let open = store.open_jobs().await.unwrap();
    let got: Vec<_> = open
        .iter()
        .map(|j| (j.id, j.method.as_str(), j.random_id))
        .collect();
    assert_eq!(got, vec![(1, "a", 7), (3, "c", -9)]);
}

/// The same on an in-memory SQLite database.
#[tokio::test]
async fn open_jobs_come_back_in_order_with_their_random_id_in_memory() {
    open_jobs_come_back_in_order_with_their_random_id(Backend::sqlite_in_memory().await).await;
}

async fn cancel_and_prune_delete_only_what_they_name(backend: Backend) {
    let store = backend.open().await;
    let open = inserted(&store, &job("open"), Some("open")).await;
    let done = inserted(&store, &job("done"), Some("done")).await;
    store.record(done, ok("{}"), &StoredBody::Inline(Bytes::new()));
    // Cancel takes only an open send; a finished one keeps its answer.
    store.cancel(done).await.unwrap();
    assert!(matches!(
        store.get(done).await.unwrap(),
        Some(Known::Done(..))
    ));
    // An hour's window keeps the answer; a zero window (a second later) prunes it.
    assert_eq!(store.prune(Duration::from_secs(3600)).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(store.prune(Duration::ZERO).await.unwrap(), 1);
    assert!(store.get(done).await.unwrap().is_none());
    assert!(matches!(
        store.get(open).await.unwrap(),
        Some(Known::Open(id)) if id == open
    ));
    store.cancel(open).await.unwrap();
    assert!(store.open_jobs().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_file_is_held_by_one_store_and_opens_again_once_that_one_is_gone() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("q.db");
    let first = Store::open(&path).await.expect("open");
    let id = inserted(&first, &job("a"), Some("k")).await;
    // A second store (another sender given the same file) cannot open it, and waits 5 s at
    // most to find that out.
    let started = std::time::Instant::now();
    let second = Store::open(&path).await;
    assert!(
        matches!(&second, Err(StoreError::Open { source, .. }) if source.to_string().contains("locked")),
        "{:?}",
        second.err()
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    // The first one still works; once it is gone the file opens at once, with its send.
    assert!(matches!(first.get(id).await, Ok(Some(Known::Open(got))) if got == id));
    drop(first);
    let again = Store::open(&path).await.expect("reopen");
    let open = again.open_jobs().await.expect("open jobs");
    assert_eq!(open.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
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
    let next = inserted(&store, &job("x"), None).await;
    assert!(next > 41, "ids continue after the old ones: {next}");
}

fn fenced<T>(result: &Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Fenced { account }) if account == ACCOUNT)
}

/// Rows of the account's queue, read behind the store's back.
async fn rows(cluster: &Cluster) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sends")
        .fetch_one(&account_pool(cluster).await)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_write_after_the_lease_moved_fails_fenced_and_writes_nothing() {
    let server = Postgres::start().await;
    let url = server.create_database("fenced");
    let (a, b) = (instance(&url, "a").await, instance(&url, "b").await);
    a.register_account(ACCOUNT, &serde_json::json!({}))
        .await
        .unwrap();
    let lease = take(&a).await;
    let stale = lease.fence_token();
    let old = Store::open_postgres(&a, stale.clone(), BODY_LIMIT)
        .await
        .expect("open");
    let open = inserted(&old, &job("sendMessage"), Some("k")).await;
    let finished = inserted(&old, &job("sendMessage"), Some("done")).await;
    old.record(
        finished,
        ok("{\"first\":1}"),
        &StoredBody::Inline(Bytes::new()),
    );
    assert!(matches!(
        old.get(finished).await.unwrap(),
        Some(Known::Done(..))
    ));

    a.release_now(lease).await.unwrap();
    let new_lease = take(&b).await;
    // Inserts in one batch all fail, a key that exists included; so do cancel and prune, and
    // a deferred answer is not written.
    let (x, y, z) = (job("x"), job("y"), job("z"));
    let (x, y, z) = tokio::join!(
        old.insert(&x, None),
        old.insert(&y, Some("new-key")),
        old.insert(&z, Some("k")),
    );
    assert!(fenced(&x) && fenced(&y) && fenced(&z), "{x:?} {y:?} {z:?}");
    old.record(open, ok("{\"late\":1}"), &StoredBody::Inline(Bytes::new()));
    assert!(fenced(&old.cancel(open).await));
    assert!(fenced(&old.prune(Duration::ZERO).await));
    // Reads are not fenced, and show that nothing was written.
    assert!(matches!(old.get(open).await.unwrap(), Some(Known::Open(id)) if id == open));
    let left: Vec<i64> = old
        .open_jobs()
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(left, [open]);
    assert_eq!(rows(&b).await, 2);
    // Opening with the stale lease is refused too; the new owner's writes go through.
    assert!(fenced(&Store::open_postgres(&a, stale, BODY_LIMIT).await));
    let new = Store::open_postgres(&b, new_lease.fence_token(), BODY_LIMIT)
        .await
        .expect("the new owner opens");
    new.record(open, ok("{\"new\":1}"), &StoredBody::Inline(Bytes::new()));
    assert!(matches!(
        new.get(open).await.unwrap(),
        Some(Known::Done(_, answer)) if answer == ok("{\"new\":1}")
    ));
    // A body limit a row cannot hold is refused before anything is opened.
    assert!(matches!(
        Store::open_postgres(&b, new_lease.fence_token(), MAX_ROW_BODY + 1).await,
        Err(StoreError::TooLarge {
            max: MAX_ROW_BODY,
            ..
        })
    ));
}

#[tokio::test]
async fn a_new_owner_resumes_every_open_send_with_its_random_id_and_every_kept_answer() {
    let server = Postgres::start().await;
    let url = server.create_database("takeover");
    let (a, b) = (instance(&url, "a").await, instance(&url, "b").await);
    a.register_account(ACCOUNT, &serde_json::json!({}))
        .await
        .unwrap();
    let lease = take(&a).await;
    let old = Store::open_postgres(&a, lease.fence_token(), BODY_LIMIT)
        .await
        .expect("open");

    // What the old owner leaves: open sends (one keyed, one with its body in a spool file),
    // kept answers (keyed, asynchronous), a forgotten and a cancelled send.
    let spool = tempfile::tempdir().expect("spool");
    let upload: Vec<u8> = (0..3 << 20).map(|i| (i % 251) as u8).collect();
    let file = spool.path().join("upload.body");
    std::fs::write(&file, &upload).expect("spool file");
    let sends = [
        (
            Job {
                random_id: 11,
                lane: "-100".into(),
                ..job("sendMessage")
            },
            None,
        ),
        (
            Job {
                random_id: 12,
                keyed: true,
                ..job("sendPhoto")
            },
            Some("open-key"),
        ),
        (
            Job {
                random_id: 13,
                content_type: Some("multipart/form-data; boundary=XB".into()),
                query: Some("x=1".into()),
                body: StoredBody::File(Arc::new(file.clone())),
                ..job("sendDocument")
            },
            None,
        ),
    ];
    let mut open = Vec::new();
    for (job, key) in &sends {
        open.push((inserted(&old, job, *key).await, job.clone()));
    }
    let keyed_done = inserted(&old, &job("sendMessage"), Some("done-key")).await;
    let async_done = inserted(
        &old,
        &Job {
            is_async: true,
            ..job("sendMessage")
        },
        None,
    )
    .await;
    let forgotten = inserted(&old, &job("sendMessage"), None).await;
    let cancelled = inserted(&old, &job("sendMessage"), None).await;
    let (first, second) = (ok("{\"ok\":true,\"n\":1}"), ok("{\"ok\":true,\"n\":2}"));
    let none = StoredBody::Inline(Bytes::new());
    old.record(keyed_done, first.clone(), &none);
    old.record(async_done, second.clone(), &none);
    old.forget(forgotten, &none);
    old.cancel(cancelled).await.unwrap();
    // The spool file is the old owner's alone: the new one must not need it.
    std::fs::remove_file(&file).unwrap();
    a.release_now(lease).await.unwrap();

    let lease = take(&b).await;
    let new = Store::open_postgres(&b, lease.fence_token(), BODY_LIMIT)
        .await
        .expect("the new owner opens");
    let resumed = new.open_jobs().await.unwrap();
    assert_eq!(resumed.len(), open.len(), "{resumed:?}");
    for (got, (id, sent)) in resumed.iter().zip(&open) {
        assert_eq!(
            (
                got.id,
                got.random_id,
                got.method.as_str(),
                got.lane.as_str()
            ),
            (
                *id,
                sent.random_id,
                sent.method.as_str(),
                sent.lane.as_str()
            )
        );
        assert_eq!(
            (got.is_async, got.keyed, &got.content_type, &got.query),
            (sent.is_async, sent.keyed, &sent.content_type, &sent.query)
        );
        let StoredBody::Inline(body) = &got.body else {
            panic!("a resumed body comes from the row: {:?}", got.body)
        };
        match &sent.body {
            StoredBody::Inline(sent) => assert_eq!(body, sent),
            StoredBody::File(_) => assert!(body[..] == upload[..], "the spooled body, whole"),
        }
    }
    // Idempotency answers as the old owner gave them.
    match new
        .insert(&job("sendMessage"), Some("done-key"))
        .await
        .unwrap()
    {
        Known::Done(id, answer) => assert_eq!((id, answer), (keyed_done, first)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        new.insert(&job("sendPhoto"), Some("open-key")).await.unwrap(),
        Known::Open(id) if id == open[1].0
    ));
    assert!(matches!(
        new.get(async_done).await.unwrap(),
        Some(Known::Done(id, answer)) if id == async_done && answer == second
    ));
    assert!(new.get(forgotten).await.unwrap().is_none());
    assert!(new.get(cancelled).await.unwrap().is_none());
    // Job ids keep growing across owners.
    let next = inserted(&new, &job("sendMessage"), None).await;
    assert!(next > cancelled, "{next} after {cancelled}");
}

#[tokio::test]
async fn a_send_postgres_cannot_store_fails_alone_and_its_batch_is_stored() {
    let backend = Backend::postgres().await;
    let store = backend.open().await;
    let (good, bad) = (
        job("sendMessage"),
        Job {
            lane: "4\0".into(),
            ..job("sendMessage")
        },
    );
    // Sent together, so they share one transaction.
    let (good, bad, bad_key) = tokio::join!(
        store.insert(&good, Some("k")),
        store.insert(&bad, None),
        store.insert(&good, Some("k\0")),
    );
    assert!(
        matches!(bad, Err(StoreError::NulInText { field: "chat_id" })),
        "{bad:?}"
    );
    assert!(
        matches!(
            bad_key,
            Err(StoreError::NulInText {
                field: "idempotency key"
            })
        ),
        "{bad_key:?}"
    );
    let Ok(Known::Inserted(id)) = good else {
        panic!("{good:?}")
    };
    let open: Vec<i64> = store
        .open_jobs()
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(open, [id]);
}
