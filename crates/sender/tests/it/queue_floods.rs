//! The send queue's lanes and parks: a flood wait on an account-wide call (resolving a
//! username, the dialog list, an upload's `FLOOD_PREMIUM_WAIT`) holds what it is about — the
//! expensive calls or every send — and never one chat's lane; a chat named by id and by
//! `@username` is one lane, in one order.

use std::time::Duration;

use serde_json::{Value, json};
use testdc::{Limits, Rate};

use crate::helpers::{API_KEY, Reply, TestApp, chats, spawn_app_with};

/// `POST /api_v1/<method>` asking for the asynchronous mode; the job id.
async fn post_async(app: &TestApp, method: &str, body: Value) -> i64 {
    let reply = app
        .send(
            app.client
                .post(app.url(&format!("/api_v1/{method}")))
                .header("x-api-key", API_KEY)
                .header("prefer", "respond-async")
                .json(&body),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    reply.body["result"]["job_id"].as_i64().unwrap()
}

async fn job_state(app: &TestApp, id: i64) -> Value {
    app.send(
        app.client
            .get(app.url(&format!("/api_v1/jobs/{id}")))
            .header("x-api-key", API_KEY),
    )
    .await
    .body["result"]
        .clone()
}

/// Polls `/status` until `done` holds of its `queue` (or panics after 20 s).
async fn status_until(app: &TestApp, done: impl Fn(&Value) -> bool) -> Value {
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let status = app.get("/status").await.body["queue"].clone();
            if done(&status) {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    found.expect("the queue reached the state in time")
}

fn retry_after(reply: &Reply) -> u64 {
    assert_eq!(reply.status, 429, "{:?}", reply.body);
    reply.body["parameters"]["retry_after"].as_u64().unwrap()
}

#[tokio::test]
async fn a_flood_wait_on_resolving_a_username_parks_the_expensive_calls_not_the_chats() {
    let app = spawn_app_with(|c| c.send_queue_max_wait = 1).await;
    let c = chats();
    app.dc
        .fail_next("contacts.resolveUsername", 1, "FLOOD_WAIT_600");
    let held = post_async(
        &app,
        "sendMessage",
        json!({ "chat_id": "@bob", "text": "by name" }),
    )
    .await;
    let status = status_until(&app, |q| q["expensive_parked"] == true).await;
    assert_eq!(
        (&status["account_parked"], &status["parked_lanes"]),
        (&json!(false), &json!(0)),
        "{status}"
    );
    // Every chat keeps sending, Bob's by id included.
    for chat in [c.alice, c.bob, c.group, c.supergroup] {
        app.send_text(chat, "still going").await;
    }
    // The expensive calls wait: getChat by username and a send to a name not resolved yet
    // are answered 429 with the park's wait, and testdc is not asked again.
    let get_chat = app
        .post("getChat", json!({ "chat_id": "@testsupergroup" }))
        .await;
    assert!(retry_after(&get_chat) >= 600, "{:?}", get_chat.body);
    let by_name = app
        .post(
            "sendMessage",
            json!({ "chat_id": "@alice", "text": "by name too" }),
        )
        .await;
    assert!(retry_after(&by_name) >= 600, "{:?}", by_name.body);
    assert_eq!(
        app.dc
            .errors_answered("contacts.resolveUsername", "FLOOD_WAIT_600"),
        1
    );
    assert_eq!(job_state(&app, held).await["state"], "queued");
    let bob = app.dc.history(c.bob).unwrap();
    assert!(bob.iter().all(|m| m.text != "by name"));
    let (_, metrics) = app.get_text("/metrics").await;
    assert!(
        metrics.contains("sender_queue_flood_total{kind=\"flood_wait_expensive\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_premium_wait_on_an_upload_parks_every_send_not_one_chat() {
    let app = spawn_app_with(|c| c.send_queue_max_wait = 1).await;
    let c = chats();
    app.dc
        .fail_next("upload.saveFilePart", 1, "FLOOD_PREMIUM_WAIT_600");
    let form = reqwest::multipart::Form::new()
        .text("chat_id", c.alice.to_string())
        .part(
            "document",
            reqwest::multipart::Part::bytes(vec![7u8; 4096]).file_name("notes.txt"),
        );
    let upload = app
        .send(
            app.client
                .post(app.url("/api_v1/sendDocument"))
                .header("x-api-key", API_KEY)
                .header("prefer", "respond-async")
                .multipart(form),
        )
        .await;
    assert_eq!(upload.status, 202, "{:?}", upload.body);
    let status = status_until(&app, |q| q["account_parked"] == true).await;
    assert_eq!(status["parked_lanes"], 0, "{status}");
    // Another chat's send waits for the account too: answered 429 with the park's wait.
    let bob = app
        .post("sendMessage", json!({ "chat_id": c.bob, "text": "held" }))
        .await;
    assert!(retry_after(&bob) >= 600, "{:?}", bob.body);
    assert!(
        app.dc
            .history(c.bob)
            .unwrap()
            .iter()
            .all(|m| m.text != "held")
    );
    assert_eq!(
        app.dc
            .errors_answered("upload.saveFilePart", "FLOOD_PREMIUM_WAIT_600"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_named_by_id_and_by_username_is_one_lane_in_one_order() {
    let app = spawn_app_with(|_| {}).await;
    let alice = chats().alice;
    // Calls overlap while a reply is pending, so two lanes would send at once; one username
    // lookup per minute, so a second lookup would be refused (and counted).
    app.dc.set_latency(Duration::from_millis(30));
    app.dc.set_limits(Limits {
        per_method: [("contacts.resolveUsername".to_owned(), Rate::per_minute(1))].into(),
        ..Limits::default()
    });
    let mut texts = Vec::new();
    for n in 0..30 {
        let text = format!("both ways {n}");
        let chat_id = if n % 2 == 0 {
            json!(alice)
        } else {
            json!("@Alice")
        };
        post_async(
            &app,
            "sendMessage",
            json!({ "chat_id": chat_id, "text": text }),
        )
        .await;
        texts.push(text);
    }
    status_until(&app, |q| q["depth"] == 0).await;
    let sent: Vec<String> = app
        .dc
        .history(alice)
        .unwrap()
        .into_iter()
        .rev()
        .filter(|m| m.out && m.text.starts_with("both ways "))
        .map(|m| m.text)
        .collect();
    assert_eq!(sent, texts, "lost, duplicated or out of order");
    assert_eq!(app.dc.peak_in_flight("messages.sendMessage"), 1);
    assert_eq!(
        app.dc.flood_waits(),
        0,
        "the username was resolved more than once"
    );
}
