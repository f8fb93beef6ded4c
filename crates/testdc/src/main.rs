//! The `testdc` binary: a hermetic Telegram DC on loopback plus its HTTP control API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use testdc::{Retention, TestDc, TestDcConfig};

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
    /// Keep only the newest N messages per chat (older ones, and files no kept message shows,
    /// are forgotten as if deleted), so a long benchmark runs in bounded memory. Unset: keep
    /// every message.
    #[arg(long, env = "TESTDC_KEEP_MESSAGES", value_name = "N")]
    keep_messages: Option<usize>,
    /// Keep only the newest N pts changes per message box and N `random_id`s (a client further
    /// behind gets `differenceTooLong`). Unset: keep all.
    #[arg(long, env = "TESTDC_KEEP_CHANGES", value_name = "N")]
    keep_changes: Option<usize>,
    /// Host N more accounts (each a world of its own, user ids 100000002…) and write a ready
    /// session for each at `<--accounts-dir>/acc<user_id>.session` at start, for gateways that
    /// serve many accounts (`SESSIONS_DIR`). Same ids and file names on every start.
    #[arg(long, env = "TESTDC_ACCOUNTS", value_name = "N", default_value_t = 0)]
    accounts: usize,
    /// Where `--accounts` writes the sessions (created if missing).
    #[arg(
        long,
        env = "TESTDC_ACCOUNTS_DIR",
        value_name = "DIR",
        default_value = "sessions/accounts"
    )]
    accounts_dir: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Exit 0 if a running testdc's control API answers `GET /stats` with 200, else 1 (for
    /// container healthchecks: the control API is bound only after the session file is written).
    Healthcheck,
    /// Make a user write a text message, through a running testdc's control API (`POST /send`);
    /// prints the stored message as JSON. In the compose demo:
    /// `docker compose exec testdc testdc send --chat-id 200000001 --text Hello`.
    Send {
        /// Chat: a user id for a private chat with the account (Alice is 200000001), `-id` for a
        /// basic group, `-100…` for a supergroup or channel.
        #[arg(long, allow_hyphen_values = true)]
        chat_id: i64,
        /// The text (UTF-8).
        #[arg(long)]
        text: String,
        /// Sender in a group (a user id); ignored in private chats (the other user writes).
        #[arg(long)]
        from: Option<i64>,
        /// The account (user id) whose world it happens in (`--accounts`); unset: the default
        /// account's.
        #[arg(long)]
        account: Option<i64>,
    },
}

/// How long `healthcheck` and `send` wait for the whole exchange (a container check has its
/// own timeout).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    match args.command {
        Some(Command::Healthcheck) => return Ok(healthcheck(args.control).await),
        Some(Command::Send {
            chat_id,
            ref text,
            from,
            account,
        }) => {
            let body = serde_json::json!({"chat_id": chat_id, "text": text, "from": from,
                "account": account});
            let sent = control_client()?
                .post(format!("http://{}/send", args.control))
                .json(&body)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .with_context(|| format!("POST http://{}/send failed", args.control))?;
            println!("{}", sent.text().await.context("reading the answer")?);
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
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
            // The binary serves clients that keep their state across its restarts (the compose
            // demo on the same ./sessions): its counters never go back.
            counters_from_clock: true,
            retention: Retention {
                messages_per_chat: args.keep_messages.map(|n| n.max(1)),
                changes: args.keep_changes.map(|n| n.max(1)),
            },
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
    if args.accounts > 0 {
        let ids: Vec<i64> = dc
            .add_accounts(args.accounts)
            .iter()
            .map(|a| a.user_id)
            .collect();
        tokio::fs::create_dir_all(&args.accounts_dir)
            .await
            .with_context(|| format!("failed to create {}", args.accounts_dir.display()))?;
        dc.write_account_sessions(&ids, &args.accounts_dir)
            .await
            .with_context(|| {
                format!(
                    "failed to write sessions in {}",
                    args.accounts_dir.display()
                )
            })?;
        tracing::info!(count = ids.len(), dir = %args.accounts_dir.display(), "account sessions written");
    }
    let listener = tokio::net::TcpListener::bind(args.control)
        .await
        .with_context(|| format!("failed to bind control API on {}", args.control))?;
    tracing::info!(control = %listener.local_addr()?, "control API listening");
    axum::serve(listener, testdc::http::router(dc.clone()))
        .with_graceful_shutdown(shutdown)
        .await
        .context("control API failed")?;
    // The router is gone with the server: this is the last handle, so close the MTProto
    // connections and wait for them (dropping it would not wait).
    if let Some(dc) = Arc::into_inner(dc) {
        dc.stop().await;
    }
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
    let url = format!("http://{control}/stats");
    let answer = match control_client() {
        Ok(client) => client.get(&url).send().await.map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    match answer {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("unhealthy: GET {url} answered {}", response.status());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("unhealthy: GET {url} failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// An HTTP client for our own loopback control API: no proxy, a short timeout.
fn control_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(CONTROL_TIMEOUT)
        .no_proxy()
        .build()
        .context("failed to build an HTTP client")
}
