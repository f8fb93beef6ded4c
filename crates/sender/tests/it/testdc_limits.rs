//! testdc's `/limits` control route, driven over HTTP as a script or a benchmark would drive
//! it: the limits it sets are the ones testdc then enforces, counted by testdc itself
//! (`GET /limits`) and seen by the sender as Telegram's answers.

use std::sync::Arc;

use serde_json::{Value, json};
use testdc::{TestDc, TestDcConfig};

use crate::helpers::{API_KEY, chats, init_test_logging, test_config};

/// testdc's control API on a loopback port, and its base URL.
async fn control_api(dc: Arc<TestDc>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, testdc::http::router(dc)).await });
    url
}

#[tokio::test]
async fn limits_set_over_http_are_enforced_and_counted() {
    init_test_logging();
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let control = control_api(dc.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir, API_KEY);
    // Every wait reaches the queue (none slept through), and a caller waits 1 s at most.
    config.flood_sleep_threshold = 0;
    config.send_queue_max_wait = 1;
    dc.write_session(config.session_path()).await.unwrap();
    let app = sender::App::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let call = |method: &str, body: Value| {
        http.post(format!("{base}/api_v1/{method}"))
            .header("x-api-key", API_KEY)
            .json(&body)
            .send()
    };
    let counts = || async {
        let got: Value = http
            .get(format!("{control}/limits"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (got["flood_waits"].as_u64(), got["peer_floods"].as_u64())
    };
    let c = chats();

    let set: Value = http
        .post(format!("{control}/limits"))
        .json(&json!({ "per_chat_per_minute": 2, "peer_flood_after": 2 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set, json!({ "flood_waits": 0, "peer_floods": 0 }));

    // Two sends per chat per minute: the third to Alice is refused with FLOOD_WAIT_30 (one
    // token per 30 s), which the sender answers as 429 retry_after 30.
    for n in 0..2 {
        let ok = call(
            "sendMessage",
            json!({ "chat_id": c.alice, "text": format!("ok {n}") }),
        )
        .await
        .unwrap();
        assert_eq!(ok.status(), 200);
    }
    let refused = call(
        "sendMessage",
        json!({ "chat_id": c.alice, "text": "third" }),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["parameters"]["retry_after"], 30, "{body}");
    assert_eq!(counts().await, (Some(1), Some(0)));

    // A parked chat is held by the sender itself: testdc is not asked again.
    let held = call("sendMessage", json!({ "chat_id": c.alice, "text": "held" }))
        .await
        .unwrap();
    assert_eq!(held.status(), 429);
    assert_eq!(counts().await, (Some(1), Some(0)));
    // Bob's chat has its own bucket: two sends, then the second refusal.
    for text in ["bob 1", "bob 2", "bob 3"] {
        let reply = call("sendMessage", json!({ "chat_id": c.bob, "text": text }))
            .await
            .unwrap();
        let expected = if text == "bob 3" { 429 } else { 200 };
        assert_eq!(reply.status(), expected, "{text}");
    }
    assert_eq!(counts().await, (Some(2), Some(0)));
    // Two refusals: every further send is PEER_FLOOD, the group's too (within its bucket).
    let refused = call(
        "sendMessage",
        json!({ "chat_id": c.group, "text": "peer flood" }),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 429, "the account is paused");
    assert_eq!(counts().await, (Some(2), Some(1)));
    let history = dc.history(c.group).unwrap();
    assert!(history.iter().all(|m| m.text != "peer flood"));

    // Per method: one dialog list per minute; the second getChats is refused by testdc once,
    // and the sender then holds getChats itself (no further refusal reaches testdc).
    let set: Value = http
        .post(format!("{control}/limits"))
        .json(&json!({ "per_method_per_minute": { "messages.getDialogs": 1 } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set, json!({ "flood_waits": 2, "peer_floods": 1 }));
    let first = call("getChats", json!({})).await.unwrap();
    assert_eq!(first.status(), 200);
    for _ in 0..3 {
        let refused = call("getChats", json!({})).await.unwrap();
        assert_eq!(refused.status(), 429);
    }
    assert_eq!(counts().await, (Some(3), Some(1)));

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
