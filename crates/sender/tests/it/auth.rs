//! The `x-api-key` check, the unauthenticated health check and the graceful stop.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpStream;

use crate::helpers::{API_KEY, REQUEST_TIMEOUT as WAIT, chats, spawn_app};

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
async fn a_stop_refuses_new_connections_and_lets_the_request_in_flight_finish() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let newest = app.dc.history(alice).unwrap()[0].message_id;
    // testdc stores the message at once and holds its reply this long: the request is in
    // flight, provably, from the moment the message shows up until then.
    app.dc.set_latency(Duration::from_secs(2));
    let request = app
        .client
        .post(app.url("/api_v1/sendMessage"))
        .header("x-api-key", API_KEY)
        .json(&json!({ "chat_id": alice, "text": "in flight" }))
        .send();
    let in_flight = tokio::spawn(async move {
        let response = request.await.unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    });
    app.dc.wait_outgoing(alice, newest, WAIT).await.unwrap();

    let addr = app.addr;
    let stopped = tokio::spawn(app.stop());
    // The listening socket closes as the stop begins: a new connection is refused while the
    // request above is still waiting for Telegram.
    tokio::time::timeout(WAIT, async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("new connections refused after the stop");
    assert!(!in_flight.is_finished(), "answered before the stop began");

    let (status, body) = tokio::time::timeout(WAIT, in_flight)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((status, &body["ok"]), (200, &json!(true)), "{body}");
    assert_eq!(body["result"]["text"], "in flight");
    tokio::time::timeout(WAIT, stopped)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
