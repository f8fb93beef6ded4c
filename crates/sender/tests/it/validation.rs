//! Bad input is a 400 envelope that names the field, never a 422, 500 or a hang.

use serde_json::json;

use crate::helpers::{chats, spawn_app};

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let app = spawn_app().await;
    let reply = app
        .post_raw(
            "sendMessage",
            "application/json",
            r#"{"chat_id": 1, "text": "#,
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply
            .description()
            .starts_with("Bad Request: can't parse JSON body: "),
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn wrong_type_names_the_field() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "deleteMessage",
            json!({ "chat_id": chats().alice, "message_id": "x" }),
        )
        .await;
    reply.assert_error(
        400,
        r#"Bad Request: field "message_id": invalid type: string "x", expected i32"#,
    );
    let reply = app
        .post("sendMessage", json!({ "chat_id": chats().alice, "text": "a", "reply_parameters": { "message_id": [] } }))
        .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply
            .description()
            .contains(r#"field "reply_parameters.message_id""#),
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn missing_chat_id_and_text_use_telegram_wordings() {
    let app = spawn_app().await;
    app.post("sendMessage", json!({ "text": "hi" }))
        .await
        .assert_error(400, "Bad Request: chat_id is empty");
    app.post("sendMessage", json!({ "chat_id": chats().alice }))
        .await
        .assert_error(400, "Bad Request: message text is empty");
    app.post(
        "sendMessage",
        json!({ "chat_id": chats().alice, "text": " " }),
    )
    .await
    .assert_error(400, "Bad Request: message text is empty");
    app.post("deleteMessage", json!({ "chat_id": chats().alice }))
        .await
        .assert_error(400, r#"Bad Request: parameter "message_id" is required"#);
}

#[tokio::test]
async fn wrong_content_type_is_a_bad_request() {
    let app = spawn_app().await;
    let reply = app
        .post_raw("sendMessage", "text/plain", r#"{"chat_id":1,"text":"x"}"#)
        .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.description().contains("Content-Type"),
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn bad_markup_is_a_bad_request() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "sendMessage",
            json!({ "chat_id": chats().alice, "text": "<b>open", "parse_mode": "HTML" }),
        )
        .await;
    reply.assert_error(
        400,
        r#"Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b""#,
    );
    let reply = app
        .post(
            "sendMessage",
            json!({ "chat_id": chats().alice, "text": "x", "parse_mode": "rst" }),
        )
        .await;
    reply.assert_error(400, "Bad Request: unsupported parse_mode");
}

#[tokio::test]
async fn too_long_text_is_a_bad_request() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "sendMessage",
            json!({ "chat_id": chats().alice, "text": "a".repeat(4097) }),
        )
        .await;
    reply.assert_error(400, "Bad Request: message is too long");
}

#[tokio::test]
async fn oversized_body_is_413_envelope() {
    let app = spawn_app().await;
    let text = "a".repeat(sender::routes::MAX_BODY_BYTES);
    let reply = app
        .post(
            "sendMessage",
            json!({ "chat_id": chats().alice, "text": text }),
        )
        .await;
    reply.assert_error(413, "Request Entity Too Large");
}
