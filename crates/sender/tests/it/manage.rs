//! deleteMessages, pinning and reactions against testdc.

use serde_json::json;
use testdc::ChatRef;

use crate::helpers::{TestApp, chats, spawn_app};

fn with_message<T>(
    app: &TestApp,
    chat_id: i64,
    id: i64,
    f: impl FnOnce(&testdc::world::StoredMessage) -> T,
) -> T {
    let chat = ChatRef::from_bot_api_id(chat_id).unwrap();
    app.dc
        .with_world(|w| f(w.find(chat, id as i32).expect("stored")))
}

fn id_of(message: &serde_json::Value) -> i64 {
    message["message_id"].as_i64().unwrap()
}

#[tokio::test]
async fn delete_messages_deletes_the_chats_messages_and_skips_others() {
    let app = spawn_app().await;
    let c = chats();
    let a = id_of(&app.send_text(c.alice, "a").await);
    let b = id_of(&app.send_text(c.alice, "b").await);
    // Same id space (common box), other chat: must survive.
    let bob = id_of(&app.send_text(c.bob, "stay").await);
    let body = json!({ "chat_id": c.alice, "message_ids": [a, b, bob, 999_999] });
    assert_eq!(
        *app.post("deleteMessages", body).await.result(),
        json!(true)
    );
    assert!(app.stored(c.alice, a).is_none());
    assert!(app.stored(c.alice, b).is_none());
    assert!(app.stored(c.bob, bob).is_some());
    let x = id_of(&app.send_text(c.supergroup, "in a channel box").await);
    let body = json!({ "chat_id": c.supergroup, "message_ids": [x] });
    assert_eq!(
        *app.post("deleteMessages", body).await.result(),
        json!(true)
    );
    assert!(app.stored(c.supergroup, x).is_none());
    app.post(
        "deleteMessages",
        json!({ "chat_id": c.alice, "message_ids": [] }),
    )
    .await
    .assert_error(400, "Bad Request: message identifiers are not specified");
}

#[tokio::test]
async fn pin_unpin_and_unpin_all() {
    let app = spawn_app().await;
    let group = chats().group;
    let first = id_of(&app.send_text(group, "first").await);
    let second = id_of(&app.send_text(group, "second").await);
    for id in [first, second] {
        let body = json!({ "chat_id": group, "message_id": id, "disable_notification": true });
        assert_eq!(
            *app.post("pinChatMessage", body).await.result(),
            json!(true)
        );
    }
    assert!(with_message(&app, group, first, |m| m.pinned));
    assert!(with_message(&app, group, second, |m| m.pinned));
    // Without message_id: the newest pinned message.
    let reply = app
        .post("unpinChatMessage", json!({ "chat_id": group }))
        .await;
    assert_eq!(*reply.result(), json!(true));
    assert!(!with_message(&app, group, second, |m| m.pinned));
    assert!(with_message(&app, group, first, |m| m.pinned));
    let reply = app
        .post("unpinAllChatMessages", json!({ "chat_id": group }))
        .await;
    assert_eq!(*reply.result(), json!(true));
    assert!(!with_message(&app, group, first, |m| m.pinned));
    app.post("unpinChatMessage", json!({ "chat_id": group }))
        .await
        .assert_error(400, "Bad Request: message to unpin not found");
    app.post(
        "pinChatMessage",
        json!({ "chat_id": group, "message_id": 999_999 }),
    )
    .await
    .assert_error(400, "Bad Request: message to pin not found");
}

#[tokio::test]
async fn set_message_reaction_sets_and_clears_the_accounts_reaction() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let id = id_of(&app.send_text(alice, "react to me").await);
    let body = json!({
        "chat_id": alice,
        "message_id": id,
        "reaction": [{ "type": "emoji", "emoji": "👍" }],
    });
    assert_eq!(
        *app.post("setMessageReaction", body).await.result(),
        json!(true)
    );
    let reactions = with_message(&app, alice, id, |m| m.reactions.clone());
    assert_eq!(reactions, vec![("👍".to_owned(), 1, true)]);
    let body = json!({ "chat_id": alice, "message_id": id, "reaction": [] });
    assert_eq!(
        *app.post("setMessageReaction", body).await.result(),
        json!(true)
    );
    assert!(with_message(&app, alice, id, |m| m.reactions.is_empty()));
    let body = json!({
        "chat_id": alice,
        "message_id": 999_999,
        "reaction": [{ "type": "emoji", "emoji": "👍" }],
    });
    app.post("setMessageReaction", body)
        .await
        .assert_error(400, "Bad Request: message to react not found");
}
