//! Callback queries, when the receiver runs as a bot: a press on an inline button reaches the
//! webhook exactly once, in the legacy shape and as a Bot API `Update`, with `callback_data`
//! decoded to a string as the Bot API does.

use receiver::WebhookFormat;
use serde_json::{Value, json};
use testkit::botapi_spec::spec;

use crate::helpers::{
    BUTTON_PROBE, Options, Received, TestApp, group_id, ids, spawn_bot_app, start_app_probing,
};

/// Bob presses a marker button; the next payload must be it (nothing repeated in between).
async fn assert_next_is_marker(app: &mut TestApp, marker: &str) {
    let bob = ids().bob;
    app.dc.press_button(bob, bob, 1, marker.as_bytes()).unwrap();
    let got = app.next_payload().await;
    assert_eq!(
        got.body["callback_query"]["data"], marker,
        "expected the marker, got {}",
        got.body
    );
}

fn data(r: &Received) -> Option<&str> {
    r.body["callback_query"]["data"].as_str()
}

#[tokio::test]
async fn button_press_reaches_webhook_as_callback_query_exactly_once() {
    let mut app = spawn_bot_app(Options::default()).await;
    assert_eq!(app.dc.fixture().bot, 700_000_001);
    let alice = ids().alice;
    let query_id = app.dc.press_button(alice, alice, 42, b"vote:1").unwrap();

    let got = app.next_payload().await;
    assert!(got.delivered());
    let body = &got.body;
    assert_eq!(body["event"], "callback_query");
    assert!(body["update_id"].is_i64(), "{body}");
    // A bot has no phone number.
    assert_eq!(body["account_phone_number"], Value::Null);
    let query = &body["callback_query"];
    assert_eq!(query["id"], query_id.to_string());
    assert_eq!(query["data"], "vote:1");
    assert_eq!(query["from"]["id"], alice);
    assert_eq!(query["from"]["first_name"], "Alice");
    assert_eq!(query["from"]["username"], "alice");
    assert_eq!(query["from"]["is_bot"], false);
    assert_eq!(
        query["message"],
        json!({"chat": query["message"]["chat"], "message_id": 42, "date": 0})
    );
    assert_eq!(query["message"]["chat"]["id"], alice);
    assert_eq!(query["message"]["chat"]["type"], "private");
    let chat_instance = query["chat_instance"].as_str().expect("a decimal string");
    assert!(chat_instance.parse::<i64>().is_ok(), "{chat_instance}");
    assert!(query.get("inline_message_id").is_none());

    assert_next_is_marker(&mut app, "marker").await;

    // A restart replays nothing: the press is neither delivered again nor lost.
    let (result, dc, sink, dir, guard) = app.stop_keep().await;
    result.unwrap();
    let mut app = start_app_probing(dc, sink, dir, guard, &Options::default(), &BUTTON_PROBE).await;
    assert!(
        app.skipped
            .iter()
            .all(|r| data(r).is_some_and(|d| d.starts_with("probe"))),
        "only probes before the marker: {:?}",
        app.skipped.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert_next_is_marker(&mut app, "after restart").await;
    app.stop().await.unwrap();
}

#[tokio::test]
async fn bot_api_format_posts_a_callback_query_update() {
    let mut app = spawn_bot_app(Options {
        configure: |c| c.webhook_format = WebhookFormat::BotApi,
        ..Options::default()
    })
    .await;
    let bob = ids().bob;
    let query_id = app
        .dc
        .press_button(bob, group_id(), 7, "📊 vote:2".as_bytes())
        .unwrap();

    let got = app.next_payload().await;
    spec().assert_type("Update", &got.body);
    let update = got.body.as_object().expect("an object");
    let mut keys: Vec<&str> = update.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["callback_query", "update_id"], "{}", got.body);
    let query = &got.body["callback_query"];
    let chat_instance = query["chat_instance"].clone();
    assert_eq!(
        *query,
        json!({
            "id": query_id.to_string(),
            "from": {"id": bob, "is_bot": false, "first_name": "Bob", "username": "bob",
                     "language_code": "de"},
            "message": {
                "chat": {"id": group_id(), "type": "group", "title": "Test Group"},
                "message_id": 7,
                "date": 0,
            },
            "chat_instance": chat_instance,
            "data": "📊 vote:2",
        })
    );
    assert!(chat_instance.is_string());

    // Every press is a new update, even with the same data on the same message.
    app.dc
        .press_button(bob, group_id(), 7, "📊 vote:2".as_bytes())
        .unwrap();
    let again = app.next_payload().await;
    assert_eq!(again.body["callback_query"]["data"], "📊 vote:2");
    assert_ne!(again.body["callback_query"]["id"], query["id"]);
    assert_eq!(again.body["callback_query"]["chat_instance"], chat_instance);
    assert!(again.body["update_id"].as_i64() > got.body["update_id"].as_i64());
    assert_next_is_marker(&mut app, "marker").await;
    app.stop().await.unwrap();
}
