//! Slowloris: the real `receiver` binary, its open-file limit lowered, under 1,100 connections
//! to `MEDIA_BIND` that each send an incomplete request head and stall. `/healthz` must still
//! answer, a message must still reach the webhook (whose client needs file descriptors too),
//! and SIGTERM must still stop it.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use testdc::{SendText, TestDc, TestDcConfig};
use testkit::stalled::{closed_by_server, listening_addr, logged, stall, stalled_count};
use tokio::process::{Child, Command};

use crate::helpers::{API_KEY, Sink, ids, wait_live_via_sink};

/// Stalled connections opened against the server: more than the child's whole fd limit.
const STALLED: usize = 1_100;
/// The child's limit on open files (`ulimit -n`), a common default.
const CHILD_NOFILE: u64 = 1_024;
/// Open files the test process needs besides the stalled connections (testdc, sink, pipes).
const OWN_FDS: u64 = 256;
/// How long an answer may take while the stalled connections are held.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// The servers' header-read timeout is 10 s (`ops::serve::ServeLimits::DEFAULT`).
const HEAD_CLOSED_WITHIN: Duration = Duration::from_secs(15);

/// The receiver binary under `ulimit -n` [`CHILD_NOFILE`] on `dir/tg_userbot.session`.
fn spawn_receiver(dir: &Path, sink: &Sink) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {CHILD_NOFILE} && exec \"$0\""))
        .arg(env!("CARGO_BIN_EXE_receiver"))
        .current_dir(dir) // no stray .env
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TG_API_ID", "1")
        .env("TG_SESSION_NAME", dir.join("tg_userbot"))
        .env("WEBHOOK_URL", sink.url.as_str())
        .env("WEBHOOK_API_KEY", API_KEY)
        .env("RUST_LOG", "info")
        .env("MEDIA_BIND", "127.0.0.1:0")
        .env("MEDIA_DIR", dir.join("media"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the receiver binary")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_and_updates_reach_the_webhook_while_1100_stalled_connections_are_open() {
    let count = stalled_count(STALLED, OWN_FDS, CHILD_NOFILE);
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let session_path =
        session::SessionStore::path_for_name(&dir.path().join("tg_userbot").display().to_string());
    dc.write_session(&session_path).await.unwrap();
    let mut sink = Sink::start().await;
    let mut child = spawn_receiver(dir.path(), &sink);
    let (addr, mut lines) =
        listening_addr(&mut child, "receiver running", Duration::from_secs(30)).await;
    wait_live_via_sink(&dc, &mut sink).await;

    let (mut held, opening) = stall(addr, count, ANSWER_WITHIN).await;
    let started = Instant::now();
    let health = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(ANSWER_WITHIN)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!("/healthz unanswered with {count} stalled connections open: {e}")
        });
    assert_eq!(health.status(), 200);
    let healthz = started.elapsed();
    logged(&mut lines, "HTTP connection limit reached", ANSWER_WITHIN).await;

    let started = Instant::now();
    let alice = ids().alice;
    dc.send_text(SendText {
        from: Some(alice),
        chat_id: alice,
        text: "through the stall".into(),
        reply_to_message_id: None,
    })
    .unwrap();
    // Waits at most `helpers::WAIT` (10 s) for the webhook request.
    sink.skip_until("through the stall").await;
    let delivered = started.elapsed();
    // The newest stalled connection was not shed: the header-read timeout closes it.
    let timed_out = closed_by_server(held.last_mut().unwrap(), HEAD_CLOSED_WITHIN).await;
    eprintln!(
        "{count} stalled connections opened in {opening:?}; /healthz answered in {healthz:?}; \
         the message reached the webhook in {delivered:?}; the newest stalled one closed \
         {timed_out:?} after that"
    );

    // Still stoppable: SIGTERM with every stalled connection still open on our side.
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(killed.unwrap().success());
    let exit = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("stopped within 15 s of SIGTERM");
    assert!(exit.unwrap().success());
    drop(held);
}
