//! Slowloris: the real `sender` binary, its open-file limit lowered, under 1,100 connections
//! that each send an incomplete request head and stall. An authorized request and `/healthz`
//! must still be answered within seconds, and SIGTERM must still stop it.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use testkit::stalled::{closed_by_server, listening_addr, logged, stall, stalled_count};
use tokio::process::{Child, Command};

use crate::helpers::API_KEY;

/// Stalled connections opened against the server: more than the child's whole fd limit.
const STALLED: usize = 1_100;
/// Open files the test process needs besides the stalled connections (testdc, clients, pipes).
const OWN_FDS: u64 = 256;
/// How long an answer may take while the stalled connections are held.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// The servers' header-read timeout is 10 s (`ops::serve::ServeLimits::DEFAULT`).
const HEAD_CLOSED_WITHIN: Duration = Duration::from_secs(15);

/// The sender binary under `ulimit -n {nofile}` on the signed-in session in `dir`.
fn spawn_sender(dir: &Path, nofile: u64) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {nofile} && exec \"$0\""))
        .arg(env!("CARGO_BIN_EXE_sender"))
        .current_dir(dir) // no stray .env
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("X_API_TOKEN", API_KEY)
        .env("TG_API_ID", "1")
        .env("TG_API_HASH", "a1b2c3d4e5f60718293a4b5c6d7e8f90")
        .env("TG_SESSION_NAME", dir.join("tg_userbot"))
        .env("SENDER_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the sender binary starts")
}

/// Runs the whole scenario against a sender limited to `child_nofile` open files; the sender
/// must log `overload` (which of its defences acted).
async fn answers_under_stalled_connections(child_nofile: u64, overload: &str) {
    let count = stalled_count(STALLED, OWN_FDS, child_nofile);
    let dc = testdc::TestDc::start(testdc::TestDcConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let session_path =
        session::SessionStore::path_for_name(&dir.path().join("tg_userbot").display().to_string());
    dc.write_session(&session_path).await.unwrap();
    let mut child = spawn_sender(dir.path(), child_nofile);
    let (addr, mut lines) =
        listening_addr(&mut child, "sender listening", Duration::from_secs(30)).await;

    let get_me = || async move {
        let started = Instant::now();
        // A fresh client each time: a new connection, queued behind the stalled ones.
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/api_v1/getMe"))
            .header("x-api-key", API_KEY)
            .json(&serde_json::json!({}))
            .timeout(ANSWER_WITHIN)
            .send()
            .await;
        (response, started.elapsed())
    };
    let (before, _) = get_me().await;
    assert_eq!(before.unwrap().status(), 200, "getMe before the stall");

    let (mut held, opening) = stall(addr, count, ANSWER_WITHIN).await;
    let (response, waited) = get_me().await;
    let response = response.unwrap_or_else(|e| {
        panic!("getMe unanswered with {count} stalled connections open ({waited:?}): {e}")
    });
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");
    let health = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(ANSWER_WITHIN)
        .send()
        .await
        .expect("/healthz answered with the stalled connections open");
    assert_eq!(health.status(), 200);
    logged(&mut lines, overload, ANSWER_WITHIN).await;
    // The newest stalled connection was not shed: the header-read timeout closes it.
    let timed_out = closed_by_server(held.last_mut().unwrap(), HEAD_CLOSED_WITHIN).await;
    eprintln!(
        "nofile {child_nofile}: {count} stalled connections opened in {opening:?}; \
         authorized getMe answered in {waited:?}; the newest stalled one closed {timed_out:?} \
         after the answers"
    );

    // Still stoppable: SIGTERM with every stalled connection still open on our side.
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(killed.unwrap().success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("stopped within 10 s of SIGTERM");
    assert!(exit.unwrap().success());
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorized_request_is_answered_while_1100_stalled_connections_are_open() {
    answers_under_stalled_connections(1_024, "HTTP connection limit reached").await;
}

/// The fd limit below the connection cap: accepting fails with EMFILE, and the oldest stalled
/// connections make room instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorized_request_is_answered_when_stalled_connections_exhaust_the_fd_limit() {
    answers_under_stalled_connections(256, "accepting HTTP connections fails").await;
}
