//! The outbox on a real file and in Postgres (each test runs on both backends, but those
//! about SQLite files: damaged files, `:memory:`): de-duplication, per-chat heads, retries,
//! dead letters, refusal of damaged files.

use serde_json::json;

use super::testing::Store;
use super::*;

on_both_backends!(
    a_replayed_update_keeps_its_row_and_id,
    a_burst_is_stored_in_order_with_replays_recognised_inside_it,
    each_chat_has_one_head_and_a_delivered_head_frees_the_next,
    a_lane_reads_its_chats_open_rows_in_order_up_to_lane_rows,
    dead_letters_are_listed_and_replayed,
    media_rows_hold_their_chat_until_done,
    pruning_deletes_only_delivered_rows_finished_before_the_cutoff,
    a_delivered_row_keeps_its_key_but_not_its_body_once_archived,
    pruning_goes_on_past_one_batch,
);

fn update(key: &str, chat_id: i64) -> NewUpdate {
    NewUpdate {
        update_json: None,
        natural_key: key.into(),
        kind: "message",
        chat_id,
        body: json!({"message": {"text": key}}),
        downloads: Vec::new(),
    }
}

/// An outbox of its own (in memory on SQLite) that delivers to a webhook (`deliver`) or
/// stores rows delivered.
async fn scratch(store: &Store, deliver: bool) -> Outbox {
    store
        .scratch(Mode {
            deliver,
            archive: false,
            id_prefix: "m_".into(),
            sink: false,
        })
        .await
}

/// The ids of every chat's head, oldest first.
async fn head_ids(outbox: &Outbox) -> Vec<i64> {
    let heads = outbox.heads().await.expect("heads");
    heads.iter().map(|d| d.id).collect()
}

async fn open(store: &Store) -> Outbox {
    store
        .open(
            "x",
            Mode {
                deliver: true,
                archive: false,
                id_prefix: "t_".into(),
                sink: false,
            },
        )
        .await
}

async fn a_replayed_update_keeps_its_row_and_id(store: Store) {
    let outbox = open(&store).await;
    let first = outbox.insert(update("new:1:1", 1)).await.expect("insert");
    let second = outbox.insert(update("new:1:2", 1)).await.expect("insert");
    let again = outbox.insert(update("new:1:1", 1)).await.expect("insert");
    assert!(first.fresh && second.fresh && !again.fresh);
    assert_eq!(second.id, first.id + 1);
    assert_eq!(again.id, first.id);
    drop(outbox);
    // Survives reopening, ids continue.
    let outbox = open(&store).await;
    let third = outbox.insert(update("new:1:3", 1)).await.expect("insert");
    assert_eq!(third.id, first.id + 2);
    let heads = outbox.heads().await.expect("heads");
    assert_eq!(heads.len(), 1);
    assert_eq!(heads[0].id, first.id);
    assert_eq!(heads[0].webhook_id, format!("t_{}", first.id));
    let body: serde_json::Value = serde_json::from_str(&heads[0].body).expect("json");
    assert_eq!(body["update_id"], first.id);
}

async fn a_burst_is_stored_in_order_with_replays_recognised_inside_it(store: Store) {
    let outbox = open(&store).await;
    let before = outbox.insert(update("new:1:1", 1)).await.expect("insert");
    let burst = ["new:1:2", "new:1:1", "new:2:1", "new:1:2"].map(|k| update(k, 1));
    let got = outbox.insert_all(&burst).await.expect("insert_all");
    let seen: Vec<(i64, bool)> = got.iter().map(|i| (i.id, i.fresh)).collect();
    let first = before.id + 1;
    assert_eq!(
        seen,
        [
            (first, true),
            (before.id, false),
            (first + 1, true),
            (first, false)
        ]
    );
    let next = outbox.insert(update("new:3:1", 3)).await.expect("insert");
    assert_eq!(next.id, first + 2, "ids go on after the burst");
    assert!(outbox.insert_all(&[]).await.expect("empty").is_empty());
}

async fn each_chat_has_one_head_and_a_delivered_head_frees_the_next(store: Store) {
    let outbox = open(&store).await;
    let a1 = outbox.insert(update("a1", 1)).await.expect("insert");
    let b1 = outbox.insert(update("b1", 2)).await.expect("insert");
    let a2 = outbox.insert(update("a2", 1)).await.expect("insert");
    assert_eq!(head_ids(&outbox).await, [a1.id, b1.id]);
    outbox
        .record(a1.id, &Outcome::Delivered)
        .await
        .expect("record");
    assert_eq!(head_ids(&outbox).await, [b1.id, a2.id]);
    assert_eq!(outbox.stats().await.expect("stats").pending, 2);
}

async fn a_lane_reads_its_chats_open_rows_in_order_up_to_lane_rows(store: Store) {
    let outbox = open(&store).await;
    let mut chat1 = Vec::new();
    for i in 0..5 {
        let row = outbox.insert(update(&format!("a{i}"), 1)).await;
        chat1.push(row.expect("insert").id);
        outbox
            .insert(update(&format!("b{i}"), 2))
            .await
            .expect("insert");
    }
    outbox
        .record(chat1[0], &Outcome::Delivered)
        .await
        .expect("record");
    let rows = outbox.lane(1).await.expect("lane");
    let lane: Vec<i64> = rows.iter().map(|d| d.id).collect();
    assert_eq!(lane, chat1[1..], "delivered rows leave; oldest first");
    assert!(rows.iter().all(|d| d.chat_id == 1 && d.ready), "{rows:?}");
    assert!(outbox.lane(3).await.expect("lane").is_empty());
    // Each statement is prepared once and reused: the same query twice gives the same rows.
    assert_eq!(outbox.lane(1).await.expect("lane"), rows);
    for i in 0..LANE_ROWS {
        outbox
            .insert(update(&format!("c{i}"), 1))
            .await
            .expect("insert");
    }
    let rows = outbox.lane(1).await.expect("lane");
    assert_eq!(rows.len(), LANE_ROWS, "at most LANE_ROWS");
}

async fn dead_letters_are_listed_and_replayed(store: Store) {
    let outbox = open(&store).await;
    let a = outbox.insert(update("a", 1)).await.expect("insert");
    let retry = Outcome::Retry {
        error: "webhook answered 500".into(),
        retry_at: now_ms() + 1000,
    };
    outbox.record(a.id, &retry).await.expect("record");
    assert_eq!(outbox.heads().await.expect("heads")[0].attempts, 1);
    let dead = Outcome::Dead {
        error: "webhook answered 503".into(),
    };
    outbox.record(a.id, &dead).await.expect("record");
    let stats = outbox.stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead_letters), (0, 1));
    assert_eq!(stats.last_error.as_deref(), Some("webhook answered 503"));
    let letters = outbox.dead_letters(10).await.expect("list");
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].update_id, letters[0].target.as_str()),
        (a.id, "webhook")
    );
    assert_eq!(letters[0].attempts, 2);
    assert_eq!(outbox.replay(None).await.expect("replay"), 1);
    let heads = outbox.heads().await.expect("heads");
    assert_eq!(
        (heads[0].id, heads[0].attempts, heads[0].ready),
        (a.id, 0, true)
    );
}

async fn media_rows_hold_their_chat_until_done(store: Store) {
    let outbox = open(&store).await;
    let mut with_media = update("m", 1);
    with_media.downloads.push(Download {
        file_id: "x".into(),
        size: None,
        mime_type: None,
        file_name: None,
        url_at: "/message/media_url".into(),
        skipped_at: None,
    });
    let m = outbox.insert(with_media).await.expect("insert");
    assert!(m.media);
    outbox.insert(update("after", 1)).await.expect("insert");
    let heads = outbox.heads().await.expect("heads");
    assert_eq!((heads.len(), heads[0].ready), (1, false));
    let pending = outbox.pending_media().await.expect("pending");
    assert_eq!(pending[0].downloads[0].url_at, "/message/media_url");
    outbox
        .media_done(m.id, &json!({"update_id": m.id, "done": true}))
        .await
        .expect("done");
    let heads = outbox.heads().await.expect("heads");
    assert!(heads[0].ready && heads[0].body.contains("done"));
}

// SQLite only: about the file.
#[tokio::test]
async fn a_file_that_is_not_an_outbox_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.outbox");
    std::fs::write(&path, vec![0x42u8; 8192]).expect("write garbage");
    let err = Outbox::open(&path).await.expect_err("garbage refused");
    assert!(err.to_string().contains("outbox"), "{err}");
    assert_eq!(
        std::fs::read(&path).expect("read").len(),
        8192,
        "left untouched"
    );
}

// SQLite only: `:memory:` is SQLite's.
#[tokio::test]
async fn an_in_memory_outbox_works_and_writes_no_file() {
    let outbox = scratch(&Store::sqlite(), true).await;
    let a = outbox.insert(update("new:1:1", 1)).await.expect("insert");
    assert!(
        !outbox
            .insert(update("new:1:1", 1))
            .await
            .expect("again")
            .fresh
    );
    assert_eq!(outbox.lane(1).await.expect("lane")[0].id, a.id);
    assert!(outbox.writable().await);
    assert!(
        !std::path::Path::new(IN_MEMORY).exists(),
        "no file named :memory:"
    );
}

async fn pruning_deletes_only_delivered_rows_finished_before_the_cutoff(store: Store) {
    let outbox = scratch(&store, true).await;
    let delivered = outbox.insert(update("new:1:1", 1)).await.expect("insert");
    let pending = outbox.insert(update("new:2:1", 2)).await.expect("insert");
    outbox
        .record(delivered.id, &Outcome::Delivered)
        .await
        .expect("record");
    assert_eq!(
        outbox
            .prune_delivered(now_ms() - 60_000)
            .await
            .expect("prune"),
        0
    );
    assert_eq!(
        outbox.prune_delivered(now_ms() + 1).await.expect("prune"),
        1
    );
    // The pruned row's natural key no longer de-duplicates; the open row is untouched.
    assert!(
        outbox
            .insert(update("new:1:1", 1))
            .await
            .expect("insert")
            .fresh
    );
    assert_eq!(outbox.lane(2).await.expect("lane")[0].id, pending.id);
}

/// The stored body of row `id`.
async fn stored_body(outbox: &Outbox, id: i64) -> String {
    let mut db = outbox.conn.lock().await;
    db.all(
        "test",
        "SELECT body FROM updates WHERE id = ?1",
        params![id],
        |r| super::value::text(r, 0),
    )
    .await
    .expect("select")
    .pop()
    .expect("row")
}

async fn a_delivered_row_keeps_its_key_but_not_its_body_once_archived(store: Store) {
    let archiving = store
        .open(
            "a",
            Mode {
                deliver: true,
                archive: true,
                id_prefix: "a_".into(),
                sink: false,
            },
        )
        .await;
    let row = archiving
        .insert(update("new:1:1", 1))
        .await
        .expect("insert");
    archiving
        .record(row.id, &Outcome::Delivered)
        .await
        .expect("record");
    assert!(
        stored_body(&archiving, row.id).await.contains("new:1:1"),
        "the archive needs it"
    );
    archiving.mark_archived(row.id).await.expect("archived");
    assert_eq!(stored_body(&archiving, row.id).await, "");
    assert!(
        !archiving
            .insert(update("new:1:1", 1))
            .await
            .expect("again")
            .fresh
    );

    let plain = open(&store).await;
    let row = plain.insert(update("new:2:1", 2)).await.expect("insert");
    plain
        .record(row.id, &Outcome::Delivered)
        .await
        .expect("record");
    assert_eq!(stored_body(&plain, row.id).await, "");
    let failing = plain.insert(update("new:2:2", 2)).await.expect("insert");
    let retry = Outcome::Retry {
        error: "503".into(),
        retry_at: 0,
    };
    plain.record(failing.id, &retry).await.expect("record");
    assert!(
        stored_body(&plain, failing.id).await.contains("new:2:2"),
        "still to deliver"
    );
}

async fn pruning_goes_on_past_one_batch(store: Store) {
    let outbox = scratch(&store, false).await;
    let rows: Vec<NewUpdate> = (0..PRUNE_BATCH + 5)
        .map(|i| update(&format!("new:1:{i}"), 1))
        .collect();
    outbox.insert_all(&rows).await.expect("insert");
    let pruned = outbox.prune_delivered(now_ms() + 1).await.expect("prune");
    assert_eq!(
        pruned,
        PRUNE_BATCH + 5,
        "stored delivered (no webhook), all pruned"
    );
}

#[test]
fn statuses_in_sql_are_the_numbers_files_already_hold() {
    // Stored rows and the partial indexes of existing files carry these numbers: they never
    // change, and a query's `IN (…)` must read exactly as the index's to use it.
    assert_eq!(
        Status::in_sql("{media} {ready} {delivered} {dead} status IN ({open})"),
        "0 1 2 3 status IN (0, 1)"
    );
}
