//! The update methods on a real outbox file and in Postgres: webhook settings shared by two
//! connections (the receiver's and the sender's), `getUpdates` fetching and confirming,
//! expiry, and the migration of a version-1 file (SQLite only).

use serde_json::json;

use super::testing::Store;
use super::*;

on_both_backends!(
    a_runtime_webhook_wins_until_the_environment_changes,
    fetch_hands_out_bot_api_updates_in_order_and_offsets_confirm,
);

fn legacy_with_update(key: &str, kind: &'static str, chat_id: i64) -> NewUpdate {
    NewUpdate {
        natural_key: key.into(),
        kind,
        chat_id,
        body: json!({"event": kind, "message": {"text": key}}),
        downloads: Vec::new(),
        update_json: Some(json!({kind: {"text": key}})),
    }
}

/// The receiver's and the sender's connection to one outbox.
async fn pair(store: &Store) -> (Outbox, Outbox) {
    let receiver = store
        .open(
            "shared",
            Mode {
                deliver: true,
                archive: false,
                id_prefix: "r_".into(),
                sink: false,
            },
        )
        .await;
    let sender = store.open("shared", Mode::default()).await;
    (receiver, sender)
}

fn env(url: Option<&str>, fingerprint: &str) -> EnvWebhook {
    EnvWebhook {
        url: url.map(str::to_owned),
        fingerprint: fingerprint.into(),
        max_connections: 40,
        allowed_updates: Vec::new(),
    }
}

async fn a_runtime_webhook_wins_until_the_environment_changes(store: Store) {
    let (receiver, sender) = pair(&store).await;
    assert_eq!(
        sender.webhook_state().await.unwrap().target(),
        Target::Polling
    );
    receiver
        .sync_env_webhook(&env(Some("http://a/"), "fa"))
        .await
        .unwrap();
    let state = sender.webhook_state().await.unwrap();
    assert!(matches!(state.target(), Target::Env(e) if e.url.as_deref() == Some("http://a/")));

    let runtime = RuntimeWebhook {
        url: "http://b/".into(),
        secret_token: Some("t".into()),
        max_connections: 3,
        allowed_updates: None,
        env_fingerprint: state.env_fingerprint(),
        set_at: 1,
    };
    sender.set_runtime_webhook(&runtime, false).await.unwrap();
    let seen = receiver.webhook_state().await.unwrap();
    assert_eq!(
        seen.target(),
        Target::Runtime(&runtime),
        "the other connection sees it"
    );
    assert!(
        !format!("{runtime:?}").contains("http://b"),
        "Debug hides the URL"
    );

    // A restart with the same environment keeps it; a changed WEBHOOK_URL drops it.
    assert_eq!(
        receiver
            .sync_env_webhook(&env(Some("http://a/"), "fa"))
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        receiver.webhook_state().await.unwrap().target(),
        Target::Runtime(_)
    ));
    let dropped = receiver
        .sync_env_webhook(&env(Some("http://c/"), "fc"))
        .await
        .unwrap();
    assert_eq!(dropped.map(|r| r.url), Some("http://b/".into()));
    assert!(matches!(
        sender.webhook_state().await.unwrap().target(),
        Target::Env(_)
    ));

    // deleteWebhook (an empty URL) overrides the environment too.
    let deleted = RuntimeWebhook {
        env_fingerprint: "fc".into(),
        ..RuntimeWebhook::default()
    };
    sender.set_runtime_webhook(&deleted, false).await.unwrap();
    assert_eq!(
        receiver.webhook_state().await.unwrap().target(),
        Target::Polling
    );
}

async fn fetch_hands_out_bot_api_updates_in_order_and_offsets_confirm(store: Store) {
    let (receiver, sender) = pair(&store).await;
    let before = sender.data_version().await.unwrap();
    let mut ids = Vec::new();
    for (i, kind) in [
        "message",
        "message_reaction_count",
        "message",
        "edited_message",
    ]
    .into_iter()
    .enumerate()
    {
        let row = receiver
            .insert(legacy_with_update(&format!("k{i}"), kind, 7))
            .await
            .unwrap();
        ids.push(row.id);
    }
    assert_ne!(
        sender.data_version().await.unwrap(),
        before,
        "the receiver's commits show"
    );

    let polled = sender.fetch_updates(0, None).await.unwrap();
    let kinds: Vec<&str> = polled.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["message", "message", "edited_message"],
        "reaction counts left out"
    );
    let first: serde_json::Value = serde_json::from_str(&polled[0].json).unwrap();
    assert_eq!(
        first,
        json!({"message": {"text": "k0"}, "update_id": ids[0]})
    );
    assert_eq!(
        sender.stats().await.unwrap().pending,
        3,
        "the left-out kind is confirmed"
    );

    let only_edits = ["edited_message".to_owned()];
    let polled = sender.fetch_updates(0, Some(&only_edits)).await.unwrap();
    assert_eq!(polled.iter().map(|p| p.id).collect::<Vec<_>>(), [ids[3]]);
    assert_eq!(
        sender.stats().await.unwrap().pending,
        1,
        "skipped kinds are confirmed"
    );

    assert_eq!(sender.confirm_below(ids[3] + 1).await.unwrap(), 1);
    assert!(sender.fetch_updates(0, None).await.unwrap().is_empty());
    assert_eq!(sender.stats().await.unwrap().pending, 0);

    for i in 0..3 {
        receiver
            .insert(legacy_with_update(&format!("n{i}"), "message", 7))
            .await
            .unwrap();
    }
    assert_eq!(sender.confirm_all_but_last(1).await.unwrap(), 2);
    let polled = sender.fetch_updates(0, None).await.unwrap();
    assert_eq!(polled.len(), 1);
    assert!(polled[0].json.contains("n2"));

    // Nobody fetches: expiry confirms old rows.
    assert_eq!(receiver.expire_unfetched(now_ms() + 1).await.unwrap(), 1);
    assert_eq!(sender.stats().await.unwrap().pending, 0);
}

// SQLite only: Postgres outboxes began at version 3.
#[tokio::test]
async fn a_version_1_file_migrates_and_its_open_legacy_rows_are_not_handed_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.outbox");
    {
        let outbox = Outbox::open(&path).await.unwrap().with_mode(Mode {
            deliver: true,
            archive: false,
            id_prefix: "o_".into(),
            sink: false,
        });
        outbox
            .insert(legacy_with_update("old", "message", 1))
            .await
            .unwrap();
    }
    // Make it look as version 1 wrote it: no update_json column.
    let db = libsql::Builder::new_local(&path).build().await.unwrap();
    let conn = db.connect().unwrap();
    conn.execute_batch("ALTER TABLE updates DROP COLUMN update_json; PRAGMA user_version = 1;")
        .await
        .unwrap();
    drop(conn);
    drop(db);

    let outbox = Outbox::open(&path)
        .await
        .expect("migrates")
        .with_mode(Mode {
            deliver: true,
            archive: false,
            id_prefix: "o_".into(),
            sink: false,
        });
    assert_eq!(outbox.stats().await.unwrap().pending, 1);
    assert!(outbox.fetch_updates(0, None).await.unwrap().is_empty());
    assert_eq!(
        outbox.stats().await.unwrap().pending,
        0,
        "confirmed: nothing to hand out"
    );
    let row = outbox
        .insert(legacy_with_update("new", "message", 1))
        .await
        .unwrap();
    let polled = outbox.fetch_updates(0, None).await.unwrap();
    assert_eq!(polled.iter().map(|p| p.id).collect::<Vec<_>>(), [row.id]);
}
