//! The voice-reply flow: a webhook consumer receives a user's text, "synthesizes" speech (the
//! committed `fixtures/voice_reply.ogg` stands in for a TTS engine) and answers through the
//! sender with `sendVoice` by URL as a reply; the user's chat in testdc shows the voice note.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use testdc::{Fixture, SendText};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::common::{Stack, TOKEN, fixture};

#[derive(Clone)]
struct Consumer {
    /// Where the consumer reaches the sender.
    sender: SocketAddr,
    /// Where the consumer serves synthesized audio.
    own: SocketAddr,
    /// Every text the consumer answered, for the test to follow.
    answered: mpsc::UnboundedSender<i64>,
}

/// The consumer acks at once and works afterwards, as a serverless function would.
async fn webhook(State(c): State<Consumer>, Json(payload): Json<Value>) -> Json<Value> {
    let message = &payload["message"];
    let text = message["text"].as_str().unwrap_or_default().to_owned();
    if !text.is_empty() && !text.starts_with("probe") {
        let (chat_id, message_id) = (message["chat"]["id"].clone(), message["message_id"].clone());
        tokio::spawn(async move {
            let body = json!({
                "chat_id": chat_id,
                "voice": format!("http://{}/tts/reply.ogg", c.own),
                "reply_to_message_id": message_id,
                "caption": format!("You said: {text}"),
            });
            let answer: Value = reqwest::Client::new()
                .post(format!("http://{}/api_v1/sendVoice", c.sender))
                .header("x-api-key", TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(answer["ok"], true, "{answer}");
            let _ = c
                .answered
                .send(answer["result"]["message_id"].as_i64().unwrap());
        });
    }
    Json(json!({"ok": true}))
}

async fn tts() -> ([(&'static str, &'static str); 1], Vec<u8>) {
    (
        [("content-type", "audio/ogg")],
        std::fs::read(fixture("voice_reply.ogg")).unwrap(),
    )
}

#[tokio::test]
async fn a_text_gets_a_voice_note_reply_through_both_binaries() {
    let stack = Stack::start().await;
    let sender_addr = stack.sender(&["--allow-private-urls", "true"]).await;

    let consumer_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let consumer_addr = consumer_listener.local_addr().unwrap();
    let (answered, mut answers) = mpsc::unbounded_channel();
    let consumer = Consumer {
        sender: sender_addr,
        own: consumer_addr,
        answered,
    };
    let routes = axum::Router::new()
        .route("/webhook", post(webhook))
        .route("/tts/reply.ogg", get(tts))
        .with_state(consumer);
    tokio::spawn(async move { axum::serve(consumer_listener, routes).await.unwrap() });

    let webhook = format!("http://{consumer_addr}/webhook");
    let _payloads = stack.receiver(&["--webhook-url", &webhook]).await;
    let (dc, alice) = (&stack.dc, Fixture::DEFAULT.alice);

    let asked = dc
        .send_text(SendText {
            from: None,
            chat_id: alice,
            text: "Read this aloud".into(),
            reply_to_message_id: None,
        })
        .unwrap();
    let reply_id = tokio::time::timeout(Duration::from_secs(20), answers.recv())
        .await
        .unwrap()
        .unwrap();
    let held = dc
        .history(alice)
        .unwrap()
        .into_iter()
        .find(|m| i64::from(m.message_id) == reply_id)
        .unwrap();
    assert!(held.out, "sent by the account");
    assert_eq!(held.reply_to_message_id, Some(asked.message_id));
    assert_eq!(held.text, "You said: Read this aloud");
    let media = held.media.expect("a voice note");
    assert!(media.voice);
    assert_eq!(media.duration, Some(2), "read from the OGG itself");
    let expected: String = Sha256::digest(std::fs::read(fixture("voice_reply.ogg")).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(media.sha256, expected);
}
