//! `/metrics`, `/healthz`, `/readyz`, the rate limit and CORS.

use serde_json::json;

use crate::helpers::{API_KEY, chats, spawn_app, spawn_app_with};

#[tokio::test]
async fn metrics_count_requests_rpc_errors_and_flood_waits_without_tokens() {
    let app = spawn_app().await;
    app.send_text(chats().alice, "counted").await;
    let by_token = app
        .client
        .post(app.url(&format!("/bot{API_KEY}/SENDMESSAGE")))
        .json(&json!({ "chat_id": chats().alice, "text": "counted too" }));
    app.send(by_token).await.result();
    app.dc
        .fail_next("messages.sendMessage", 1, "CHAT_WRITE_FORBIDDEN");
    let forbidden = app.post(
        "sendMessage",
        json!({ "chat_id": chats().alice, "text": "x" }),
    );
    assert_eq!(forbidden.await.status, 403);
    app.dc.fail_next("messages.sendMessage", 1, "FLOOD_WAIT_30");
    let flood = app.post(
        "sendMessage",
        json!({ "chat_id": chats().alice, "text": "x" }),
    );
    assert_eq!(flood.await.status, 429);

    let (status, text) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    for expected in [
        r#"http_requests_total{method="sendMessage",status="200"}"#,
        r#"http_requests_total{method="sendMessage",status="403"}"#,
        r#"http_request_duration_seconds_count{method="sendMessage"}"#,
        r#"mtproto_rpc_errors_total{name="CHAT_WRITE_FORBIDDEN"}"#,
        r#"mtproto_flood_waits_total{absorbed="false"}"#,
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    let secret = API_KEY.split_once(':').unwrap().1;
    assert!(!text.contains(secret), "{text}");
}

#[tokio::test]
async fn healthz_and_readyz_answer_without_a_key_when_signed_in() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz", "/readyz"] {
        let reply = app.get(path).await;
        assert_eq!(
            (reply.status, reply.body),
            (200, json!({ "ok": true })),
            "{path}"
        );
    }
}

#[tokio::test]
async fn over_the_rate_limit_is_429_with_retry_after_and_wrong_keys_spend_nothing() {
    let app = spawn_app_with(|c| {
        c.rate_limit_per_second = 1;
        c.rate_limit_burst = 2;
    })
    .await;
    for _ in 0..5 {
        let reply = app.post_with_key("getMe", Some("wrong"), json!({})).await;
        assert_eq!(reply.status, 401);
    }
    app.post("getMe", json!({})).await.result();
    app.post("getMe", json!({})).await.result();
    let refused = app.post("getMe", json!({})).await;
    refused.assert_error(429, "Too Many Requests: retry after 1");
    assert_eq!(refused.body["parameters"], json!({ "retry_after": 1 }));
    assert_eq!(refused.headers["retry-after"], "1");
    let by_token = app.client.get(app.url(&format!("/bot{API_KEY}/getMe")));
    assert_eq!(
        app.send(by_token).await.status,
        429,
        "one budget for both URL families"
    );
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "probes are not limited"
    );
}

#[tokio::test]
async fn cors_headers_only_for_configured_origins() {
    let preflight = |app: &crate::helpers::TestApp, origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api_v1/sendMessage"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-api-key,content-type")
            .send()
    };
    let closed = spawn_app().await;
    let response = preflight(&closed, "https://app.example").await.unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let simple = closed
        .client
        .get(closed.url("/api_v1/getMe"))
        .header("x-api-key", API_KEY)
        .header("origin", "https://app.example");
    let reply = closed.send(simple).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none());

    let open =
        spawn_app_with(|c| c.cors_allowed_origins = vec!["https://app.example".into()]).await;
    let response = preflight(&open, "https://app.example").await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example"
    );
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("x-api-key"), "{allowed}");
    let other = preflight(&open, "https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let simple = open
        .client
        .get(open.url("/api_v1/getMe"))
        .header("x-api-key", API_KEY)
        .header("origin", "https://app.example");
    let reply = open.send(simple).await;
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        "https://app.example"
    );
}
