//! The Bot API update methods across both binaries: the receiver stores what testdc sends in
//! its outbox, the sender serves it with `getUpdates` (long polling, `offset` confirms, 409
//! for a superseded poll and while a webhook is set) and moves delivery with `setWebhook` /
//! `deleteWebhook`, which `getWebhookInfo` reports truthfully.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use testdc::{Fixture, SendText};
use testkit::botapi_spec;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::common::{Stack, TOKEN};

/// Calls a Bot API method through the token route, as client libraries do; returns the HTTP
/// status and the envelope.
async fn call(sender: SocketAddr, method: &str, params: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{sender}/bot{TOKEN}/{method}"))
        .json(&params)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    if body["ok"] == true {
        botapi_spec::spec().assert_result(method, &body["result"]);
    }
    (status, body)
}

fn say(stack: &Stack, text: &str) -> i32 {
    stack
        .dc
        .send_text(SendText {
            from: None,
            chat_id: Fixture::DEFAULT.alice,
            text: text.into(),
            reply_to_message_id: None,
        })
        .unwrap()
        .message_id
}

fn texts(updates: &Value) -> Vec<String> {
    updates
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["message"]["text"].as_str().map(str::to_owned))
        .collect()
}

fn last_id(updates: &Value) -> Option<i64> {
    updates.as_array()?.last()?["update_id"].as_i64()
}

#[tokio::test]
async fn get_updates_long_polls_confirms_with_offset_and_keeps_what_is_unconfirmed() {
    let stack = Stack::start().await;
    let sender = stack.sender(&[]).await;
    let _payloads = stack.receiver(&[]).await;

    // The receiver's probes are stored and wait for getUpdates, as Bot API updates.
    let (status, first) = call(sender, "getUpdates", json!({})).await;
    assert_eq!(status, 200, "{first}");
    assert!(
        texts(&first["result"])
            .iter()
            .all(|t| t.starts_with("probe"))
    );
    let probes = last_id(&first["result"]).expect("the probes are there");

    // A long poll is answered once the update is stored, not at its timeout.
    let poll = tokio::spawn(async move {
        call(
            sender,
            "getUpdates",
            json!({"offset": probes + 1, "timeout": 30}),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "nothing new yet: the poll waits");
    say(&stack, "hello poller");
    let (status, got) = tokio::time::timeout(Duration::from_secs(20), poll)
        .await
        .expect("answered well before its 30 s timeout")
        .unwrap();
    assert_eq!(status, 200, "{got}");
    assert_eq!(texts(&got["result"]), ["hello poller"]);
    let hello = last_id(&got["result"]).unwrap();
    assert!(hello > probes, "update_ids increase");
    assert_eq!(
        got["result"][0]["message"]["chat"]["id"],
        Fixture::DEFAULT.alice
    );

    // Confirmed updates are gone; an unconfirmed one comes again, also from a fresh sender
    // process state (a restart), with the same update_id.
    let (_, again) = call(sender, "getUpdates", json!({"offset": probes + 1})).await;
    assert_eq!(last_id(&again["result"]), Some(hello), "not confirmed yet");
    // (The first one keeps running: the second gets a send queue of its own, since a queue
    // file is held by one sender at a time.)
    let queue = format!("{}.second.queue", stack.session);
    let restarted = stack.sender(&["--send-queue-path", &queue]).await;
    let (_, after_restart) = call(restarted, "getUpdates", json!({})).await;
    assert_eq!(texts(&after_restart["result"]), ["hello poller"]);
    assert_eq!(last_id(&after_restart["result"]), Some(hello));
    let (_, confirmed) = call(restarted, "getUpdates", json!({"offset": hello + 1})).await;
    assert_eq!(confirmed["result"], json!([]));

    // limit, and a negative offset keeps only the newest.
    for i in 0..3 {
        say(&stack, &format!("batch {i}"));
    }
    let mut seen = Vec::new();
    for _ in 0..100 {
        let (_, got) = call(restarted, "getUpdates", json!({"limit": 2, "timeout": 1})).await;
        seen = texts(&got["result"]);
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen, ["batch 0", "batch 1"], "limit 2, oldest first");
    let (_, newest) = call(restarted, "getUpdates", json!({"offset": -1})).await;
    assert_eq!(
        texts(&newest["result"]).last().map(String::as_str),
        Some("batch 2")
    );
    let (_, rest) = call(restarted, "getUpdates", json!({})).await;
    assert_eq!(
        texts(&rest["result"]),
        ["batch 2"],
        "the earlier ones were confirmed"
    );

    // Two polls at once: the older one ends with Telegram's 409.
    let older = tokio::spawn(async move {
        call(
            restarted,
            "getUpdates",
            json!({"offset": i64::MAX, "timeout": 30}),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, _) = call(
        restarted,
        "getUpdates",
        json!({"offset": i64::MAX, "timeout": 1}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, conflict) = tokio::time::timeout(Duration::from_secs(10), older)
        .await
        .expect("the superseded poll ends at once")
        .unwrap();
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(
        conflict["description"],
        "Conflict: terminated by other getUpdates request; make sure that only one bot \
         instance is running"
    );
}

/// A webhook consumer that answers with the status the test sets, and reports each POST.
async fn consumer(fail: bool) -> (String, mpsc::UnboundedReceiver<(HeaderMap, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let routes = axum::Router::new().route(
        "/hook",
        post(
            move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((headers, body));
                    if fail {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    }
                }
            },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    (url, rx)
}

async fn webhook_info(sender: SocketAddr) -> Value {
    let (status, info) = call(sender, "getWebhookInfo", json!({})).await;
    assert_eq!(status, 200, "{info}");
    info["result"].clone()
}

/// Waits until `getWebhookInfo` satisfies `done`.
async fn info_until(sender: SocketAddr, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let info = webhook_info(sender).await;
        if done(&info) {
            return info;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "getWebhookInfo never got there: {}",
        webhook_info(sender).await
    );
}

#[tokio::test]
async fn set_webhook_moves_delivery_and_get_webhook_info_tells_the_truth() {
    let stack = Stack::start().await;
    let sender = stack.sender(&[]).await;
    let _payloads = stack.receiver(&[]).await;
    let info = webhook_info(sender).await;
    assert_eq!(info["url"], "", "no WEBHOOK_URL: polling");
    assert!(
        info["pending_update_count"].as_u64().unwrap() >= 1,
        "the probes wait"
    );

    // Refused settings name the problem.
    for (params, why) in [
        (json!({"url": "ftp://example.com/x"}), "http or https"),
        (json!({"url": "not a url"}), "http or https"),
        (
            json!({"url": "https://example.com/x", "secret_token": "no spaces"}),
            "unallowed",
        ),
    ] {
        let (status, refused) = call(sender, "setWebhook", params).await;
        assert_eq!(status, 400, "{refused}");
        assert!(
            refused["description"].as_str().unwrap().contains(why),
            "{refused}"
        );
    }

    // Set: pending updates and new ones go to the URL as Bot API Updates with the secret.
    let (url, mut posts) = consumer(false).await;
    let (status, set) = call(
        sender,
        "setWebhook",
        json!({"url": url, "secret_token": "s3cret_Token-1", "max_connections": 5}),
    )
    .await;
    assert_eq!((status, &set["result"]), (200, &json!(true)), "{set}");
    let (status, refused) = call(sender, "getUpdates", json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(
        refused["description"],
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to \
         delete the webhook first"
    );
    say(&stack, "to the runtime webhook");
    let mut delivered = Vec::new();
    while !delivered
        .iter()
        .any(|t: &String| t == "to the runtime webhook")
    {
        let (headers, update) = tokio::time::timeout(Duration::from_secs(20), posts.recv())
            .await
            .expect("the receiver POSTs within the settings' recheck")
            .unwrap();
        assert_eq!(headers["x-telegram-bot-api-secret-token"], "s3cret_Token-1");
        assert!(
            headers.get("x-api-key").is_none(),
            "no WEBHOOK_API_KEY to a runtime URL"
        );
        botapi_spec::spec().assert_type("Update", &update);
        delivered.push(
            update["message"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let info = info_until(sender, |i| i["pending_update_count"] == 0).await;
    assert_eq!(info["url"], url.as_str());
    assert_eq!(info["max_connections"], 5);

    // A failing consumer: getWebhookInfo shows the pending update and the error.
    let (failing_url, mut failing_posts) = consumer(true).await;
    call(sender, "setWebhook", json!({"url": failing_url})).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    say(&stack, "refused by the consumer");
    tokio::time::timeout(Duration::from_secs(20), failing_posts.recv())
        .await
        .expect("attempted")
        .unwrap();
    let info = info_until(sender, |i| i["last_error_message"].is_string()).await;
    assert!(
        info["pending_update_count"].as_u64().unwrap() >= 1,
        "{info}"
    );
    assert!(
        info["last_error_date"].as_i64().unwrap() > 1_700_000_000,
        "{info}"
    );
    assert!(
        info["last_error_message"].as_str().unwrap().contains("503"),
        "{info}"
    );

    // deleteWebhook with drop_pending_updates: nothing pending, polling works again.
    let (status, deleted) = call(
        sender,
        "deleteWebhook",
        json!({"drop_pending_updates": true}),
    )
    .await;
    assert_eq!(
        (status, &deleted["result"]),
        (200, &json!(true)),
        "{deleted}"
    );
    let info = webhook_info(sender).await;
    assert_eq!(
        (&info["url"], &info["pending_update_count"]),
        (&json!(""), &json!(0))
    );
    let (status, empty) = call(sender, "getUpdates", json!({})).await;
    assert_eq!((status, &empty["result"]), (200, &json!([])), "{empty}");
    say(&stack, "polled again");
    let (_, polled) = call(sender, "getUpdates", json!({"timeout": 20})).await;
    assert_eq!(texts(&polled["result"]), ["polled again"]);
}
