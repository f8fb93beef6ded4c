//! The sender binary: reads the config, sets up logging and runs [`sender::App`].

use std::process::ExitCode;

use anyhow::Context;
use ops::logging::LogConfig;
use sender::App;
use sender::cli::Cli;

/// jemalloc, configured at build time by `.cargo/config.toml` (feature `jemalloc`, on by
/// default; without it the system allocator, for heap profilers).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        return Err(e).context("failed to read .env");
    }
    // An empty variable (compose passes `KEY=` lines of .env as "") means "not set".
    let matches = ops::config::matches::<Cli>();
    if matches.subcommand_name() == Some("healthcheck") {
        // Before logging and without the rest of the configuration: no secret is needed.
        let bind = matches
            .get_one::<std::net::SocketAddr>("bind")
            .copied()
            .context("SENDER_BIND has no value")?;
        return Ok(ops::health::healthcheck(bind).await);
    }
    let Cli { config, .. }: Cli = ops::config::from_matches(&matches);
    if let Some(dir) = &config.logs_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create LOGS_DIR {}", dir.display()))?;
    }
    // Flushes the JSON log file on drop: keep it until the end of `main`.
    let _log_guard = ops::logging::init(&LogConfig {
        binary: "sender",
        logs_dir: config.logs_dir.clone(),
        max_files: config.log_max_files,
        to_stderr: false,
    })
    .context("failed to set up logging (LOGS_DIR)")?;
    if config.sessions_dir.is_some() || config.cluster.enabled() {
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("failed to bind SENDER_BIND {}", config.bind))?;
        let accounts = if config.cluster.enabled() {
            sender::accounts::Accounts::start_clustered(config).await
        } else {
            sender::accounts::Accounts::start(config).await
        }
        .context("failed to start the sender")?;
        tracing::info!(
            accounts = accounts.names().len(),
            addr = %listener.local_addr().context("failed to read SENDER_BIND")?,
            "sender listening for many accounts"
        );
        let stop = ops::shutdown::signal().context("failed to install the SIGTERM handler")?;
        accounts
            .serve(listener, stop)
            .await
            .context("sender stopped with an error")?;
        return Ok(ExitCode::SUCCESS);
    }
    let app = App::build(config)
        .await
        .context("failed to start the sender")?;
    match app.account() {
        Some(account) => tracing::info!(
            account_id = account.id,
            username = account.username.as_deref().unwrap_or(""),
            addr = %app.local_addr(),
            "sender listening"
        ),
        None => tracing::info!(
            addr = %app.local_addr(),
            "sender listening, not signed in"
        ),
    }
    app.run_until_stopped()
        .await
        .context("sender stopped with an error")?;
    Ok(ExitCode::SUCCESS)
}
