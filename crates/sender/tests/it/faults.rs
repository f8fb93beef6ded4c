//! Telegram-side failures injected in testdc: flood waits, internal errors, dropped connections,
//! forbidden chats.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{chats, spawn_app, spawn_app_with};

#[tokio::test]
async fn unknown_chat_is_400_chat_not_found() {
    let app = spawn_app().await;
    for chat_id in [
        json!(987_654_321),
        json!("@nosuchuser"),
        json!(-1_009_999_999_999i64),
    ] {
        let reply = app
            .post("sendMessage", json!({ "chat_id": chat_id, "text": "hi" }))
            .await;
        reply.assert_error(400, "Bad Request: chat not found");
    }
    let reply = app
        .post(
            "deleteMessage",
            json!({ "chat_id": 987_654_321, "message_id": 1 }),
        )
        .await;
    reply.assert_error(400, "Bad Request: chat not found");
}

#[tokio::test]
async fn long_flood_wait_is_429_with_retry_after_at_once() {
    // A wait longer than a synchronous caller waits (SEND_QUEUE_MAX_WAIT) is answered at once.
    let app = spawn_app_with(|c| c.send_queue_max_wait = 5).await;
    app.dc.fail_next("messages.sendMessage", 1, "FLOOD_WAIT_7");
    let request = app.post(
        "sendMessage",
        json!({ "chat_id": chats().alice, "text": "hi" }),
    );
    let reply = tokio::time::timeout(Duration::from_secs(5), request)
        .await
        .expect("a long flood wait is answered, not slept through");
    reply.assert_error(429, "Too Many Requests: retry after 7");
    assert_eq!(reply.body["parameters"], json!({ "retry_after": 7 }));
    assert_eq!(reply.headers["retry-after"], "7");
}

#[tokio::test]
async fn short_flood_wait_is_absorbed() {
    let app = spawn_app().await;
    let alice = chats().alice;
    app.dc.fail_next("messages.sendMessage", 1, "FLOOD_WAIT_1");
    let msg = app.send_text(alice, "after the wait").await;
    assert_eq!(
        app.dc.history(alice).unwrap()[0].message_id,
        msg["message_id"].as_i64().unwrap() as i32
    );
}

#[tokio::test]
async fn telegram_internal_error_is_retried_with_the_same_random_id() {
    let app = spawn_app().await;
    let alice = chats().alice;
    app.dc.fail_next("messages.sendMessage", 2, "INTERNAL");
    let msg = app.send_text(alice, "after two internal errors").await;
    let history = app.dc.history(alice).unwrap();
    assert_eq!(
        history[0].message_id,
        msg["message_id"].as_i64().unwrap() as i32
    );
    assert_eq!(history[0].text, "after two internal errors");
    assert_ne!(history[1].text, "after two internal errors", "sent once");
}

#[tokio::test]
async fn telegram_internal_error_is_500_envelope() {
    let app = spawn_app().await;
    // Every try of the queue (5) fails.
    app.dc.fail_next("messages.sendMessage", 5, "INTERNAL");
    let reply = app
        .post(
            "sendMessage",
            json!({ "chat_id": chats().alice, "text": "hi" }),
        )
        .await;
    assert_eq!(reply.status, 500, "{:?}", reply.body);
    assert_eq!(reply.body["ok"], false);
    assert_eq!(reply.body["error_code"], 500);
    assert_eq!(reply.description(), "Internal Server Error: INTERNAL");
}

#[tokio::test]
async fn dropped_connection_does_not_fail_the_next_send() {
    let app = spawn_app().await;
    let alice = chats().alice;
    app.send_text(alice, "before").await;
    app.dc.drop_connections();
    let msg = app.send_text(alice, "after").await;
    assert_eq!(
        app.dc.history(alice).unwrap()[0].message_id,
        msg["message_id"].as_i64().unwrap() as i32
    );
}

#[tokio::test]
async fn broadcast_channel_is_forbidden_not_500() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "sendMessage",
            json!({ "chat_id": chats().channel, "text": "hi" }),
        )
        .await;
    reply.assert_error(
        403,
        "Forbidden: not enough rights to send text messages to the chat",
    );
}
