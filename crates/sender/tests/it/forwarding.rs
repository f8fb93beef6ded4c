//! forwardMessage(s) and copyMessage(s) against testdc.

use serde_json::json;
use testdc::{ChatRef, SendText};

use crate::helpers::{TestApp, chats, spawn_app};
use crate::media_helpers::form_with_file;

/// Alice writes `text` to the account; returns its message id.
fn alice_says(app: &TestApp, text: &str) -> i64 {
    let sent = app
        .dc
        .send_text(SendText {
            from: None,
            chat_id: chats().alice,
            text: text.into(),
            reply_to_message_id: None,
        })
        .unwrap();
    i64::from(sent.message_id)
}

fn has_forward_header(app: &TestApp, chat_id: i64, message_id: i64) -> bool {
    let chat = ChatRef::from_bot_api_id(chat_id).unwrap();
    app.dc.with_world(|w| {
        w.find(chat, message_id as i32)
            .expect("stored")
            .fwd_from
            .is_some()
    })
}

#[tokio::test]
async fn forward_message_shows_the_original_sender_in_forward_origin() {
    let app = spawn_app().await;
    let c = chats();
    let original = alice_says(&app, "forward me");
    let body = json!({ "chat_id": c.group, "from_chat_id": c.alice, "message_id": original });
    let reply = app.post("forwardMessage", body).await;
    let msg = reply.result();
    assert_eq!(msg["chat"]["id"], c.group);
    assert_eq!(msg["text"], "forward me");
    let origin = &msg["forward_origin"];
    assert_eq!(origin["type"], "user", "{msg}");
    assert_eq!(origin["sender_user"]["id"], c.alice);
    assert_eq!(origin["sender_user"]["first_name"], "Alice");
    assert!(origin["date"].as_i64().unwrap() > 1_600_000_000);
    let stored = app.stored(c.group, msg["message_id"].as_i64().unwrap());
    assert_eq!(stored.unwrap().text, "forward me");
    assert!(has_forward_header(
        &app,
        c.group,
        msg["message_id"].as_i64().unwrap()
    ));
}

#[tokio::test]
async fn forward_messages_returns_message_ids_in_order_skipping_missing_ones() {
    let app = spawn_app().await;
    let c = chats();
    let first = alice_says(&app, "one");
    let second = alice_says(&app, "two");
    let body = json!({
        "chat_id": c.supergroup,
        "from_chat_id": c.alice,
        "message_ids": [second, first, 999_999],
    });
    let reply = app.post("forwardMessages", body).await;
    let ids: Vec<i64> = reply
        .result()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{:?}", reply.body);
    assert!(ids[0] < ids[1]);
    let texts: Vec<String> = ids
        .iter()
        .map(|id| app.stored(c.supergroup, *id).unwrap().text)
        .collect();
    assert_eq!(texts, ["one", "two"]);
}

#[tokio::test]
async fn forwarding_a_missing_message_is_400_not_404() {
    let app = spawn_app().await;
    let c = chats();
    let body = json!({ "chat_id": c.group, "from_chat_id": c.alice, "message_id": 999_999 });
    app.post("forwardMessage", body)
        .await
        .assert_error(400, "Bad Request: message to forward not found");
    let body = json!({ "chat_id": c.group, "from_chat_id": c.alice, "message_id": 999_999 });
    app.post("copyMessage", body)
        .await
        .assert_error(400, "Bad Request: message to copy not found");
    let body = json!({ "chat_id": c.group, "from_chat_id": c.alice, "message_ids": [] });
    app.post("forwardMessages", body)
        .await
        .assert_error(400, "Bad Request: message identifiers are not specified");
}

#[tokio::test]
async fn copy_message_has_no_forward_origin() {
    let app = spawn_app().await;
    let c = chats();
    let original = alice_says(&app, "copy me");
    let body = json!({ "chat_id": c.group, "from_chat_id": c.alice, "message_id": original });
    let reply = app.post("copyMessage", body).await;
    let id = reply.result()["message_id"].as_i64().unwrap();
    assert_eq!(
        reply.result().as_object().unwrap().len(),
        1,
        "just MessageId"
    );
    let stored = app.stored(c.group, id).unwrap();
    assert_eq!(stored.text, "copy me");
    assert!(stored.out);
    assert!(!has_forward_header(&app, c.group, id));
    let history = app
        .post("getChatHistory", json!({ "chat_id": c.group, "limit": 1 }))
        .await;
    let copy = &history.result()[0];
    assert_eq!(copy["message_id"], id);
    assert!(copy.get("forward_origin").is_none(), "{copy}");
}

#[tokio::test]
async fn copy_message_with_caption_replaces_the_media_caption() {
    let app = spawn_app().await;
    let c = chats();
    let form = form_with_file(c.alice, "photo", "photo.jpg", "image/jpeg").text("caption", "old");
    let sent = app.post_multipart("sendPhoto", form).await;
    let original = sent.result()["message_id"].as_i64().unwrap();
    let body = json!({
        "chat_id": c.group,
        "from_chat_id": c.alice,
        "message_id": original,
        "caption": "<b>new</b>",
        "parse_mode": "HTML",
    });
    let reply = app.post("copyMessage", body).await;
    let id = reply.result()["message_id"].as_i64().unwrap();
    let stored = app.stored(c.group, id).unwrap();
    assert_eq!(stored.text, "new");
    assert_eq!(stored.media.unwrap().kind, "photo");
}

#[tokio::test]
async fn copy_messages_copies_each_without_headers() {
    let app = spawn_app().await;
    let c = chats();
    let ids = [alice_says(&app, "a"), alice_says(&app, "b")];
    let body = json!({ "chat_id": c.bob, "from_chat_id": c.alice, "message_ids": ids });
    let reply = app.post("copyMessages", body).await;
    let copies = reply.result().as_array().unwrap().clone();
    assert_eq!(copies.len(), 2);
    for (copy, text) in copies.iter().zip(["a", "b"]) {
        let id = copy["message_id"].as_i64().unwrap();
        assert_eq!(app.stored(c.bob, id).unwrap().text, text);
        assert!(!has_forward_header(&app, c.bob, id));
    }
}
