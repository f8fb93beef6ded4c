//! Postgres only: an account's outbox changing hands between instances (once the lease moved,
//! the old owner's writes fail with `Fenced` and write nothing; the new owner's open finds
//! every row as it was), a transaction a dropped future left open not keeping a takeover
//! waiting, and the tables' creation and schema version.

use std::fmt::Debug;
use std::time::Duration;

use cluster::Cluster;
use serde_json::json;
use telegram::Position;

use super::testing::{self, LEASE};
use super::*;

fn update(key: &str, chat_id: i64) -> NewUpdate {
    NewUpdate {
        natural_key: key.into(),
        kind: "message",
        chat_id,
        body: json!({"message": {"text": key}}),
        downloads: Vec::new(),
        update_json: None,
    }
}

fn mode() -> Mode {
    Mode {
        deliver: true,
        archive: false,
        id_prefix: "shop_".into(),
        sink: true,
    }
}

/// Every row as (update_id, webhook-id, status), and every sink row as (update_id, state).
async fn rows(outbox: &Outbox) -> (Vec<(i64, String, i64)>, Vec<(i64, i64)>) {
    let mut db = outbox.conn.lock().await;
    let updates = db
        .all(
            "test",
            "SELECT id, webhook_id, status FROM updates ORDER BY id",
            [],
            |r| Ok((value::int(r, 0)?, value::text(r, 1)?, value::int(r, 2)?)),
        )
        .await
        .expect("read updates");
    let sink = db
        .all("test", "SELECT id, state FROM sink ORDER BY id", [], |r| {
            Ok((value::int(r, 0)?, value::int(r, 1)?))
        })
        .await
        .expect("read sink");
    (updates, sink)
}

#[track_caller]
fn assert_fenced<T: Debug>(result: Result<T, OutboxError>) {
    assert!(
        matches!(&result, Err(OutboxError::Fenced { account }) if account == "shop"),
        "{result:?}"
    );
}

async fn connect(url: &str, instance: &str) -> Cluster {
    Cluster::connect(url, instance, 2).await.expect("connect")
}

#[tokio::test]
async fn after_a_takeover_the_old_owner_writes_nothing_and_the_new_one_finds_every_row() {
    let (_server, url) = testing::database().await;
    let (a, b) = (connect(&url, "a").await, connect(&url, "b").await);
    a.register_account("shop", &json!({}))
        .await
        .expect("register");
    let lease = a.acquire("shop", LEASE).await.expect("acquire");
    let lease = lease.expect("a new account's lease is free");
    let stale = lease.fence_token();
    let old = Outbox::open_postgres(&a, stale.clone())
        .await
        .expect("open");
    let old = old.with_mode(mode());
    assert!(old.writable().await);

    // Rows in every status, a dead letter of the sink, the position, a webhook setting.
    let burst = [
        update("d", 1),
        update("r", 1),
        update("x", 2),
        update("p", 3),
    ];
    let inserted = old.insert_all(&burst).await.expect("insert");
    let ids: Vec<i64> = inserted.iter().map(|i| i.id).collect();
    let mut with_media = update("m", 4);
    with_media.downloads.push(Download {
        file_id: "f".into(),
        size: None,
        mime_type: None,
        file_name: None,
        url_at: "/message/media_url".into(),
        skipped_at: None,
    });
    let media = old.insert(with_media).await.expect("insert");
    let retry = Outcome::Retry {
        error: "500".into(),
        retry_at: now_ms() + 60_000,
    };
    let dead = Outcome::Dead {
        error: "gone".into(),
    };
    let outcomes = [
        (ids[0], Outcome::Delivered),
        (ids[1], retry),
        (ids[2], dead),
    ];
    old.record_all(&outcomes).await.expect("record");
    old.sink_failed(ids[3], "no ack", None).await.expect("sink");
    let position = Position {
        common: Some((10, 20, 30)),
        qts: Some(4),
        channels: [(77, 5)].into(),
    };
    old.save_position(&position).await.expect("position");
    let hook = RuntimeWebhook {
        url: "http://hook/".into(),
        ..RuntimeWebhook::default()
    };
    old.set_runtime_webhook(&hook, false)
        .await
        .expect("webhook");
    let stored = rows(&old).await;
    let statuses: Vec<i64> = stored.0.iter().map(|r| r.2).collect();
    assert_eq!(statuses, [2, 1, 3, 1, 0], "{stored:?}");
    assert_eq!(stored.0[0].1, format!("shop_{}", ids[0]));
    let stats = old.stats().await.expect("stats");
    let letters = old.dead_letters(10).await.expect("dead letters");

    // The lease moves to instance b, which opens the account's outbox and finds it all.
    a.release_now(lease).await.expect("release");
    let lease = b.acquire("shop", LEASE).await.expect("acquire");
    let lease = lease.expect("released");
    let new = Outbox::open_postgres(&b, lease.fence_token()).await;
    let new = new.expect("the new owner opens").with_mode(mode());
    assert_eq!(rows(&new).await, stored);
    assert_eq!(new.stats().await.expect("stats"), stats);
    assert_eq!(new.dead_letters(10).await.expect("dead letters"), letters);
    assert_eq!(new.load_position().await.expect("position"), Some(position));
    let state = new.webhook_state().await.expect("webhook");
    assert_eq!(state.runtime, Some(hook));
    let pending = new.pending_media().await.expect("pending media");
    assert_eq!(pending.iter().map(|p| p.id).collect::<Vec<_>>(), [media.id]);

    // Every write of the old owner is refused before it writes anything; it still reads.
    assert_fenced(old.insert(update("late", 1)).await);
    assert_fenced(old.record(ids[1], &Outcome::Delivered).await);
    assert_fenced(old.media_done(media.id, &json!({"done": true})).await);
    assert_fenced(old.confirm_below(i64::MAX).await);
    assert_fenced(old.fetch_updates(0, Some(&["edited_message".into()])).await);
    assert_fenced(old.save_position(&Position::default()).await);
    assert_fenced(old.set_poll_allowed_updates(&["message".into()]).await);
    assert_fenced(old.sink_acked(3, ids[3]).await);
    assert_fenced(old.replay(None).await);
    assert_fenced(old.prune_delivered(now_ms() + 1).await);
    assert!(!old.writable().await, "not writable without the lease");
    assert_eq!(old.stats().await.expect("reads are not fenced"), stats);
    assert_eq!(rows(&new).await, stored, "nothing written");
    assert_fenced(Outbox::open_postgres(&a, stale).await);

    // The new owner goes on where the old one stopped.
    assert!(new.writable().await);
    let next = new.insert(update("late", 1)).await.expect("insert");
    assert_eq!((next.id, next.fresh), (media.id + 1, true));
    new.record(ids[1], &Outcome::Delivered)
        .await
        .expect("record");
    assert_eq!(new.stats().await.expect("stats").pending, 3);
}

/// A write whose future is dropped halfway through its transaction leaves it open, holding
/// the lease row; the outbox's next use, a read here, ends it, so a release (which updates
/// that row) goes through at once rather than after the server's idle timeout.
#[tokio::test]
async fn a_transaction_dropped_halfway_does_not_keep_the_lease_row() {
    let (_server, url) = testing::database().await;
    let a = connect(&url, "a").await;
    a.register_account("shop", &json!({}))
        .await
        .expect("register");
    let lease = a.acquire("shop", LEASE).await.expect("acquire");
    let lease = lease.expect("a new account's lease is free");
    let outbox = Outbox::open_postgres(&a, lease.fence_token()).await;
    let outbox = outbox.expect("open").with_mode(mode());
    {
        let mut db = outbox.conn.lock().await;
        let stuck = db.transaction("test", async |_: &mut db::Db| {
            std::future::pending::<value::Result<()>>().await
        });
        let dropped = tokio::time::timeout(Duration::from_millis(100), stuck).await;
        assert!(dropped.is_err(), "the body never ends");
    }
    assert_eq!(outbox.stats().await.expect("stats").pending, 0);
    let released = tokio::time::timeout(Duration::from_secs(2), a.release_now(lease)).await;
    released.expect("the lease row is free").expect("release");
    assert_fenced(outbox.insert(update("after", 1)).await);
}

/// Two handles opening a new account's outbox at once (the receiver and the sender) create its
/// tables once and share them; tables of a newer schema version are refused.
#[tokio::test]
async fn concurrent_opens_create_the_tables_once_and_a_newer_schema_is_refused() {
    let (_server, url) = testing::database().await;
    let a = connect(&url, "a").await;
    a.register_account("shop", &json!({}))
        .await
        .expect("register");
    let lease = a.acquire("shop", LEASE).await.expect("acquire");
    let fence = lease.expect("a new account's lease is free").fence_token();
    let (first, second) = tokio::join!(
        Outbox::open_postgres(&a, fence.clone()),
        Outbox::open_postgres(&a, fence.clone())
    );
    let first = first.expect("open").with_mode(mode());
    let second = second.expect("open").with_mode(mode());
    let one = first.insert(update("one", 1)).await.expect("insert");
    let two = second.insert(update("two", 1)).await.expect("insert");
    assert_eq!(two.id, one.id + 1, "one id sequence");
    assert_eq!(second.lane(1).await.expect("lane").len(), 2);

    {
        let mut db = first.conn.lock().await;
        db.transaction("test", async |db: &mut db::Db| {
            db.execute(
                "test",
                "UPDATE meta SET value = 99 WHERE key = 'schema_version'",
                [],
            )
            .await
        })
        .await
        .expect("set a newer version");
    }
    let newer = Outbox::open_postgres(&a, fence).await;
    assert!(
        matches!(&newer, Err(OutboxError::Corrupt(why)) if why.contains("99")),
        "{newer:?}"
    );
}
