//! Starting without a signed-in session and without a terminal (`docker compose up -d` before
//! the first login): instead of exiting (a restart loop) or prompting on a terminal nobody
//! sees, the receiver serves `GET /healthz` (200) and `GET /readyz` (503, `signed_in: false`)
//! on `MEDIA_BIND`, logs the command that signs the session in, and starts as soon as the
//! session file is signed in — by `receiver login` in another container, or by the sender's
//! `/api_v1/auth/*` endpoints, both of which write the shared session file.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::warn;

use crate::{App, Config};

/// How often the session file is looked at (metadata only; no connection).
pub const POLL: Duration = Duration::from_secs(2);
/// A sign-in attempt (a connection to Telegram) is made when the session file changed, and at
/// least this often while it exists — in case a login finished during the previous attempt.
pub const RETRY: Duration = Duration::from_secs(60);
/// How often the login command is logged again while waiting.
pub const REMIND: Duration = Duration::from_secs(600);

/// Waits as described in the module doc, then returns the built app (on the same listener).
///
/// `is_unauthorized` tells a "not signed in" build error (keep waiting) from any other error
/// (returned: a damaged outbox, an unreachable DC, an unbindable `MEDIA_BIND`).
pub async fn build_when_signed_in(
    config: Config,
    message: &str,
    is_unauthorized: fn(&anyhow::Error) -> bool,
) -> anyhow::Result<App> {
    let path = config.session_path();
    let listener = TcpListener::bind(config.media_bind)
        .await
        .with_context(|| format!("failed to bind MEDIA_BIND {}", config.media_bind))?;
    let mut reminded = Instant::now();
    warn!("{message}; waiting for the login (GET /readyz answers 503 until then)");
    let mut seen = stamp(&path);
    let mut tried: Option<Instant> = None;
    loop {
        let waiting = Waiting::serve(&listener)?;
        loop {
            tokio::time::sleep(POLL).await;
            let now = stamp(&path);
            let due = tried.is_none_or(|at| at.elapsed() >= RETRY);
            if now.is_some() && (now != seen || due) {
                break;
            }
            if reminded.elapsed() >= REMIND {
                warn!("{message}");
                reminded = Instant::now();
            }
        }
        waiting.stop().await;
        let clone = clone_listener(&listener)?;
        match App::build_with_listener(config.clone(), clone).await {
            Ok(app) => return Ok(app),
            Err(e) if is_unauthorized(&e) => {
                // Our own attempt may have touched the file (DC options): only a change after
                // it counts as a new login.
                seen = stamp(&path);
                tried = Some(Instant::now());
            }
            Err(e) => return Err(e),
        }
    }
}

/// The waiting server: `/healthz` and `/readyz` only.
struct Waiting {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Waiting {
    fn serve(listener: &TcpListener) -> anyhow::Result<Self> {
        let listener = clone_listener(listener)?;
        let router = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route(
                "/readyz",
                get(|| async {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({"telegram": false, "signed_in": false})),
                    )
                }),
            );
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let _ = crate::media::server::serve(listener, router, stopped).await;
        });
        Ok(Self { stop, task })
    }

    async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

/// A second handle on the same listening socket, so the port stays bound (connections queue)
/// while the waiting server hands over to the app.
fn clone_listener(listener: &TcpListener) -> anyhow::Result<TcpListener> {
    use std::os::fd::AsFd as _;
    let fd = listener
        .as_fd()
        .try_clone_to_owned()
        .context("failed to duplicate the MEDIA_BIND socket")?;
    let std = std::net::TcpListener::from(fd);
    std.set_nonblocking(true)
        .context("failed to set the MEDIA_BIND socket non-blocking")?;
    TcpListener::from_std(std).context("failed to register the MEDIA_BIND socket")
}

/// What identifies a version of the session: modification time and length of the file and of
/// its write-ahead log (a login may only have reached the WAL). `None` while there is no file.
fn stamp(path: &Path) -> Option<Vec<(SystemTime, u64)>> {
    let meta = std::fs::metadata(path).ok()?;
    let mut wal = PathBuf::from(path);
    wal.as_mut_os_string().push("-wal");
    let parts = [Some(meta), std::fs::metadata(&wal).ok()];
    Some(
        parts
            .iter()
            .flatten()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
            .collect(),
    )
}
