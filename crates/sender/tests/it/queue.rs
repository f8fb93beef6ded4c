//! The send queue: idempotency keys (also across a restart), the asynchronous mode with its
//! job endpoint and result webhook, pacing under testdc's Telegram-like limits (counted:
//! zero FLOOD_WAITs reach testdc), PEER_FLOOD pausing the account.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use testdc::{Limits, Rate, TestDc, TestDcConfig};
use tokio::sync::mpsc;

use crate::helpers::{API_KEY, TestApp, chats, init_test_logging, spawn_app, spawn_app_with};

/// `POST /api_v1/<method>` with `headers`, no client-side timeout beyond `limit`.
async fn post_with(
    app: &TestApp,
    method: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = app
        .client
        .post(app.url(&format!("/api_v1/{method}")))
        .header("x-api-key", API_KEY)
        .json(&body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = tokio::time::timeout(Duration::from_secs(120), request.send())
        .await
        .expect("answered in time")
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

/// Polls `/status` until the queue is empty (or panics after `limit`).
async fn drained(app: &TestApp, limit: Duration) {
    let done = tokio::time::timeout(limit, async {
        loop {
            let status = app.get("/status").await;
            if status.body["queue"]["depth"] == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(done.is_ok(), "the queue did not drain in {limit:?}");
}

#[tokio::test]
async fn an_idempotent_retry_returns_the_first_message_without_a_second_send() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let body = json!({ "chat_id": alice, "text": "once only" });
    let (s1, h1, first) = post_with(
        &app,
        "sendMessage",
        &[("Idempotency-Key", "k-1")],
        body.clone(),
    )
    .await;
    let (s2, h2, again) = post_with(
        &app,
        "sendMessage",
        &[("Idempotency-Key", "k-1")],
        body.clone(),
    )
    .await;
    assert_eq!((s1, s2), (200, 200), "{first} {again}");
    assert_eq!(first, again);
    assert!(h1.get("idempotent-replayed").is_none());
    assert_eq!(h2["idempotent-replayed"], "true");
    // The body field works for clients that cannot set headers.
    let keyed = json!({ "chat_id": alice, "text": "field key", "idempotency_key": "k-2" });
    let (_, _, a) = post_with(&app, "sendMessage", &[], keyed.clone()).await;
    let (_, _, b) = post_with(&app, "sendMessage", &[], keyed).await;
    assert_eq!(a["result"]["message_id"], b["result"]["message_id"]);
    let history = app.dc.history(alice).unwrap();
    let count = |t: &str| history.iter().filter(|m| m.text == t).count();
    assert_eq!((count("once only"), count("field key")), (1, 1));
    // Another key sends again.
    let (_, _, other) = post_with(&app, "sendMessage", &[("Idempotency-Key", "k-3")], body).await;
    assert_ne!(other["result"]["message_id"], first["result"]["message_id"]);
}

#[tokio::test]
async fn an_idempotency_key_survives_a_restart_of_the_sender() {
    init_test_logging();
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = crate::helpers::test_config(&dir, API_KEY);
    dc.write_session(config.session_path()).await.unwrap();
    let alice = chats().alice;
    let body = json!({ "chat_id": alice, "text": "before the restart", "idempotency_key": "r-1" });
    let mut answers = Vec::new();
    for _ in 0..2 {
        let app = sender::App::build(config.clone()).await.unwrap();
        let url = format!("http://{}/api_v1/sendMessage", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let reply: Value = reqwest::Client::new()
            .post(url)
            .header("x-api-key", API_KEY)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answers.push(reply);
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
    assert_eq!(answers[0]["ok"], true, "{}", answers[0]);
    assert_eq!(answers[0], answers[1]);
    let history = dc.history(alice).unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|m| m.text == "before the restart")
            .count(),
        1
    );
}

/// A result webhook: every JSON body POSTed to it, on a channel.
async fn result_sink() -> (String, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/results",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/results", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

#[tokio::test]
async fn an_asynchronous_send_answers_202_then_its_job_and_the_result_webhook_have_the_message() {
    let (url, mut results) = result_sink().await;
    let app = spawn_app_with(|c| c.send_result_webhook_url = Some(url.parse().unwrap())).await;
    let alice = chats().alice;
    let (status, _, accepted) = post_with(
        &app,
        "sendMessage",
        &[("Prefer", "respond-async")],
        json!({ "chat_id": alice, "text": "later" }),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    let job_id = accepted["result"]["job_id"].as_i64().unwrap();
    let posted = tokio::time::timeout(Duration::from_secs(10), results.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(posted["job_id"], job_id);
    assert_eq!(posted["method"], "sendMessage");
    assert_eq!(posted["status"], 200);
    let message_id = posted["response"]["result"]["message_id"].as_i64().unwrap();
    assert_eq!(app.stored(alice, message_id).unwrap().text, "later");
    let job = app.get(&format!("/api_v1/jobs/{job_id}")).await;
    assert_eq!(job.status, 401, "the job endpoint needs the key");
    let job: Value = app
        .client
        .get(app.url(&format!("/api_v1/jobs/{job_id}")))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(job["result"]["state"], "done");
    assert_eq!(job["result"]["response"], posted["response"]);
    // The body field asks for the same mode.
    let (status, _, _) = post_with(
        &app,
        "sendMessage",
        &[],
        json!({ "chat_id": alice, "text": "later too", "respond_async": true }),
    )
    .await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn peer_flood_pauses_the_account_visibly_then_the_send_goes_once() {
    let app = spawn_app_with(|c| c.peer_flood_pause = 2).await;
    let alice = chats().alice;
    app.dc.fail_next("messages.sendMessage", 1, "PEER_FLOOD");
    let (status, _, accepted) = post_with(
        &app,
        "sendMessage",
        &[("Prefer", "respond-async")],
        json!({ "chat_id": alice, "text": "after the pause" }),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    let paused = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let status = app.get("/status").await;
            if status.body["queue"]["paused"] == true {
                return status.body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the pause shows in /status");
    assert!(
        paused["queue"]["paused_until"].as_u64().is_some(),
        "{paused}"
    );
    let (_, metrics) = app.get_text("/metrics").await;
    assert!(
        metrics.contains("sender_queue_flood_total{kind=\"peer_flood\"}"),
        "{metrics}"
    );
    drained(&app, Duration::from_secs(20)).await;
    let history = app.dc.history(alice).unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|m| m.text == "after the pause")
            .count(),
        1
    );
}

fn expected_prefix(text: &str) -> bool {
    ["one chat ", "spread ", "group burst "]
        .iter()
        .any(|p| text.starts_with(p))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_bursts_under_telegram_like_limits_meet_no_flood_wait_and_keep_order() {
    // The sender paces below testdc's limits: 50/s per chat (testdc 60/s), 10/s per group
    // (testdc 12/s), 100/s overall (testdc 120/s).
    let app = Arc::new(
        spawn_app_with(|c| {
            c.send_pacing = true;
            c.send_pace_chat_per_minute = 3000;
            c.send_pace_chat_burst = 3;
            c.send_pace_group_per_minute = 600;
            c.send_pace_account_per_minute = Some(6000);
            c.send_queue_max_wait = 600;
        })
        .await,
    );
    app.dc.set_limits(Limits {
        per_chat: Some(Rate::per_second(60)),
        per_group: Some(Rate::per_second(12)),
        per_account: Some(Rate::per_second(120)),
        ..Limits::default()
    });
    let c = chats();
    let mut spread: Vec<i64> = (0..29)
        .map(|n| app.dc.add_group(&format!("lane {n}"), &[c.alice]))
        .collect();
    spread.push(c.bob);
    let mut sends: Vec<(i64, String)> = (0..1000)
        .map(|n| (c.alice, format!("one chat {n}")))
        .collect();
    sends.extend((0..300).map(|n| (spread[n % 30], format!("spread {n}"))));
    sends.extend((0..60).map(|n| (c.group, format!("group burst {n}"))));
    let answers: Vec<(i64, String, u16, Value)> = futures::stream::iter(sends)
        .map(|(chat, text)| {
            let app = app.clone();
            async move {
                let (status, _, body) = post_with(
                    &app,
                    "sendMessage",
                    &[("Prefer", "respond-async")],
                    json!({ "chat_id": chat, "text": text }),
                )
                .await;
                (chat, text, status, body)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert!(answers.iter().all(|a| a.2 == 202), "all accepted");
    drained(&app, Duration::from_secs(240)).await;
    assert_eq!(app.dc.flood_waits(), 0, "a FLOOD_WAIT reached testdc");
    // Per chat: each text exactly once, in the order the queue accepted them (job ids).
    let mut by_chat: HashMap<i64, Vec<(i64, &str)>> = HashMap::new();
    for (chat, text, _, body) in &answers {
        let job = body["result"]["job_id"].as_i64().unwrap();
        by_chat.entry(*chat).or_default().push((job, text.as_str()));
    }
    for (chat, mut jobs) in by_chat {
        jobs.sort();
        let history = app.dc.history(chat).unwrap();
        let sent: Vec<&str> = history
            .iter()
            .rev()
            .filter(|m| m.out && expected_prefix(&m.text))
            .map(|m| m.text.as_str())
            .collect();
        let expected: Vec<&str> = jobs.iter().map(|(_, t)| *t).collect();
        assert_eq!(
            sent, expected,
            "chat {chat}: lost, duplicated or out of order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_goes_ahead_of_bulk_sends_waiting_for_the_account_bucket() {
    // Only the account bucket binds: 10 sends a second, one at a time.
    let app = Arc::new(
        spawn_app_with(|c| {
            c.send_pacing = true;
            c.send_pace_chat_per_minute = 6000;
            c.send_pace_group_per_minute = 6000;
            c.send_pace_account_per_minute = Some(600);
            c.send_queue_max_wait = 600;
        })
        .await,
    );
    let c = chats();
    let (status, _, first) = post_with(
        &app,
        "sendMessage",
        &[],
        json!({ "chat_id": c.alice, "text": "to be answered" }),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    // Thirty bulk sends, each to its own group so that no lane holds another: all of them
    // wait for the account bucket at once.
    let groups: Vec<i64> = (0..30)
        .map(|n| app.dc.add_group(&format!("bulk {n}"), &[c.alice]))
        .collect();
    for (n, group) in groups.iter().enumerate() {
        let (status, _, body) = post_with(
            &app,
            "sendMessage",
            &[("Prefer", "respond-async")],
            json!({ "chat_id": group, "text": format!("bulk {n}") }),
        )
        .await;
        assert_eq!(status, 202, "{body}");
    }
    let sent_bulk = |app: &TestApp| {
        groups
            .iter()
            .map(|g| app.dc.history(*g).unwrap().iter().filter(|m| m.out).count())
            .sum::<usize>()
    };
    // Let a few go, so that the rest are sleeping for their tokens when the reply comes.
    while sent_bulk(&app) < 12 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = sent_bulk(&app);
    let (status, _, reply) = post_with(
        &app,
        "sendMessage",
        &[],
        json!({
            "chat_id": c.alice,
            "text": "the reply",
            "reply_parameters": { "message_id": first["result"]["message_id"] },
        }),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let after = sent_bulk(&app);
    drained(&app, Duration::from_secs(60)).await;
    // Private chats and basic groups share the account's message ids: they order every send.
    let reply_id = reply["result"]["message_id"].as_i64().unwrap();
    let bulk_ids: Vec<i64> = groups
        .iter()
        .flat_map(|g| app.dc.history(*g).unwrap())
        .filter(|m| m.out)
        .map(|m| i64::from(m.message_id))
        .collect();
    assert_eq!(bulk_ids.len(), 30, "every bulk send went once");
    let ahead = bulk_ids.iter().filter(|id| **id < reply_id).count();
    // At most the one bulk send already holding its token when the reply arrived goes between.
    assert!(
        ahead <= before + 1,
        "{ahead} bulk sends went before the reply ({before} had gone when it was posted, {after} when it was answered)"
    );
    assert!(after < 30, "the reply waited for every bulk send ({after})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_goes_away_mid_send_leaves_its_send_done_once_and_its_chat_moving() {
    // Pacing off: a synchronous send to an idle chat runs in its caller's own task; the
    // caller going away must not take the send or the chat's lane with it.
    let app = spawn_app().await;
    let alice = chats().alice;
    // Alice is not in the session yet: the caller goes away while the dialog list that finds
    // her loads, or while the send itself is in flight.
    app.dc.set_latency(Duration::from_millis(800));
    let gone = app
        .client
        .post(app.url("/api_v1/sendMessage"))
        .header("x-api-key", API_KEY)
        .timeout(Duration::from_millis(200))
        .json(&json!({ "chat_id": alice, "text": "caller went away" }))
        .send()
        .await;
    assert!(gone.is_err(), "the caller gave up before the answer");
    app.dc.set_latency(Duration::ZERO);
    let (status, _, next) = post_with(
        &app,
        "sendMessage",
        &[],
        json!({ "chat_id": alice, "text": "next in the chat" }),
    )
    .await;
    assert_eq!(status, 200, "the chat's lane still moves: {next}");
    drained(&app, Duration::from_secs(30)).await;
    let history = app.dc.history(alice).unwrap();
    let count = |t: &str| history.iter().filter(|m| m.text == t).count();
    assert_eq!(
        (count("caller went away"), count("next in the chat")),
        (1, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_withdrawn_for_one_caller_answers_every_caller_waiting_for_it() {
    // One send a minute per chat: the second send waits past SEND_QUEUE_MAX_WAIT (1 s).
    let app = Arc::new(
        spawn_app_with(|c| {
            c.send_pacing = true;
            c.send_pace_chat_per_minute = 1;
            c.send_pace_chat_burst = 1;
            c.send_queue_max_wait = 1;
        })
        .await,
    );
    let alice = chats().alice;
    let (status, _, first) = post_with(
        &app,
        "sendMessage",
        &[],
        json!({ "chat_id": alice, "text": "takes the token" }),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    // The same keyed send twice at once: one request stores it, the other waits for it.
    let keyed = json!({ "chat_id": alice, "text": "waits", "idempotency_key": "w-1" });
    let (a, b) = tokio::join!(
        post_with(&app, "sendMessage", &[], keyed.clone()),
        post_with(&app, "sendMessage", &[], keyed.clone()),
    );
    assert_eq!((a.0, b.0), (429, 429), "{} {}", a.2, b.2);
    let history = app.dc.history(alice).unwrap();
    assert!(
        history.iter().all(|m| m.text != "waits"),
        "withdrawn, never sent"
    );
}
