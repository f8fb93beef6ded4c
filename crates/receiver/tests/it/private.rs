//! Private chats: the exact legacy payload, replies, outgoing messages.

use std::time::Duration;

use serde_json::json;
use telegram::{DEFAULT_UPLOAD_CONCURRENCY, OutgoingText, Telegram, TelegramConfig};
use testdc::Fixture;

use crate::helpers::{API_KEY, Options, WAIT, ids, iso, spawn_app};

#[tokio::test]
async fn private_hello_reaches_webhook_as_the_legacy_payload_with_api_key() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    let sent = app.send(Some(alice), alice, "hello", None);

    let got = app.next_payload().await;

    assert_eq!(got.header("x-api-key"), Some(API_KEY));
    assert_eq!(got.header("content-type"), Some("application/json"));
    let expected = json!({
        "update_id": got.body["update_id"],
        "event": "message",
        "account_phone_number": Fixture::PHONE,
        "account_id": Fixture::DEFAULT.self_id,
        "message": {
            "message_id": sent.message_id,
            "chat": {"id": alice, "type": "private", "title": null},
            "date": iso(sent.date),
            "text": "hello",
            "media": null,
            "media_url": null,
            "from": {"id": alice, "first_name": "Alice", "last_name": "Smith", "username": "alice",
                     "language_code": "en", "phone_number": null},
            "reply_to_message": null
        }
    });
    assert_eq!(got.body, expected);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn reply_carries_the_flattened_original() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    let original = app.send(Some(alice), alice, "Original", None);
    assert_eq!(app.next_payload().await.text(), Some("Original"));
    let reply = app.send(Some(alice), alice, "Reply", Some(original.message_id));

    let got = app.next_payload().await;

    assert_eq!(got.body["message"]["message_id"], reply.message_id);
    assert_eq!(
        got.body["message"]["reply_to_message"],
        json!({
            "message_id": original.message_id,
            "text": "Original",
            "media_url": null,
            "media_type": null,
            "sender_id": alice,
            "sender_name": "Alice",
            "date": iso(original.date)
        })
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn outgoing_messages_from_another_session_are_not_forwarded() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    // The account writes through a second client on the same session file (as the sender
    // process does).
    let other = Telegram::connect(TelegramConfig {
        api_id: 1,
        session_path: app.session_path.clone(),
        flood_sleep_threshold: Duration::from_secs(5),
        updates_capacity: 100,
        upload_concurrency: DEFAULT_UPLOAD_CONCURRENCY,
    })
    .await
    .unwrap();
    let peer = other
        .resolve_chat(&botapi::ids::ChatIdParam::Id(alice))
        .await
        .unwrap();
    let mine = other
        .send_text(
            peer,
            OutgoingText {
                text: "from the account".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.dc
        .wait_outgoing(alice, mine.message_id - 1, WAIT)
        .await
        .unwrap();
    let user = app.send(Some(alice), alice, "from alice", None);

    let got = app.next_payload().await;

    assert_eq!(got.text(), Some("from alice"));
    assert_eq!(got.body["message"]["message_id"], user.message_id);
    other.disconnect();
    app.stop().await.unwrap();
}
