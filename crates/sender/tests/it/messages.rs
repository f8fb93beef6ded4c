//! sendMessage, editMessageText and deleteMessage against testdc.

use serde_json::json;

use crate::helpers::{chats, spawn_app};

#[tokio::test]
async fn send_message_reaches_the_chat_as_the_account() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let reply = app
        .post(
            "sendMessage",
            json!({ "chat_id": alice, "text": "hi alice" }),
        )
        .await;
    let msg = reply.result();
    let message_id = msg["message_id"].as_i64().unwrap();
    let history = app.dc.history(alice).unwrap();
    assert_eq!(i64::from(history[0].message_id), message_id);
    assert!(history[0].out);
    assert_eq!(history[0].text, "hi alice");
    assert_eq!(msg["date"].as_i64().unwrap(), i64::from(history[0].date));
    assert!(
        msg["date"].as_i64().unwrap() > 1_600_000_000,
        "unix seconds"
    );
    assert_eq!(msg["chat"]["id"], alice);
    assert_eq!(msg["chat"]["type"], "private");
    assert_eq!(msg["from"]["id"], testdc::Fixture::DEFAULT.self_id);
    assert_eq!(msg["from"]["is_bot"], false);
    assert_eq!(msg["from"]["first_name"], "Test");
    assert_eq!(msg["text"], "hi alice");
}

#[tokio::test]
async fn html_parse_mode_returns_bold_entity_at_utf16_offsets() {
    let app = spawn_app().await;
    let body =
        json!({ "chat_id": chats().alice, "text": "👍 <b>bold</b> tail", "parse_mode": "HTML" });
    let reply = app.post("sendMessage", body).await;
    let msg = reply.result();
    assert_eq!(msg["text"], "👍 bold tail");
    assert_eq!(
        msg["entities"],
        json!([{ "type": "bold", "offset": 3, "length": 4 }])
    );
}

#[tokio::test]
async fn send_message_to_username_and_groups_works() {
    let app = spawn_app().await;
    let c = chats();
    let msg = app
        .post(
            "sendMessage",
            json!({ "chat_id": "@alice", "text": "by name" }),
        )
        .await;
    assert_eq!(msg.result()["chat"]["id"], c.alice);
    let msg = app.send_text(c.group, "to the group").await;
    assert_eq!(
        (msg["chat"]["id"].as_i64(), msg["chat"]["type"].as_str()),
        (Some(c.group), Some("group"))
    );
    let msg = app.send_text(c.supergroup, "to the supergroup").await;
    assert_eq!(msg["chat"]["type"], "supergroup");
    assert!(
        app.stored(c.supergroup, msg["message_id"].as_i64().unwrap())
            .is_some()
    );
}

#[tokio::test]
async fn reply_to_message_id_fills_reply_to_message() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let first = app.send_text(alice, "question").await;
    let first_id = first["message_id"].as_i64().unwrap();
    let reply = app
        .post(
            "sendMessage",
            json!({ "chat_id": alice, "text": "answer", "reply_to_message_id": first_id }),
        )
        .await;
    let msg = reply.result();
    assert_eq!(msg["reply_to_message"]["message_id"], first_id);
    assert_eq!(msg["reply_to_message"]["text"], "question");
    let stored = app
        .stored(alice, msg["message_id"].as_i64().unwrap())
        .unwrap();
    assert_eq!(stored.reply_to_message_id.map(i64::from), Some(first_id));
    let via_params = app
        .post("sendMessage", json!({ "chat_id": alice, "text": "again", "reply_parameters": { "message_id": first_id } }))
        .await;
    assert_eq!(
        via_params.result()["reply_to_message"]["message_id"],
        first_id
    );
}

#[tokio::test]
async fn reply_to_missing_message_is_refused_unless_allowed() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let body = json!({ "chat_id": alice, "text": "x", "reply_to_message_id": 999_999 });
    app.post("sendMessage", body)
        .await
        .assert_error(400, "Bad Request: message to be replied not found");
    let body = json!({ "chat_id": alice, "text": "x", "reply_parameters": { "message_id": 999_999, "allow_sending_without_reply": true } });
    let reply = app.post("sendMessage", body).await;
    assert!(reply.result().get("reply_to_message").is_none());
}

#[tokio::test]
async fn edit_message_text_changes_the_stored_text() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let id = app.send_text(alice, "draft").await["message_id"]
        .as_i64()
        .unwrap();
    let reply = app
        .post("editMessageText", json!({ "chat_id": alice, "message_id": id, "text": "<i>final</i>", "parse_mode": "HTML" }))
        .await;
    let msg = reply.result();
    assert_eq!(msg["message_id"], id);
    assert_eq!(msg["text"], "final");
    assert_eq!(msg["entities"][0]["type"], "italic");
    assert!(msg["edit_date"].is_i64());
    let stored = app.stored(alice, id).unwrap();
    assert_eq!(stored.text, "final");
    assert!(stored.edit_date.is_some());
}

#[tokio::test]
async fn edit_with_the_same_text_is_not_modified() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let id = app.send_text(alice, "same").await["message_id"]
        .as_i64()
        .unwrap();
    let reply = app
        .post(
            "editMessageText",
            json!({ "chat_id": alice, "message_id": id, "text": "same" }),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply
            .description()
            .starts_with("Bad Request: message is not modified: "),
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn edit_of_a_missing_message_is_not_found() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "editMessageText",
            json!({ "chat_id": chats().alice, "message_id": 999_999, "text": "x" }),
        )
        .await;
    reply.assert_error(400, "Bad Request: message to edit not found");
}

#[tokio::test]
async fn delete_message_removes_it_from_history() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let id = app.send_text(alice, "oops").await["message_id"]
        .as_i64()
        .unwrap();
    assert!(app.stored(alice, id).is_some());
    let reply = app
        .post(
            "deleteMessage",
            json!({ "chat_id": alice, "message_id": id }),
        )
        .await;
    assert_eq!(reply.body, json!({ "ok": true, "result": true }));
    assert!(app.stored(alice, id).is_none());
}

#[tokio::test]
async fn delete_of_a_missing_message_is_not_found() {
    let app = spawn_app().await;
    let c = chats();
    let reply = app
        .post(
            "deleteMessage",
            json!({ "chat_id": c.alice, "message_id": 999_999 }),
        )
        .await;
    reply.assert_error(400, "Bad Request: message to delete not found");
    // An id that exists, but in another chat, is not found either.
    let in_bob = app.send_text(c.bob, "for bob").await["message_id"]
        .as_i64()
        .unwrap();
    let reply = app
        .post(
            "deleteMessage",
            json!({ "chat_id": c.alice, "message_id": in_bob }),
        )
        .await;
    reply.assert_error(400, "Bad Request: message to delete not found");
    assert!(app.stored(c.bob, in_bob).is_some());
}

#[tokio::test]
async fn concurrent_sends_all_succeed_over_one_connection() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let sends = (0..20).map(|i| {
        app.post(
            "sendMessage",
            json!({ "chat_id": alice, "text": format!("n{i}") }),
        )
    });
    let replies = futures::future::join_all(sends).await;
    let mut ids: Vec<i64> = replies
        .iter()
        .map(|r| r.result()["message_id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    assert_eq!(app.dc.history(alice).unwrap().len(), 21);
}
