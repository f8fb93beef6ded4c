//! `kill -9` of the real sender binary while its queue holds sends: after a restart every
//! accepted send is delivered exactly once, in order (the queue is on disk before the 202, and
//! the send in flight at the kill is retried with its stored `random_id`).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use testdc::{TestDc, TestDcConfig};
use tokio::process::{Child, Command};

use crate::helpers::{API_KEY, chats};

const SENDS: usize = 60;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The sender binary on `port` with the session in `dir`, pacing each chat at 10 sends/s.
async fn start(dir: &Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_sender"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("X_API_TOKEN", API_KEY)
        .env("TG_API_ID", "1")
        .env("TG_SESSION_NAME", dir.join("tg_userbot"))
        .env("SENDER_BIND", format!("127.0.0.1:{port}"))
        .env("RATE_LIMIT_PER_SECOND", "0")
        .env("SEND_PACE_CHAT_PER_MINUTE", "600")
        .env("SEND_PACE_CHAT_BURST", "1")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the sender binary");
    let up = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(up.is_ok(), "the sender never became ready");
    child
}

/// testdc answering after `latency`, a session for it in a new directory, and the sender
/// binary started there on a free port.
async fn stack(latency: Duration) -> (TestDc, tempfile::TempDir, u16, Child) {
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    dc.write_session(dir.path().join("tg_userbot.session"))
        .await
        .unwrap();
    dc.set_latency(latency);
    let port = free_port();
    let sender = start(dir.path(), port).await;
    (dc, dir, port, sender)
}

fn mine(dc: &TestDc, chat: i64) -> Vec<String> {
    dc.history(chat)
        .unwrap()
        .into_iter()
        .rev()
        .filter(|m| m.out && m.text.starts_with("durable "))
        .map(|m| m.text)
        .collect()
}

#[tokio::test]
async fn kill_9_mid_queue_then_restart_delivers_every_send_exactly_once_in_order() {
    // Each reply takes a while, so a send is almost always in flight when the kill lands.
    let (dc, dir, port, mut sender) = stack(Duration::from_millis(80)).await;
    let alice = chats().alice;
    let client = reqwest::Client::new();
    for n in 0..SENDS {
        let accepted: Value = client
            .post(format!("http://127.0.0.1:{port}/api_v1/sendMessage"))
            .header("x-api-key", API_KEY)
            .header("Prefer", "respond-async")
            .json(&json!({ "chat_id": alice, "text": format!("durable {n}") }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(accepted["result"]["state"], "queued", "{accepted}");
    }
    // Some went out, most are still queued (10 per second): kill it.
    let wait_some = tokio::time::timeout(Duration::from_secs(30), async {
        while mine(&dc, alice).len() < 5 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert!(wait_some.await.is_ok(), "nothing was sent");
    sender.start_kill().unwrap();
    sender.wait().await.unwrap();
    let before = mine(&dc, alice).len();
    assert!(before < SENDS, "the kill came too late to test anything");

    let mut sender = start(dir.path(), port).await;
    let all = tokio::time::timeout(Duration::from_secs(60), async {
        while mine(&dc, alice).len() < SENDS {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let sent = mine(&dc, alice);
    assert!(
        all.is_ok(),
        "only {} of {SENDS} after the restart",
        sent.len()
    );
    // Settle: nothing more arrives once the queue is empty.
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let status: Value = reqwest::get(format!("http://127.0.0.1:{port}/status"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if status["queue"]["depth"] == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(drained.is_ok(), "the queue never drained");
    let expected: Vec<String> = (0..SENDS).map(|n| format!("durable {n}")).collect();
    assert_eq!(mine(&dc, alice), expected, "lost, duplicated or reordered");
    sender.start_kill().unwrap();
    let _ = sender.wait().await;
}

/// `size` bytes that differ for each `n` (so a swapped or repeated file is seen).
fn document(n: usize, size: usize) -> Vec<u8> {
    (0..size).map(|i| ((i * 31 + n * 7) % 253) as u8).collect()
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `(caption, sha256)` of the documents this test sent to `chat`, oldest first.
fn documents(dc: &TestDc, chat: i64) -> Vec<(String, String)> {
    dc.history(chat)
        .unwrap()
        .into_iter()
        .rev()
        .filter(|m| m.out && m.text.starts_with("spooled "))
        .map(|m| (m.text, m.media.map(|f| f.sha256).unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn large_uploads_wait_in_spool_files_survive_kill_9_and_arrive_whole_once() {
    const UPLOADS: usize = 10;
    const SIZE: usize = 3 << 20;
    // Each document takes a few round trips (parts, then the send): most are still queued
    // when the kill lands.
    let (dc, dir, port, mut sender) = stack(Duration::from_millis(150)).await;
    let bob = chats().bob;
    let client = reqwest::Client::new();
    for n in 0..UPLOADS {
        let form = reqwest::multipart::Form::new()
            .text("chat_id", bob.to_string())
            .text("caption", format!("spooled {n}"))
            .text("respond_async", "true")
            .part(
                "document",
                reqwest::multipart::Part::bytes(document(n, SIZE)).file_name(format!("{n}.bin")),
            );
        let accepted: Value = client
            .post(format!("http://127.0.0.1:{port}/api_v1/sendDocument"))
            .header("x-api-key", API_KEY)
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(accepted["result"]["state"], "queued", "{accepted}");
    }
    let spool = dir.path().join("tg_userbot.queue.spool");
    let spooled = std::fs::read_dir(&spool).map(|d| d.count()).unwrap_or(0);
    assert!(spooled > 0, "no upload body waits in {}", spool.display());
    let wait_one = tokio::time::timeout(Duration::from_secs(30), async {
        while documents(&dc, bob).is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert!(wait_one.await.is_ok(), "nothing was sent");
    sender.start_kill().unwrap();
    sender.wait().await.unwrap();
    assert!(
        documents(&dc, bob).len() < UPLOADS,
        "the kill came too late"
    );

    let mut sender = start(dir.path(), port).await;
    let all = tokio::time::timeout(Duration::from_secs(60), async {
        while documents(&dc, bob).len() < UPLOADS {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        all.is_ok(),
        "only {:?} after the restart",
        documents(&dc, bob)
    );
    let expected: Vec<(String, String)> = (0..UPLOADS)
        .map(|n| (format!("spooled {n}"), hex_sha256(&document(n, SIZE))))
        .collect();
    assert_eq!(
        documents(&dc, bob),
        expected,
        "lost, duplicated, reordered or damaged"
    );
    // Every body's file goes once its answer is stored, and none sat in the SQLite file.
    let emptied = tokio::time::timeout(Duration::from_secs(10), async {
        while std::fs::read_dir(&spool).map(|d| d.count()).unwrap_or(0) > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(emptied.is_ok(), "spool files were left behind");
    let queue_bytes: u64 = ["tg_userbot.queue", "tg_userbot.queue-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.path().join(f)).ok())
        .map(|m| m.len())
        .sum();
    assert!(
        queue_bytes < SIZE as u64,
        "the queue's SQLite files hold {queue_bytes} bytes: bodies went into SQLite"
    );
    sender.start_kill().unwrap();
    let _ = sender.wait().await;
}
