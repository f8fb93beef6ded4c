//! The one-command demo: testdc, the receiver, the sender and a tiny webhook consumer, all on
//! loopback, playing a scripted conversation with media. No Telegram account, no Docker:
//!
//! ```sh
//! cargo run -p e2e --example demo            # plays the script and exits
//! cargo run -p e2e --example demo -- --serve # then keeps everything running for curl
//! ```
//!
//! The consumer does what a real service behind the webhook would: it answers texts through
//! the sender, downloads incoming media from `media_url`, answers a voice note with a voice
//! note (sendVoice by URL) and a photo with the same photo (sendPhoto by `file_id`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use clap::Parser;
use serde_json::{Value, json};
use testdc::{Fixture, MediaKind, MediaMeta, SendMedia, SendText, TestDc, TestDcConfig};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const TOKEN: &str = "100000001:demo-token";

/// Plays a scripted conversation through testdc, the receiver, the sender and a consumer.
#[derive(Parser)]
struct Args {
    /// Keep everything running after the script (Ctrl-C to stop).
    #[arg(long)]
    serve: bool,
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

#[derive(Clone)]
struct Consumer {
    sender: SocketAddr,
    own: SocketAddr,
    http: reqwest::Client,
    done: mpsc::UnboundedSender<String>,
}

impl Consumer {
    async fn call(&self, method: &str, body: Value) -> Value {
        self.http
            .post(format!("http://{}/api_v1/{method}", self.sender))
            .header("x-api-key", TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// What the consumer does with one webhook payload.
    async fn handle(self, payload: Value) {
        let m = &payload["message"];
        let (chat, id) = (m["chat"]["id"].clone(), m["message_id"].clone());
        let media = &m["media"];
        let answer = match media["type"].as_str() {
            None => {
                let text = m["text"].as_str().unwrap_or_default();
                self.call(
                    "sendMessage",
                    json!({"chat_id": chat, "reply_to_message_id": id, "parse_mode": "HTML",
                    "text": format!("You said <b>{text}</b>. It is sunny, 22 °C ☀️")}),
                )
                .await
            }
            Some("voice") => {
                let url = m["media_url"].as_str().unwrap().to_owned();
                let bytes = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                println!(
                    "   consumer: fetched the voice note, {} bytes, from {url}",
                    bytes.len()
                );
                self.call("sendVoice", json!({"chat_id": chat, "reply_to_message_id": id,
                    "voice": format!("http://{}/tts/reply.ogg", self.own), "caption": "Here is my answer"}))
                    .await
            }
            Some(kind) => {
                let file_id = media["file_id"].clone();
                self.call(
                    "sendPhoto",
                    json!({"chat_id": chat, "reply_to_message_id": id, "photo": file_id,
                    "caption": format!("Nice {kind}! Sending it back by file_id.")}),
                )
                .await
            }
        };
        let result = &answer["result"];
        let _ = self.done.send(format!(
            "   consumer → sender → Telegram: message {} ({})",
            result["message_id"],
            ["text", "voice", "photo"]
                .iter()
                .find(|k| !result[**k].is_null())
                .unwrap_or(&"?")
        ));
    }
}

async fn webhook(State(c): State<Consumer>, Json(payload): Json<Value>) -> Json<Value> {
    let text = payload["message"]["text"].as_str().unwrap_or_default();
    if !text.starts_with("probe") {
        println!(
            "   webhook ← receiver: {}",
            serde_json::to_string(&payload["message"]).unwrap()
        );
        tokio::spawn(c.handle(payload));
    }
    Json(json!({"ok": true}))
}

async fn tts() -> ([(&'static str, &'static str); 1], Vec<u8>) {
    (
        [("content-type", "audio/ogg")],
        std::fs::read(fixture("voice_reply.ogg")).unwrap(),
    )
}

async fn serve(listener: TcpListener, router: axum::Router) {
    axum::serve(listener, router).await.unwrap();
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    dc.write_session(dir.path().join("demo.session"))
        .await
        .unwrap();
    let session = dir.path().join("demo").to_str().unwrap().to_owned();
    let media_dir = dir.path().join("media").to_str().unwrap().to_owned();

    let sender_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sender_addr = sender_listener.local_addr().unwrap();
    let sender_args = [
        "sender",
        "--x-api-token",
        TOKEN,
        "--tg-api-id",
        "1",
        "--tg-session-name",
        &session,
        "--allow-private-urls",
        "true",
    ];
    let sender = sender::App::build_with_listener(
        sender::Config::try_parse_from(sender_args).unwrap(),
        sender_listener,
    )
    .await
    .unwrap();
    tokio::spawn(sender.run_until(std::future::pending()));

    let consumer_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let consumer_addr = consumer_listener.local_addr().unwrap();
    let (done, mut answers) = mpsc::unbounded_channel();
    let consumer = Consumer {
        sender: sender_addr,
        own: consumer_addr,
        http: reqwest::Client::new(),
        done,
    };
    let routes = axum::Router::new()
        .route("/webhook", post(webhook))
        .route("/tts/reply.ogg", get(tts))
        .with_state(consumer);
    tokio::spawn(serve(consumer_listener, routes));

    // PUBLIC_MEDIA_PORT must be the real port for media_url to work: bind it first.
    let media_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let media_port = media_listener.local_addr().unwrap().port().to_string();
    drop(media_listener);
    let webhook_url = format!("http://{consumer_addr}/webhook");
    let receiver_args = [
        "receiver",
        "--api-id",
        "1",
        "--session-name",
        &session,
        "--webhook-url",
        &webhook_url,
        "--media-dir",
        &media_dir,
        "--media-bind",
        &format!("127.0.0.1:{media_port}"),
        "--public-media-host",
        "127.0.0.1",
        "--public-media-port",
        &media_port,
    ];
    let receiver = receiver::App::build(receiver::Config::try_parse_from(receiver_args).unwrap())
        .await
        .unwrap();
    let mut payloads = receiver.subscribe();
    tokio::spawn(receiver.run_until(std::future::pending()));

    println!(
        "testdc MTProto {}  ·  sender http://{sender_addr}  (x-api-key: {TOKEN})",
        dc.addr()
    );
    println!("receiver /media on 127.0.0.1:{media_port}  ·  webhook consumer {webhook_url}\n");
    let alice = Fixture::DEFAULT.alice;
    for i in 0.. {
        dc.send_text(SendText {
            from: None,
            chat_id: alice,
            text: format!("probe {i}"),
            reply_to_message_id: None,
        })
        .unwrap();
        if tokio::time::timeout(Duration::from_millis(250), payloads.recv())
            .await
            .is_ok()
        {
            break;
        }
    }

    println!("1. Alice writes a text");
    dc.send_text(SendText {
        from: None,
        chat_id: alice,
        text: "Hi! What's the weather?".into(),
        reply_to_message_id: None,
    })
    .unwrap();
    println!("{}\n", answers.recv().await.unwrap());

    println!("2. Alice sends a voice note (fixtures/voice.ogg)");
    let voice = MediaMeta {
        duration: Some(2.2),
        ..Default::default()
    };
    dc.send_media(
        SendMedia {
            from: None,
            chat_id: alice,
            kind: MediaKind::Voice,
            caption: String::new(),
            reply_to_message_id: None,
            meta: voice,
        },
        std::fs::read(fixture("voice.ogg")).unwrap(),
    )
    .unwrap();
    println!("{}\n", answers.recv().await.unwrap());

    println!("3. Alice sends a photo (fixtures/photo.jpg)");
    let photo = SendMedia {
        from: None,
        chat_id: alice,
        kind: MediaKind::Photo,
        caption: "my view".into(),
        reply_to_message_id: None,
        meta: MediaMeta::default(),
    };
    dc.send_media(photo, std::fs::read(fixture("photo.jpg")).unwrap())
        .unwrap();
    println!("{}\n", answers.recv().await.unwrap());

    println!("Alice's chat as Telegram (testdc) holds it, oldest first:");
    for m in dc
        .history(alice)
        .unwrap()
        .iter()
        .rev()
        .filter(|m| !m.text.starts_with("probe"))
    {
        let who = if m.out { "you  " } else { "Alice" };
        let media = m
            .media
            .as_ref()
            .map(|x| {
                format!(
                    " [{} {}{}]",
                    x.kind,
                    x.mime_type,
                    if x.voice { ", voice" } else { "" }
                )
            })
            .unwrap_or_default();
        let reply = m
            .reply_to_message_id
            .map(|r| format!(" ↩{r}"))
            .unwrap_or_default();
        println!("  #{:<3} {who}{reply}: {}{media}", m.message_id, m.text);
    }
    if args.serve {
        println!(
            "\nRunning. Try: curl -s http://{sender_addr}/api_v1/sendMessage -H 'x-api-key: {TOKEN}' -H 'content-type: application/json' -d '{{\"chat_id\": {alice}, \"text\": \"hello\"}}'"
        );
        let _ = tokio::signal::ctrl_c().await;
    }
}
