//! The demo's webhook consumer: what a real service behind `WEBHOOK_URL` would do. It acks
//! every payload at once and works afterwards: a text is answered with a text, a voice note
//! is downloaded from `media_url` and answered with a voice note (sendVoice by URL, the
//! "synthesized" speech being `fixtures/voice_reply.ogg`), any other media is sent back by
//! `file_id`. It also serves `GET /files/photo.jpg` for sending a photo by URL.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::{DEMO_KEY, PROBE_PREFIX};
use testdc::Fixture;

/// What the consumer did, for whoever follows the demo (the README test does).
#[derive(Clone, Debug)]
pub enum Event {
    /// A webhook payload arrived (start-up probes left out).
    Received(Value),
    /// The consumer answered through the sender; the sender's `result` (a Bot API Message).
    Answered(Value),
    /// Answering a payload failed; why.
    Failed(String),
    /// A start-up probe arrived (the receiver is live).
    Probe,
}

/// The consumer's state: where the sender is, where the consumer itself is reachable.
#[derive(Clone)]
pub(crate) struct Consumer {
    sender: SocketAddr,
    own: SocketAddr,
    http: reqwest::Client,
    events: broadcast::Sender<Event>,
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

impl Consumer {
    /// A consumer calling the sender at `sender` and serving files at `own`.
    pub(crate) fn new(
        sender: SocketAddr,
        own: SocketAddr,
        events: broadcast::Sender<Event>,
    ) -> Self {
        Self {
            sender,
            own,
            http: reqwest::Client::new(),
            events,
        }
    }

    /// `POST /webhook`, `GET /tts/reply.ogg`, `GET /files/photo.jpg`.
    pub(crate) fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/webhook", post(webhook))
            .route(
                "/tts/reply.ogg",
                get(|| file("voice_reply.ogg", "audio/ogg")),
            )
            .route("/files/photo.jpg", get(|| file("photo.jpg", "image/jpeg")))
            .with_state(self)
    }

    /// Calls a sender method with a JSON body; the `result`, or the error envelope as an error.
    async fn call(&self, method: &str, body: Value) -> anyhow::Result<Value> {
        let answer: Value = self
            .http
            .post(format!("http://{}/api_v1/{method}", self.sender))
            .header("x-api-key", DEMO_KEY)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("{method}: the sender is unreachable"))?
            .json()
            .await
            .with_context(|| format!("{method}: the sender's answer is not JSON"))?;
        if answer["ok"] != true {
            bail!("{method} failed: {answer}");
        }
        Ok(answer["result"].clone())
    }

    /// What the consumer does with one payload: the sender's result of its answer.
    async fn answer(&self, payload: &Value) -> anyhow::Result<Value> {
        let m = &payload["message"];
        let (chat, id) = (m["chat"]["id"].clone(), m["message_id"].clone());
        let media = &m["media"];
        match media["type"].as_str() {
            None => {
                let text = m["text"].as_str().unwrap_or_default();
                let answer = format!("You said <b>{text}</b>. It is sunny, 22 °C ☀️");
                self.call(
                    "sendMessage",
                    json!({"chat_id": chat, "reply_to_message_id": id, "parse_mode": "HTML",
                           "text": answer}),
                )
                .await
            }
            Some("voice") => {
                let url = m["media_url"].as_str().context("no media_url")?;
                let bytes = self.http.get(url).send().await?.bytes().await?;
                println!(
                    "   consumer: fetched the voice note, {} bytes, from {url}",
                    bytes.len()
                );
                let voice = format!("http://{}/tts/reply.ogg", self.own);
                self.call(
                    "sendVoice",
                    json!({"chat_id": chat, "reply_to_message_id": id, "voice": voice,
                           "caption": "Here is my answer"}),
                )
                .await
            }
            Some(kind) => {
                self.call(
                    "sendPhoto",
                    json!({"chat_id": chat, "reply_to_message_id": id,
                           "photo": media["file_id"].clone(),
                           "caption": format!("Nice {kind}! Sending it back by file_id.")}),
                )
                .await
            }
        }
    }

    async fn handle(self, payload: Value) {
        let event = match self.answer(&payload).await {
            Ok(result) => {
                let kind = ["text", "voice", "photo"]
                    .into_iter()
                    .find(|k| !result[*k].is_null())
                    .unwrap_or("?");
                println!(
                    "   consumer → sender → Telegram: message {} ({kind})",
                    result["message_id"]
                );
                Event::Answered(result)
            }
            Err(e) => {
                println!("   consumer: could not answer: {e:#}");
                Event::Failed(format!("{e:#}"))
            }
        };
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }
}

async fn webhook(State(c): State<Consumer>, Json(payload): Json<Value>) -> Json<Value> {
    let message = &payload["message"];
    let probe = message["text"]
        .as_str()
        .is_some_and(|t| t.starts_with(PROBE_PREFIX));
    // The demo answers as its own account (the other accounts' updates are only shown).
    let own = payload["account_id"].is_null() || payload["account_id"] == Fixture::DEFAULT.self_id;
    if probe {
        let _ = c.events.send(Event::Probe);
    } else if payload["event"] == "message" && own {
        // Only new messages are answered, not edits, deletions or reactions.
        println!("   webhook ← receiver: {message}");
        let _ = c.events.send(Event::Received(payload.clone()));
        tokio::spawn(c.handle(payload));
    } else if payload["event"] == "message" {
        println!(
            "   webhook ← receiver (account {}): {message}",
            payload["account_id"]
        );
    }
    Json(json!({"ok": true}))
}

async fn file(
    name: &'static str,
    content_type: &'static str,
) -> Result<([(&'static str, &'static str); 1], Vec<u8>), StatusCode> {
    let bytes = tokio::fs::read(fixture(name))
        .await
        .map_err(|_| StatusCode::NOT_FOUND)?;
    Ok(([("content-type", content_type)], bytes))
}
