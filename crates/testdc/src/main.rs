//! The `testdc` binary: a hermetic Telegram DC on loopback plus its HTTP control API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use testdc::{TestDc, TestDcConfig};

/// A hermetic Telegram data center for trying and testing the gateway without Telegram.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// MTProto listen address (loopback only).
    #[arg(long, env = "TESTDC_BIND", default_value = "127.0.0.1:9444")]
    bind: SocketAddr,
    /// HTTP control API listen address (loopback only).
    #[arg(long, env = "TESTDC_CONTROL_BIND", default_value = "127.0.0.1:9445")]
    control: SocketAddr,
    /// Write a ready session here at start (a Telethon-style name such as
    /// `sessions/tg_userbot` gets `.session` appended). Overwrites the auth key and DC address.
    #[arg(long, env = "TG_SESSION_NAME")]
    session: Option<String>,
    /// Write the session signed out instead, to try the login flows (`receiver login`, the
    /// sender's `/api_v1/auth/*`); the code is at `GET /auth/last_code` on the control API.
    #[arg(long)]
    unauthorized: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    if !args.control.ip().is_loopback() {
        bail!("--control must be a loopback address, not {}", args.control);
    }
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
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("control API failed")
}
