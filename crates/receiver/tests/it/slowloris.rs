//! Slowloris: the real `receiver` binary, its open-file limit lowered, under 1,100 connections
//! to `MEDIA_BIND` that each send an incomplete request head and stall. `/healthz` must still
//! answer, a message must still reach the webhook (whose client needs file descriptors too),
//! and SIGTERM must still stop it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use testdc::{SendText, TestDc, TestDcConfig};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::helpers::{API_KEY, Sink, ids, wait_live_via_sink};

/// Stalled connections opened against the server: more than the child's whole fd limit.
const STALLED: usize = 1_100;
/// The child's limit on open files (`ulimit -n`), a common default.
const CHILD_NOFILE: u64 = 1_024;
/// Open files the test process needs besides the stalled connections (testdc, sink, pipes).
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

/// How many stalled connections this process can hold: [`STALLED`] after raising its soft fd
/// limit (`prlimit` on our own pid, never above the hard limit; `unsafe` is forbidden), or
/// fewer — but still more than [`CHILD_NOFILE`] — when the hard limit is too low.
fn stalled_count() -> usize {
    let want = STALLED as u64 + OWN_FDS;
    let (soft, hard) = nofile();
    if soft < want {
        let status = std::process::Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={}:", want.min(hard)))
            .status()
            .expect("prlimit runs");
        assert!(status.success(), "prlimit failed");
    }
    let soft = nofile().0;
    let count = STALLED.min(usize::try_from(soft.saturating_sub(OWN_FDS)).unwrap());
    assert!(
        count as u64 > CHILD_NOFILE,
        "the hard fd limit ({soft}) leaves room for {count} connections, not more than the \
         child's {CHILD_NOFILE}"
    );
    if count < STALLED {
        eprintln!("fd hard limit {soft}: opening {count} stalled connections, not {STALLED}");
    }
    count
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_and_updates_reach_the_webhook_while_1100_stalled_connections_are_open() {
    let count = stalled_count();
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let session_path =
        session::SessionStore::path_for_name(&dir.path().join("tg_userbot").display().to_string());
    dc.write_session(&session_path).await.unwrap();
    let mut sink = Sink::start().await;
    let mut child = spawn_receiver(dir.path(), &sink);
    let (tx, mut lines) = mpsc::unbounded_channel();
    forward(child.stdout.take().unwrap(), tx.clone());
    forward(child.stderr.take().unwrap(), tx);
    let mut output = Vec::new();
    let addr: SocketAddr = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let line = lines.recv().await.expect("the receiver logged its address");
            output.push(line.clone());
            if line.contains("receiver running")
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
    wait_live_via_sink(&dc, &mut sink).await;

    let (mut held, opening) = stall(addr, count).await;
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
    logged(&mut lines, "HTTP connection limit reached").await;

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
    let timed_out = closed_by_server(held.last_mut().unwrap()).await;
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
