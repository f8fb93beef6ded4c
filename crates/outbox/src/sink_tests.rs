//! The sink queue on a real file and in Postgres: queued with the update in one transaction,
//! per-chat order, media holding a chat back, acknowledged prefixes deleted, retries, dead
//! letters and their replay, and an outbox of schema version 2 migrated (SQLite only).

use serde_json::json;

use super::testing::Store;
use super::*;

on_both_backends!(
    every_fresh_update_is_queued_once_in_chat_order_without_a_webhook_too,
    media_holds_the_chat_back_until_the_final_body_is_there,
    failures_retry_then_die_and_a_replay_revives_them,
);

fn update(key: &str, chat_id: i64) -> NewUpdate {
    NewUpdate {
        natural_key: key.into(),
        kind: "message",
        chat_id,
        body: json!({"message": {"text": key}}),
        update_json: None,
        downloads: Vec::new(),
    }
}

async fn open(store: &Store, deliver: bool) -> Outbox {
    store
        .open(
            "s",
            Mode {
                deliver,
                archive: false,
                id_prefix: "tg1_".into(),
                sink: true,
            },
        )
        .await
}

fn texts(rows: &[SinkRow]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
            body["message"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn every_fresh_update_is_queued_once_in_chat_order_without_a_webhook_too(store: Store) {
    let outbox = open(&store, false).await;
    let wake = outbox.sink_wake();
    outbox
        .insert_all(&[update("a", -100), update("b", 7), update("c", -100)])
        .await
        .expect("insert");
    // A replay of a stored update queues nothing new.
    outbox.insert(update("a", -100)).await.expect("replay");
    tokio::time::timeout(std::time::Duration::from_secs(1), wake.notified())
        .await
        .expect("the insert rang the sink");
    let lane = outbox.sink_lane(-100).await.expect("lane");
    assert_eq!(texts(&lane), ["a", "c"]);
    assert!(lane.iter().all(|r| r.ready));
    assert_eq!(lane[0].webhook_id, format!("tg1_{}", lane[0].id));
    let body: serde_json::Value = serde_json::from_str(&lane[0].body).expect("json");
    assert_eq!(body["update_id"], lane[0].id, "the body is the webhook's");
    let heads = outbox.sink_heads().await.expect("heads");
    assert_eq!(heads.len(), 2);

    assert_eq!(outbox.sink_acked(-100, lane[0].id).await.expect("ack"), 1);
    assert_eq!(texts(&outbox.sink_lane(-100).await.expect("lane")), ["c"]);
    let stats = outbox.sink_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (2, 0));
}

async fn media_holds_the_chat_back_until_the_final_body_is_there(store: Store) {
    let outbox = open(&store, true).await;
    let mut with_media = update("photo", 5);
    with_media.downloads.push(Download {
        file_id: "x".into(),
        size: None,
        mime_type: None,
        file_name: None,
        url_at: "/message/media_url".into(),
        skipped_at: None,
    });
    let photo = outbox.insert(with_media).await.expect("insert");
    outbox.insert(update("after", 5)).await.expect("insert");
    let heads = outbox.sink_heads().await.expect("heads");
    assert_eq!(heads, [(5, false, 0)]);
    let body = json!({"update_id": photo.id, "message": {"text": "photo", "media_url": "u"}});
    outbox
        .media_done(photo.id, &body)
        .await
        .expect("media done");
    let lane = outbox.sink_lane(5).await.expect("lane");
    assert_eq!(texts(&lane), ["photo", "after"]);
    assert!(lane[0].ready && lane[0].body.contains("media_url"));
}

async fn failures_retry_then_die_and_a_replay_revives_them(store: Store) {
    let outbox = open(&store, true).await;
    outbox
        .insert_all(&[update("x", 1), update("y", 1)])
        .await
        .expect("insert");
    let lane = outbox.sink_lane(1).await.expect("lane");
    let (x, y) = (lane[0].id, lane[1].id);
    outbox
        .sink_failed(x, "no ack", Some(now_ms() + 60_000))
        .await
        .expect("retry");
    let head = outbox.sink_lane(1).await.expect("lane");
    assert_eq!((head[0].attempts, head[0].id), (1, x));
    assert!(head[0].next_attempt_at > now_ms());
    outbox.sink_failed(x, "too old", None).await.expect("dead");
    // The chat moves on past its dead letter; acknowledging y leaves the dead row alone.
    assert_eq!(texts(&outbox.sink_lane(1).await.expect("lane")), ["y"]);
    assert_eq!(outbox.sink_acked(1, y).await.expect("ack"), 1);
    let stats = outbox.sink_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (0, 1));
    // Listed beside the webhook's dead letters, marked as the sink's.
    let letters = outbox.dead_letters(10).await.expect("list");
    let nats: Vec<_> = letters.iter().filter(|l| l.target == "nats").collect();
    assert_eq!(nats.len(), 1, "{letters:?}");
    assert_eq!((nats[0].update_id, nats[0].attempts), (x, 2));
    assert_eq!(nats[0].webhook_id, outbox.webhook_id(x));
    assert_eq!(nats[0].last_error.as_deref(), Some("too old"));
    assert!(nats[0].died_at.is_some_and(|at| at > 0));
    assert!(outbox.replay(None).await.expect("replay") >= 1);
    assert!(
        outbox
            .dead_letters(10)
            .await
            .expect("list")
            .iter()
            .all(|l| l.target != "nats")
    );
    let revived = outbox.sink_lane(1).await.expect("lane");
    assert_eq!(
        (revived.len(), revived[0].id, revived[0].attempts),
        (1, x, 0)
    );
}

// SQLite only: Postgres outboxes began at version 3.
#[tokio::test]
async fn a_version_2_outbox_gets_the_sink_table_and_keeps_its_rows() {
    let store = Store::sqlite();
    let outbox = store.open("s", Mode::default()).await;
    let kept = outbox.insert(update("old", 3)).await.expect("insert");
    {
        // Back to what version 2 wrote: no sink table.
        let mut db = outbox.conn.lock().await;
        db.execute("downgrade", "DROP TABLE sink", [])
            .await
            .expect("drop");
        db.execute("downgrade", "PRAGMA user_version = 2", [])
            .await
            .expect("version");
    }
    drop(outbox);
    let outbox = open(&store, true).await;
    let again = outbox.insert(update("old", 3)).await.expect("replay");
    assert_eq!((again.id, again.fresh), (kept.id, false));
    outbox.insert(update("new", 3)).await.expect("insert");
    assert_eq!(texts(&outbox.sink_lane(3).await.expect("lane")), ["new"]);
}
