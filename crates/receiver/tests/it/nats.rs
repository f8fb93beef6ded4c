//! The JetStream sink against a real `nats-server` (testkit::nats) and the real receiver binary:
//! the stream gets the webhook's body under `Nats-Msg-Id` = `webhook-id`; and across a NATS
//! outage and a SIGKILL of the receiver, it holds every update exactly once, in order per chat;
//! an update the stream never acknowledged within `WEBHOOK_MAX_AGE` is a dead letter of the
//! sink, listed by `/dead-letters` and published by a replay.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream::Stream};
use serde_json::Value;
use testdc::{SendText, TestDc, TestDcConfig};
use testkit::nats::NatsServer;
use tokio::process::{Child, Command};

use crate::helpers::{API_KEY, Sink, group_id, ids, init_tracing, supergroup_id};
use crate::two_processes::{Output, collect_output};

const STREAM: &str = "TG_UPDATES";

/// One message of the stream.
#[derive(Debug, Clone)]
struct Stored {
    subject: String,
    msg_id: String,
    body: Value,
}

impl Stored {
    fn text(&self) -> &str {
        self.body["message"]["text"].as_str().unwrap_or_default()
    }
}

/// A loopback address nothing listens on now (for the receiver's /metrics).
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Starts the `receiver` binary on `dir`'s session, publishing to `nats` (and POSTing to
/// `webhook` when given), with fast retries.
fn spawn_receiver(
    dir: &Path,
    nats_url: &str,
    webhook: Option<&Sink>,
    bind: SocketAddr,
) -> (Child, Output) {
    spawn_receiver_with(dir, nats_url, webhook, bind, &[])
}

/// [`spawn_receiver`] with `extra` environment variables on top.
fn spawn_receiver_with(
    dir: &Path,
    nats_url: &str,
    webhook: Option<&Sink>,
    bind: SocketAddr,
    extra: &[(&str, &str)],
) -> (Child, Output) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_receiver"));
    command
        .current_dir(dir)
        .env_clear()
        .env("TG_API_ID", "1")
        .env("TG_SESSION_NAME", dir.join("tg_userbot"))
        .env("NATS_URL", nats_url)
        .env("WEBHOOK_RETRY_MIN_DELAY", "0.2")
        .env("WEBHOOK_RETRY_MAX_DELAY", "1")
        .env("RUST_LOG", "info")
        .env("MEDIA_BIND", bind.to_string())
        .env("MEDIA_DIR", dir.join("media"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(sink) = webhook {
        command
            .env("WEBHOOK_URL", sink.url.as_str())
            .env("WEBHOOK_API_KEY", API_KEY);
    }
    command.envs(extra.iter().copied());
    let mut child = command.spawn().expect("spawn the receiver binary");
    let output = collect_output(&mut child);
    (child, output)
}

fn send(dc: &TestDc, from: i64, chat_id: i64, text: &str) {
    dc.send_text(SendText {
        from: Some(from),
        chat_id,
        text: text.into(),
        reply_to_message_id: None,
    })
    .expect("send_text");
}

/// The stream, once the receiver created it.
async fn the_stream(js: &jetstream::Context) -> Stream {
    for _ in 0..600 {
        if let Ok(stream) = js.get_stream(STREAM).await {
            return stream;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the receiver never created the stream {STREAM}");
}

/// Reads the stream from `from` (a sequence) to its end, appending to `out`; returns the next
/// sequence to read.
async fn read_from(stream: &mut Stream, from: u64, out: &mut Vec<Stored>) -> u64 {
    let last = stream
        .info()
        .await
        .expect("stream info")
        .state
        .last_sequence;
    for seq in from..=last {
        let message = stream.get_raw_message(seq).await.expect("message");
        let msg_id = message
            .headers
            .get("Nats-Msg-Id")
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        out.push(Stored {
            subject: message.subject.to_string(),
            msg_id,
            body: serde_json::from_slice(&message.payload).expect("JSON body"),
        });
    }
    last + 1
}

/// Reads the stream until `done` holds for what was read; panics after `patience` without a
/// new message.
async fn read_until(
    stream: &mut Stream,
    stored: &mut Vec<Stored>,
    patience: Duration,
    done: impl Fn(&[Stored]) -> bool,
) {
    let mut next = stored.len() as u64 + 1;
    let mut idle = Duration::ZERO;
    while !done(stored) {
        let before = stored.len();
        next = read_from(stream, next, stored).await;
        if stored.len() == before {
            assert!(
                idle < patience,
                "no new message for {patience:?}; {} read",
                stored.len()
            );
            idle += Duration::from_millis(100);
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            idle = Duration::ZERO;
        }
    }
}

/// Sends probes to Alice until one is in the stream (the update stream is live then).
async fn wait_live(dc: &TestDc, stream: &mut Stream, stored: &mut Vec<Stored>) {
    for i in 0..200 {
        send(dc, ids().alice, ids().alice, &format!("probe {i}"));
        let mut next = stored.len() as u64 + 1;
        for _ in 0..5 {
            next = read_from(stream, next, stored).await;
            if !stored.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("no probe reached the stream");
}

/// The receiver's counter of JetStream publishes JetStream reported as duplicates.
async fn duplicates_reported(metrics: SocketAddr) -> u64 {
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .filter(|l| l.starts_with("receiver_nats_publishes_total") && l.contains("duplicate"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_stream_gets_the_webhook_body_under_its_webhook_id_on_a_subject_naming_the_chat() {
    init_tracing();
    let nats = NatsServer::start().await;
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let session =
        session::SessionStore::path_for_name(&dir.path().join("tg_userbot").display().to_string());
    dc.write_session(&session).await.unwrap();
    let mut sink = Sink::start().await;
    let (mut child, _output) = spawn_receiver(dir.path(), &nats.url(), Some(&sink), free_addr());
    let js = jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let mut stream = the_stream(&js).await;
    let mut stored = Vec::new();
    wait_live(&dc, &mut stream, &mut stored).await;

    send(&dc, ids().carol, supergroup_id(), "to the supergroup");
    send(&dc, ids().bob, ids().bob, "from bob");
    let mut by_text: HashMap<String, (String, Value)> = HashMap::new();
    while !(by_text.contains_key("from bob") && by_text.contains_key("to the supergroup")) {
        let got = sink.next().await;
        if let Some(text) = got.text() {
            by_text.insert(
                text.to_owned(),
                (got.webhook_id().to_owned(), got.body.clone()),
            );
        }
    }
    // Both: the sink keeps each chat's order, not an order between two chats.
    read_until(&mut stream, &mut stored, Duration::from_secs(30), |s| {
        s.iter().any(|m| m.text() == "from bob")
            && s.iter().any(|m| m.text() == "to the supergroup")
    })
    .await;
    let account = ids().self_id;
    for (text, chat) in [
        ("to the supergroup", supergroup_id()),
        ("from bob", ids().bob),
    ] {
        let message = stored.iter().find(|m| m.text() == text).expect(text);
        let (webhook_id, body) = by_text.remove(text).expect("the webhook got it too");
        assert_eq!(
            message.msg_id, webhook_id,
            "{text}: Nats-Msg-Id = webhook-id"
        );
        assert_eq!(message.body, body, "{text}: the webhook's body");
        let chat = if chat < 0 {
            format!("m{}", chat.unsigned_abs())
        } else {
            chat.to_string()
        };
        assert_eq!(
            message.subject,
            format!("tg.{account}.update.message.{chat}")
        );
    }
    assert!(
        stored
            .iter()
            .all(|m| m.msg_id.starts_with(&format!("tg{account}_")))
    );
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_and_a_sigkill_leave_every_update_once_in_the_stream_in_chat_order() {
    const CHATS: usize = 50;
    const PER_CHAT: usize = 100;
    init_tracing();
    let mut nats = NatsServer::start().await;
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let session =
        session::SessionStore::path_for_name(&dir.path().join("tg_userbot").display().to_string());
    dc.write_session(&session).await.unwrap();
    // 48 private chats, a basic group and a supergroup (negative ids), each with its sender.
    let mut chats: Vec<(i64, i64)> = (0..CHATS - 2)
        .map(|i| {
            let user = dc.add_user(&format!("Load {i}"));
            (user, user)
        })
        .collect();
    chats.push((ids().bob, group_id()));
    chats.push((ids().carol, supergroup_id()));

    let metrics = free_addr();
    let (mut child, _output) = spawn_receiver(dir.path(), &nats.url(), None, metrics);
    let js = jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let mut stream = the_stream(&js).await;
    let mut stored = Vec::new();
    wait_live(&dc, &mut stream, &mut stored).await;

    // NATS goes away for 30 s while the updates arrive; the receiver stores and retries.
    nats.stop();
    for i in 0..PER_CHAT {
        for (c, (from, chat)) in chats.iter().enumerate() {
            send(&dc, *from, *chat, &format!("n {c} {i}"));
        }
    }
    tokio::time::sleep(Duration::from_secs(30)).await;
    nats.start_again().await;

    // SIGKILL while the backlog is being published: rows published but not yet recorded as
    // acknowledged are published again by the next process, and JetStream drops the copies.
    let js = jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let mut stream = the_stream(&js).await;
    let total = CHATS * PER_CHAT;
    let mut waited = Duration::ZERO;
    while stream.info().await.unwrap().state.messages < (total / 4) as u64 {
        assert!(
            waited < Duration::from_secs(60),
            "the backlog is not being published"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += Duration::from_millis(5);
    }
    child.kill().await.expect("SIGKILL the receiver");
    let killed_at = stream.info().await.unwrap().state.messages;
    let (mut child, _output) = spawn_receiver(dir.path(), &nats.url(), None, metrics);
    let is_load = |m: &Stored| m.text().starts_with("n ");
    read_until(&mut stream, &mut stored, Duration::from_secs(60), |s| {
        s.iter().filter(|m| is_load(m)).count() >= total
    })
    .await;

    // Exactly once: as many messages as distinct ids and texts, all 5,000 there.
    let load: Vec<&Stored> = stored.iter().filter(|m| is_load(m)).collect();
    let ids_seen: HashSet<&str> = stored.iter().map(|m| m.msg_id.as_str()).collect();
    assert_eq!(
        ids_seen.len(),
        stored.len(),
        "a Nats-Msg-Id is in the stream twice"
    );
    let texts: HashSet<&str> = load.iter().map(|m| m.text()).collect();
    assert_eq!(
        (texts.len(), load.len()),
        (total, total),
        "each update exactly once"
    );
    // In order per chat, on the chat's subject.
    let mut last: BTreeMap<usize, i64> = BTreeMap::new();
    for message in &load {
        let mut parts = message.text().split(' ').skip(1);
        let c: usize = parts.next().unwrap().parse().unwrap();
        let i: i64 = parts.next().unwrap().parse().unwrap();
        let previous = last.insert(c, i).unwrap_or(-1);
        assert_eq!(i, previous + 1, "chat {c}: {i} after {previous}");
        let chat = chats[c].1;
        let token = if chat < 0 {
            format!("m{}", chat.unsigned_abs())
        } else {
            chat.to_string()
        };
        assert!(
            message.subject.ends_with(&format!(".message.{token}")),
            "{}",
            message.subject
        );
    }
    assert_eq!(last.len(), CHATS);
    // The kill fell mid-backlog, so the copies JetStream dropped were really sent.
    assert!(
        killed_at < (total as u64),
        "killed after everything was published"
    );
    let duplicates = duplicates_reported(metrics).await;
    assert!(
        duplicates > 0,
        "no re-publish after the SIGKILL was dropped as a duplicate"
    );
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_documented_receiver_permissions_suffice_to_create_the_stream_and_publish() {
    init_tracing();
    let account = ids().self_id;
    let passwords = [
        ("NATS_RECEIVER_PASSWORD", "receiver-pw"),
        ("NATS_SENDER_PASSWORD", "sender-pw"),
        ("NATS_SHOP_PASSWORD", "shop-pw"),
    ];
    let config = testkit::nats::documented_config(account);
    let nats = NatsServer::start_with_config(Some(&config), &passwords).await;
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let session =
        session::SessionStore::path_for_name(&dir.path().join("tg_userbot").display().to_string());
    dc.write_session(&session).await.unwrap();
    let url = format!("nats://receiver:receiver-pw@{}", nats.addr());
    let (mut child, output) = spawn_receiver(dir.path(), &url, None, free_addr());
    let admin = async_nats::ConnectOptions::with_user_and_password("admin".into(), "admin".into())
        .connect(nats.url())
        .await
        .unwrap();
    let js = jetstream::new(admin);
    let mut stream = the_stream(&js).await;
    let mut stored = Vec::new();
    wait_live(&dc, &mut stream, &mut stored).await;
    assert!(
        stored[0]
            .subject
            .starts_with(&format!("tg.{account}.update.message."))
    );
    let lines = output.lock().unwrap().join("\n");
    assert!(
        !lines.contains("receiver-pw"),
        "the password reached the log"
    );
    assert!(
        !lines.to_lowercase().contains("permissions violation"),
        "{lines}"
    );
    child.kill().await.unwrap();
}

/// `/dead-letters` with the API key: the list.
async fn dead_letters(addr: SocketAddr) -> Vec<Value> {
    let body: Value = reqwest::Client::new()
        .get(format!("http://{addr}/dead-letters"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .expect("GET /dead-letters")
        .json()
        .await
        .expect("JSON");
    body["dead_letters"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_the_stream_never_acknowledged_is_a_nats_dead_letter_that_a_replay_publishes() {
    init_tracing();
    let mut nats = NatsServer::start().await;
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let session =
        session::SessionStore::path_for_name(&dir.path().join("tg_userbot").display().to_string());
    dc.write_session(&session).await.unwrap();
    // The webhook (which accepts everything) sets WEBHOOK_API_KEY, the key of /dead-letters.
    let mut sink = Sink::start().await;
    let addr = free_addr();
    let (mut child, _output) = spawn_receiver_with(
        dir.path(),
        &nats.url(),
        Some(&sink),
        addr,
        &[("WEBHOOK_MAX_AGE", "1")],
    );
    let js = jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let mut stream = the_stream(&js).await;
    let mut stored = Vec::new();
    wait_live(&dc, &mut stream, &mut stored).await;

    nats.stop();
    send(&dc, ids().bob, ids().bob, "while NATS is down");
    let webhook_id = loop {
        let got = sink.next().await;
        if got.text() == Some("while NATS is down") {
            break got.webhook_id().to_owned();
        }
    };
    // Retried for WEBHOOK_MAX_AGE, then given up: listed as the sink's, the webhook's copy not.
    let mut letters = Vec::new();
    for _ in 0..300 {
        letters = dead_letters(addr).await;
        if !letters.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(
        (letter["target"].as_str(), letter["webhook_id"].as_str()),
        (Some("nats"), Some(webhook_id.as_str()))
    );
    assert_eq!(letter["chat_id"], ids().bob);
    assert!(letter["attempts"].as_u64().unwrap() >= 1, "{letter}");
    assert!(letter["died_at"].as_i64().unwrap() > 0, "{letter}");
    let status: Value = reqwest::Client::new()
        .get(format!("http://{addr}/status"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&status["nats_dead_letters"], &status["dead_letters"]),
        (&Value::from(1), &Value::from(0)),
        "{status}"
    );

    // NATS is back; the replay publishes it, once.
    nats.start_again().await;
    let replay = reqwest::Client::new()
        .post(format!("http://{addr}/dead-letters/replay"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status().as_u16(), 200);
    let js = jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let mut stream = the_stream(&js).await;
    read_until(&mut stream, &mut stored, Duration::from_secs(30), |s| {
        s.iter().any(|m| m.text() == "while NATS is down")
    })
    .await;
    let copies: Vec<_> = stored
        .iter()
        .filter(|m| m.text() == "while NATS is down")
        .collect();
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].msg_id, webhook_id);
    assert!(dead_letters(addr).await.is_empty());
    child.kill().await.unwrap();
}
