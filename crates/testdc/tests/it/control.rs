//! The HTTP control API drives the same world as the in-process one.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use testdc::{Fixture, TestDc, TestDcConfig};
use tower::ServiceExt;

/// Sends `method uri` with a JSON `body` to `app`; returns the status and the JSON answer
/// (`null` if none).
pub(crate) async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn send_history_and_faults_over_http() {
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let app = testdc::http::router(dc.clone());
    let f = Fixture::DEFAULT;

    let (status, world) = call(&app, "GET", "/world", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world["fixture"]["alice"], f.alice);

    let group = -f.group;
    let (status, sent) = call(
        &app,
        "POST",
        "/send",
        Some(json!({"from": f.bob, "chat_id": group, "text": "hi group"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["chat_id"], group);
    assert_eq!(sent["from_id"], f.bob);

    let (_, history) = call(&app, "GET", &format!("/history?chat_id={group}"), None).await;
    assert_eq!(history[0]["text"], "hi group");

    // A new user can write to the account at once: the private chat is theirs.
    let (status, user) = call(&app, "POST", "/users", Some(json!({"first_name": "Dora"}))).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let dora = user["id"].as_i64().expect("id");
    assert!(![f.alice, f.bob, f.carol].contains(&dora));
    let (status, sent) = call(
        &app,
        "POST",
        "/send",
        Some(json!({"from": dora, "chat_id": dora, "text": "hi, I am new"})),
    )
    .await;
    assert_eq!((status, &sent["from_id"]), (StatusCode::OK, &json!(dora)));

    let (status, _) = call(&app, "GET", "/history?chat_id=42", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        "POST",
        "/send",
        Some(json!({"from": f.carol, "chat_id": group, "text": "not a member"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &app,
        "GET",
        &format!("/wait_outgoing?chat_id={}&timeout_ms=10", f.alice),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);

    for (uri, body) in [
        (
            "/faults/rpc_error",
            json!({"method": "messages.sendMessage", "count": 1, "error": "FLOOD_WAIT_7"}),
        ),
        ("/faults/latency", json!({"ms": 0})),
        ("/faults/drop_connections", json!({})),
    ] {
        let (status, _) = call(&app, "POST", uri, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
    let (_, stats) = call(&app, "GET", "/stats", None).await;
    assert!(stats["calls"].is_number());

    let (status, _) = call(
        &app,
        "POST",
        "/webhook",
        Some(json!({"message": {"text": "hook"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, recorded) = call(&app, "GET", "/webhook", None).await;
    assert_eq!(recorded[0]["message"]["text"], "hook");
}
