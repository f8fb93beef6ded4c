//! Truth under faults: with testdc dropping every connection every 2 s while sends are in
//! flight, every answer is the message that exists — no false 400 `RANDOM_ID_DUPLICATE`, no
//! message sent twice.

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
