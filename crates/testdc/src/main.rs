//! The `testdc` binary: a hermetic Telegram DC on loopback plus its HTTP control API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use testdc::{TestDc, TestDcConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A hermetic Telegram data center for trying and testing the gateway without Telegram.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// MTProto listen address (loopback only).
    #[arg(long, env = "TESTDC_BIND", default_value = "127.0.0.1:9444")]
    bind: SocketAddr,
    /// HTTP control API listen address (loopback only); `healthcheck` probes it.
    #[arg(
        long,
        env = "TESTDC_CONTROL_BIND",
        default_value = "127.0.0.1:9445",
        global = true
    )]
    control: SocketAddr,
    /// Write a ready session here at start (a Telethon-style name such as
    /// `sessions/tg_userbot` gets `.session` appended). Overwrites the auth key and DC address.
    #[arg(long, env = "TG_SESSION_NAME")]
    session: Option<String>,
    /// Write the session signed out instead, to try the login flows (`receiver login`, the
    /// sender's `/api_v1/auth/*`); the code is at `GET /auth/last_code` on the control API.
    #[arg(long)]
    unauthorized: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Exit 0 if a running testdc's control API answers `GET /stats` with 200, else 1 (for
    /// container healthchecks: the control API is bound only after the session file is written).
    Healthcheck,
}

/// How long `healthcheck` waits for the whole exchange (a container check has its own timeout).
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    if let Some(Command::Healthcheck) = args.command {
        return Ok(healthcheck(args.control).await);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    serve(args).await?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: Args) -> anyhow::Result<()> {
    if !args.control.ip().is_loopback() {
        bail!("--control must be a loopback address, not {}", args.control);
    }
    // Installed before anything starts, so a SIGTERM (`docker compose down`) is never missed.
    let shutdown = shutdown_signal()?;
    let dc = Arc::new(
        TestDc::start(TestDcConfig {
            bind: args.bind,
            ..TestDcConfig::default()
        })
        .await
        .context("failed to start the MTProto listener")?,
    );
    if let Some(name) = &args.session {
        let path: PathBuf = session::SessionStore::path_for_name(name);
        let written = if args.unauthorized {
            dc.write_unauthorized_session(&path).await
        } else {
            dc.write_session(&path).await
        };
        written.with_context(|| format!("failed to write session file {}", path.display()))?;
        tracing::info!(path = %path.display(), "session written");
    }
    let listener = tokio::net::TcpListener::bind(args.control)
        .await
        .with_context(|| format!("failed to bind control API on {}", args.control))?;
    tracing::info!(control = %listener.local_addr()?, "control API listening");
    axum::serve(listener, testdc::http::router(dc))
        .with_graceful_shutdown(shutdown)
        .await
        .context("control API failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM (Unix) or Ctrl-C. Errors when the signal handlers cannot be installed.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("failed to install the SIGTERM handler")?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received, shutting down"),
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// `GET /stats` on the control API; exit 0 on a 200 answer, 1 on anything else (printed).
async fn healthcheck(control: SocketAddr) -> ExitCode {
    match tokio::time::timeout(HEALTHCHECK_TIMEOUT, get_status(control, "/stats")).await {
        Ok(Ok(200)) => ExitCode::SUCCESS,
        Ok(Ok(status)) => {
            eprintln!("unhealthy: GET http://{control}/stats answered {status}");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("unhealthy: GET http://{control}/stats failed: {e:#}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("unhealthy: GET http://{control}/stats timed out");
            ExitCode::FAILURE
        }
    }
}

/// The status code of a plain HTTP/1.1 GET. No HTTP client crate: this is one request to our own
/// loopback server, and the status line is all we read.
async fn get_status(addr: SocketAddr, path: &str) -> anyhow::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("failed to connect to {addr}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    // "HTTP/1.1 200 OK": the status code is the second word of the first line.
    let mut head = [0u8; 64];
    let mut len = 0;
    while len < head.len() && !head[..len].contains(&b'\n') {
        let n = stream.read(&mut head[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let line = String::from_utf8_lossy(&head[..len]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP status line: {line:?}"))
}
