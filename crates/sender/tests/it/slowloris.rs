//! Slowloris: the real `sender` binary, its open-file limit lowered, under 1,100 connections
//! that each send an incomplete request head and stall. An authorized request and `/healthz`
//! must still be answered within seconds, and SIGTERM must still stop it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::helpers::API_KEY;

/// Stalled connections opened against the server: more than the child's whole fd limit.
const STALLED: usize = 1_100;
/// Open files the test process needs besides the stalled connections (testdc, clients, pipes).
const OWN_FDS: u64 = 256;
/// How long an answer may take while the stalled connections are held.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// The request head every stalled connection sends: the final blank line never comes.
const STALLED_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";
/// The servers' header-read timeout is 10 s (`ops::serve::ServeLimits::DEFAULT`).
const HEAD_CLOSED_WITHIN: Duration = Duration::from_secs(15);

/// The soft and hard limits on open files of this process (`/proc/self/limits`).
fn nofile() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let mut values = line["Max open files".len()..]
        .split_whitespace()
        .map(|v| v.parse::<u64>().unwrap_or(u64::MAX));
    (values.next().unwrap(), values.next().unwrap())
}

/// Raises this process's soft limit on open files towards `want` (never above the hard limit;
/// `prlimit` on our own pid, as `unsafe` is forbidden) and returns the soft limit in force.
fn raise_nofile(want: u64) -> u64 {
    let (soft, hard) = nofile();
    if soft < want {
        let status = std::process::Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={}:", want.min(hard)))
            .status()
            .expect("prlimit runs");
        assert!(status.success(), "prlimit failed");
    }
    nofile().0
}

/// How many stalled connections this process can hold: [`STALLED`], or fewer (but still more
/// than `child_nofile`) when the hard limit is too low.
fn stalled_count(child_nofile: u64) -> usize {
    let soft = raise_nofile(STALLED as u64 + OWN_FDS);
    let count = STALLED.min(usize::try_from(soft.saturating_sub(OWN_FDS)).unwrap());
    assert!(
        count as u64 > child_nofile,
        "the hard fd limit ({soft}) leaves room for {count} connections, not more than the \
         child's {child_nofile}"
    );
    if count < STALLED {
        eprintln!("fd hard limit {soft}: opening {count} stalled connections, not {STALLED}");
    }
    count
}

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

/// Forwards every line of `stream` to `lines` (drained continuously: the child never blocks).
fn forward(stream: impl AsyncRead + Unpin + Send + 'static, lines: mpsc::UnboundedSender<String>) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            let _ = lines.send(line);
        }
    });
}

/// Waits for a line of the child's output that contains `needle`.
async fn logged(lines: &mut mpsc::UnboundedReceiver<String>, needle: &str) {
    let found = tokio::time::timeout(ANSWER_WITHIN, async {
        while let Some(line) = lines.recv().await {
            if line.contains(needle) {
                return;
            }
        }
        panic!("the output ended without {needle:?}");
    });
    found
        .await
        .unwrap_or_else(|_| panic!("{needle:?} was not logged"));
}

/// How long the server takes to close `stream` (end of stream or reset), at most
/// [`HEAD_CLOSED_WITHIN`].
async fn closed_by_server(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let closed = tokio::time::timeout(HEAD_CLOSED_WITHIN, async {
        let mut buf = [0u8; 512];
        while let Ok(1..) = stream.read(&mut buf).await {}
    });
    closed
        .await
        .expect("a stalled connection was closed by the header-read timeout");
    started.elapsed()
}

/// Opens `count` connections to `addr` that each send [`STALLED_HEAD`] and stall; returns them
/// (held open by the caller) and how long opening them took.
async fn stall(addr: SocketAddr, count: usize) -> (Vec<TcpStream>, Duration) {
    let started = Instant::now();
    let mut held = Vec::with_capacity(count);
    for i in 0..count {
        let mut stream = tokio::time::timeout(ANSWER_WITHIN, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("connection {i} was not even queued"))
            .unwrap();
        stream.write_all(STALLED_HEAD).await.unwrap();
        held.push(stream);
    }
    (held, started.elapsed())
}

/// Runs the whole scenario against a sender limited to `child_nofile` open files; the sender
/// must log `overload` (which of its defences acted).
async fn answers_under_stalled_connections(child_nofile: u64, overload: &str) {
    let count = stalled_count(child_nofile);
    let dc = testdc::TestDc::start(testdc::TestDcConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let session_path =
        session::SessionStore::path_for_name(&dir.path().join("tg_userbot").display().to_string());
    dc.write_session(&session_path).await.unwrap();
    let mut child = spawn_sender(dir.path(), child_nofile);
    let (tx, mut lines) = mpsc::unbounded_channel();
    forward(child.stdout.take().unwrap(), tx.clone());
    forward(child.stderr.take().unwrap(), tx);
    let mut output = Vec::new();
    let addr: SocketAddr = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let line = lines.recv().await.expect("the sender logged its address");
            output.push(line.clone());
            if line.contains("sender listening")
                && let Some(at) = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("addr="))
            {
                return at.parse().unwrap();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no address logged:\n{}", output.join("\n")));

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

    let (mut held, opening) = stall(addr, count).await;
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
    logged(&mut lines, overload).await;
    // The newest stalled connection was not shed: the header-read timeout closes it.
    let timed_out = closed_by_server(held.last_mut().unwrap()).await;
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
