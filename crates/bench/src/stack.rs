//! The system under test: testdc (bounded history) writing a fresh session into a temporary
//! directory, then the receiver (webhook → the bench's sink) and the sender, each on free
//! loopback ports, with their start-up times.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

use crate::procs::{Proc, free_addr};

/// Longest wait for a process to answer its health check.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Messages testdc keeps per chat (`--keep-messages`): a long run's history stays bounded.
const KEEP_MESSAGES: usize = 1000;
/// pts changes testdc keeps per box (`--keep-changes`): far more than the receiver falls
/// behind in the overload probe, so its getDifference catch-up never meets the limit.
const KEEP_CHANGES: usize = 200_000;
/// The API key the sender is started with.
pub(crate) const API_KEY: &str = "100000001:bench-token";

/// Start-up timings of one binary.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Startup {
    /// Spawn → `/healthz` 200.
    pub ready: Duration,
    /// Spawn → "connected to Telegram" in its log, when seen.
    pub connected: Option<Duration>,
}

impl Startup {
    /// Ready minus connected: how long the binary took after its MTProto connection was up.
    pub(crate) fn after_connect(&self) -> Option<Duration> {
        self.connected.map(|c| self.ready.saturating_sub(c))
    }
}

/// testdc plus the ids the bench needs.
pub(crate) struct Dc {
    /// The testdc process.
    pub proc: Proc,
    /// Control API base URL.
    pub control: String,
    /// Session name (`TG_SESSION_NAME`) testdc wrote.
    pub session: String,
    /// Alice: the sender writes to her.
    pub alice: i64,
    /// Bob: he writes to the account (receive load).
    pub bob: i64,
    /// The temporary directory holding session, media and fixtures; removed on drop.
    pub dir: tempfile::TempDir,
}

/// Starts testdc with a fresh session in a temporary directory.
pub(crate) async fn start_dc(bins: &std::path::Path, http: &reqwest::Client) -> anyhow::Result<Dc> {
    start_dc_at(bins, http, "bench").await
}

/// Starts testdc with a fresh session named `session` (a path relative to a new temporary
/// directory, e.g. `accounts/main`; testdc creates the parent directories).
pub(crate) async fn start_dc_at(
    bins: &std::path::Path,
    http: &reqwest::Client,
    session: &str,
) -> anyhow::Result<Dc> {
    let dir = tempfile::Builder::new()
        .prefix("tg-bench-")
        .tempdir()
        .context("failed to create a temporary directory")?;
    let session = dir.path().join(session).display().to_string();
    let (mt, ctl) = (free_addr()?, free_addr()?);
    let args = [
        "--bind".to_owned(),
        mt.to_string(),
        "--control".to_owned(),
        ctl.to_string(),
        "--session".to_owned(),
        session.clone(),
        "--keep-messages".to_owned(),
        KEEP_MESSAGES.to_string(),
        "--keep-changes".to_owned(),
        KEEP_CHANGES.to_string(),
    ];
    let mut proc = Proc::spawn(
        "testdc",
        &bins.join("testdc"),
        dir.path(),
        &args,
        &[],
        false,
    )?;
    let control = format!("http://{ctl}");
    proc.wait_http_ok(http, &format!("{control}/world"), READY_TIMEOUT)
        .await?;
    let world: Value = http
        .get(format!("{control}/world"))
        .send()
        .await?
        .json()
        .await?;
    let id = |k: &str| world["fixture"][k].as_i64().context("fixture id missing");
    Ok(Dc {
        alice: id("alice")?,
        bob: id("bob")?,
        proc,
        control,
        session,
        dir,
    })
}

/// A started product binary and its HTTP base URL.
pub(crate) struct Started {
    /// The process.
    pub proc: Proc,
    /// e.g. `http://127.0.0.1:40123`.
    pub base: String,
    /// Its start-up timings.
    pub startup: Startup,
}

async fn wait_ready(
    mut proc: Proc,
    http: &reqwest::Client,
    base: String,
) -> anyhow::Result<Started> {
    let at: Instant = proc
        .wait_http_ok(http, &format!("{base}/healthz"), READY_TIMEOUT)
        .await?;
    let startup = Startup {
        ready: at.duration_since(proc.spawned),
        connected: proc.connected_at().map(|c| c.duration_since(proc.spawned)),
    };
    Ok(Started {
        proc,
        base,
        startup,
    })
}

/// Starts the receiver with its webhook pointed at `webhook` and `extra` env (e.g. an outbox
/// setting); `MEDIA_MAX_BYTES` is raised to `media_max`.
pub(crate) async fn start_receiver(
    bins: &std::path::Path,
    dc: &Dc,
    http: &reqwest::Client,
    webhook: &str,
    media_max: u64,
    extra: &[(String, String)],
) -> anyhow::Result<Started> {
    let bind = free_addr()?;
    let mut env = receiver_env(dc, &dc.session, webhook, bind, media_max);
    env.extend_from_slice(extra);
    let proc = Proc::spawn(
        "receiver",
        &bins.join("receiver"),
        dc.dir.path(),
        &[],
        &env,
        false,
    )?;
    wait_ready(proc, http, format!("http://{bind}")).await
}

/// Starts the sender with `MAX_UPLOAD_BYTES` raised to `max_upload`.
pub(crate) async fn start_sender(
    bins: &std::path::Path,
    dc: &Dc,
    http: &reqwest::Client,
    max_upload: u64,
) -> anyhow::Result<Started> {
    let bind = free_addr()?;
    let env = sender_env(&dc.session, bind, max_upload);
    let proc = Proc::spawn(
        "sender",
        &bins.join("sender"),
        dc.dir.path(),
        &[],
        &env,
        true,
    )?;
    wait_ready(proc, http, format!("http://{bind}")).await
}

/// The receiver's environment: session `session` (`TG_SESSION_NAME`), webhook → `webhook`,
/// media under testdc's directory served on `bind`, `MEDIA_MAX_BYTES` = `media_max`.
pub(crate) fn receiver_env(
    dc: &Dc,
    session: &str,
    webhook: &str,
    bind: SocketAddr,
    media_max: u64,
) -> Vec<(String, String)> {
    let media_dir: PathBuf = dc.dir.path().join("media");
    vec![
        ("TG_API_ID".to_owned(), "1".to_owned()),
        ("TG_SESSION_NAME".to_owned(), session.to_owned()),
        ("WEBHOOK_URL".to_owned(), webhook.to_owned()),
        ("WEBHOOK_API_KEY".to_owned(), "bench-key".to_owned()),
        ("MEDIA_DIR".to_owned(), media_dir.display().to_string()),
        ("MEDIA_BIND".to_owned(), bind.to_string()),
        ("PUBLIC_MEDIA_HOST".to_owned(), "127.0.0.1".to_owned()),
        ("PUBLIC_MEDIA_PORT".to_owned(), bind.port().to_string()),
        ("MEDIA_MAX_BYTES".to_owned(), media_max.to_string()),
    ]
}

/// The sender's environment: session `session`, [`API_KEY`], HTTP on `bind`, no rate limit,
/// no pacing, `MAX_UPLOAD_BYTES` = `max_upload`.
pub(crate) fn sender_env(
    session: &str,
    bind: SocketAddr,
    max_upload: u64,
) -> Vec<(String, String)> {
    vec![
        ("TG_API_ID".to_owned(), "1".to_owned()),
        ("TG_SESSION_NAME".to_owned(), session.to_owned()),
        ("X_API_TOKEN".to_owned(), API_KEY.to_owned()),
        ("SENDER_BIND".to_owned(), bind.to_string()),
        // The load is the point: no per-key rate limit.
        ("RATE_LIMIT_PER_SECOND".to_owned(), "0".to_owned()),
        // The send queue without pacing, and the bench chat's sends all in flight at once:
        // what the queue's storage costs, not what pacing holds back.
        ("SEND_PACING".to_owned(), "false".to_owned()),
        ("SEND_CHAT_CONCURRENCY".to_owned(), "64".to_owned()),
        ("MAX_UPLOAD_BYTES".to_owned(), max_upload.to_string()),
    ]
}
