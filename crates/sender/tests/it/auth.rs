//! The `x-api-key` check and the unauthenticated health check.

use serde_json::json;

use crate::helpers::{API_KEY, chats, spawn_app};

#[tokio::test]
async fn missing_or_wrong_api_key_is_unauthorized() {
    let app = spawn_app().await;
    let body = json!({ "chat_id": chats().alice, "text": "hi" });
    let wrong_prefix = format!("{API_KEY}x");
    for key in [
        None,
        Some("wrong"),
        Some(""),
        Some(&API_KEY[..API_KEY.len() - 1]),
        Some(wrong_prefix.as_str()),
    ] {
        let reply = app.post_with_key("sendMessage", key, body.clone()).await;
        assert_eq!(
            reply.body,
            json!({ "ok": false, "error_code": 401, "description": "Unauthorized" })
        );
        assert_eq!(reply.status, 401);
    }
    assert_eq!(
        app.dc.history(chats().alice).unwrap().len(),
        1,
        "nothing was sent"
    );
}

#[tokio::test]
async fn unauthorized_is_answered_before_the_body_is_parsed() {
    let app = spawn_app().await;
    let reply = app
        .post_with_key("sendMessage", Some("wrong"), json!("not an object"))
        .await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn healthz_needs_no_key() {
    let app = spawn_app().await;
    let reply = app.get("/healthz").await;
    assert_eq!((reply.status, reply.body), (200, json!({ "ok": true })));
}

#[tokio::test]
async fn unknown_method_is_404_envelope_only_with_the_key() {
    let app = spawn_app().await;
    app.post("sendTelepathy", json!({}))
        .await
        .assert_error(404, "Not Found: method not found");
    let reply = app.post_with_key("sendTelepathy", None, json!({})).await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn graceful_stop_returns_ok() {
    let app = spawn_app().await;
    app.send_text(chats().alice, "before stop").await;
    app.stop().await.unwrap();
}
