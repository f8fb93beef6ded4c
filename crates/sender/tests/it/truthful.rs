//! Truth under faults: with testdc dropping every connection every 2 s (every second for the
//! other kinds of send) while sends are in flight, every answer is the message that exists — no
//! false 400 `RANDOM_ID_DUPLICATE`, no message sent twice — for sendMessage and for photos by
//! `file_id`, locations, forwards, copies and albums.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use crate::helpers::{chats, spawn_app};

/// Sends in all; concurrent requests at once.
const SENDS: usize = 2_400;
const CONCURRENCY: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_drops_every_two_seconds_give_no_false_failures() {
    let app = Arc::new(spawn_app().await);
    let c = chats();
    let targets = [c.alice, c.bob, c.group, c.supergroup];
    // Replies take a while, so a drop always finds sends in flight.
    app.dc.set_latency(Duration::from_millis(20));
    let sending = Arc::new(AtomicBool::new(true));
    let dropper = {
        let (app, sending) = (app.clone(), sending.clone());
        tokio::spawn(async move {
            let mut drops = 0u32;
            while sending.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(2)).await;
                app.dc.drop_connections();
                drops += 1;
            }
            drops
        })
    };
    let answers: Vec<(i64, String, u16, serde_json::Value)> = futures::stream::iter(0..SENDS)
        .map(|n| {
            let app = app.clone();
            let chat = targets[n % targets.len()];
            async move {
                let text = format!("truthful {n}");
                let reply = app
                    .post("sendMessage", json!({ "chat_id": chat, "text": text }))
                    .await;
                (chat, text, reply.status, reply.body)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    sending.store(false, Ordering::Relaxed);
    let drops = dropper.await.unwrap();
    assert!(drops >= 2, "the sends outlasted {drops} drops");
    app.dc.set_latency(Duration::ZERO);

    let failures: Vec<_> = answers.iter().filter(|a| a.2 != 200).collect();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    // The drops did hit sends whose answers were lost: their resends were refused as
    // duplicates, and the sender answered with the message instead.
    let duplicates = app
        .dc
        .errors_answered("messages.sendMessage", "RANDOM_ID_DUPLICATE");
    assert!(duplicates > 0, "no drop hit a send in flight");
    // Every answered message exists once, with the text it was sent with.
    for chat in targets {
        let history = app.dc.history(chat).unwrap();
        let mut by_text: HashMap<&str, Vec<i32>> = HashMap::new();
        for m in history.iter().filter(|m| m.out) {
            by_text
                .entry(m.text.as_str())
                .or_default()
                .push(m.message_id);
        }
        for (_, text, _, body) in answers.iter().filter(|a| a.0 == chat) {
            let id = body["result"]["message_id"].as_i64().unwrap() as i32;
            assert_eq!(by_text.get(text.as_str()), Some(&vec![id]), "{text}");
        }
    }
}

/// Sends of the other kinds in all (photo by `file_id`, location, forward, copy, album by
/// `file_id`), a fifth of them each; they outlast several drops a second apart.
const OTHER_SENDS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_give_no_false_failures_for_photos_locations_forwards_copies_and_albums() {
    let app = Arc::new(spawn_app().await);
    let c = chats();
    let targets = [c.alice, c.bob, c.group, c.supergroup];
    // One upload gives the file_id every photo and album below reuses; one text is forwarded
    // and copied.
    let upload = app
        .post_multipart(
            "sendPhoto",
            crate::media_helpers::form_with_file(c.alice, "photo", "photo.jpg", "image/jpeg"),
        )
        .await;
    let photo = upload.result()["photo"][0]["file_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let source = app.send_text(c.alice, "forward me").await["message_id"].clone();
    let before: HashMap<i64, usize> = targets
        .iter()
        .map(|&chat| (chat, outgoing(&app, chat).len()))
        .collect();
    app.dc.set_latency(Duration::from_millis(20));
    let sending = Arc::new(AtomicBool::new(true));
    let dropper = {
        let (app, sending) = (app.clone(), sending.clone());
        tokio::spawn(async move {
            let mut drops = 0u32;
            while sending.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                app.dc.drop_connections();
                drops += 1;
            }
            drops
        })
    };
    let answers: Vec<(i64, &str, u16, serde_json::Value)> = futures::stream::iter(0..OTHER_SENDS)
        .map(|n| {
            let (app, photo, source) = (app.clone(), photo.clone(), source.clone());
            let chat = targets[n % targets.len()];
            async move {
                let (method, body) = match n % 5 {
                    0 => (
                        "sendPhoto",
                        json!({"chat_id": chat, "photo": photo, "caption": format!("p {n}")}),
                    ),
                    1 => (
                        "sendLocation",
                        json!({"chat_id": chat, "latitude": 52.5, "longitude": 13.4}),
                    ),
                    2 => (
                        "forwardMessage",
                        json!({"chat_id": chat, "from_chat_id": c.alice, "message_id": source}),
                    ),
                    3 => (
                        "copyMessage",
                        json!({"chat_id": chat, "from_chat_id": c.alice, "message_id": source}),
                    ),
                    _ => (
                        "sendMediaGroup",
                        json!({"chat_id": chat, "media": [
                            {"type": "photo", "media": photo, "caption": format!("a {n}")},
                            {"type": "photo", "media": photo},
                        ]}),
                    ),
                };
                let reply = app.post(method, body).await;
                (chat, method, reply.status, reply.body)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    sending.store(false, Ordering::Relaxed);
    let drops = dropper.await.unwrap();
    assert!(drops >= 2, "the sends outlasted {drops} drops");
    app.dc.set_latency(Duration::ZERO);

    let failures: Vec<_> = answers.iter().filter(|a| a.2 != 200).collect();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    // The drops hit sends in flight: resends were refused as duplicates and answered with the
    // message found instead.
    let duplicates: u64 = [
        "messages.sendMedia",
        "messages.forwardMessages",
        "messages.sendMultiMedia",
    ]
    .iter()
    .map(|m| app.dc.errors_answered(m, "RANDOM_ID_DUPLICATE"))
    .sum();
    eprintln!("{drops} drops, {duplicates} RANDOM_ID_DUPLICATE answered");
    assert!(duplicates > 0, "no drop hit a send in flight");
    // Every answered message exists, and nothing else was sent: the messages each chat gained
    // are exactly the ones answered (an album answers two).
    for chat in targets {
        let mut answered: Vec<i32> = answers
            .iter()
            .filter(|a| a.0 == chat)
            .flat_map(|a| match &a.3["result"] {
                serde_json::Value::Array(messages) => messages.clone(),
                one => vec![one.clone()],
            })
            .map(|m| m["message_id"].as_i64().unwrap() as i32)
            .collect();
        answered.sort_unstable();
        let mut gained: Vec<i32> = outgoing(&app, chat)[before[&chat]..].to_vec();
        gained.sort_unstable();
        assert_eq!(answered, gained, "chat {chat}: answered vs sent");
    }
}

/// The ids of the account's messages in `chat`, oldest first.
fn outgoing(app: &crate::helpers::TestApp, chat: i64) -> Vec<i32> {
    let mut ids: Vec<i32> = app
        .dc
        .history(chat)
        .unwrap()
        .iter()
        .filter(|m| m.out)
        .map(|m| m.message_id)
        .collect();
    ids.sort_unstable();
    ids
}
