//! The `receiver` binary: configuration, tracing, then [`receiver::App`].

use std::process::ExitCode;

use anyhow::Context as _;

/// jemalloc, configured at build time by `.cargo/config.toml` (feature `jemalloc`, on by
/// default; without it the system allocator, for heap profilers).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    // A missing .env is normal; a malformed one is reported.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        return Err(e).context("failed to read .env");
    }
    // An empty variable (compose passes `KEY=` lines of .env as "") means "not set".
    let matches = ops::config::matches::<receiver::cli::Cli>();
    if matches.subcommand_name() == Some("healthcheck") {
        // Before logging and without the rest of the configuration: no secret is needed.
        let bind = matches
            .get_one::<std::net::SocketAddr>("media_bind")
            .copied()
            .context("MEDIA_BIND has no value")?;
        return Ok(ops::health::healthcheck(bind).await);
    }
    let cli: receiver::cli::Cli = ops::config::from_matches(&matches);
    let _log_guard = ops::logging::init(&ops::logging::LogConfig {
        binary: "receiver",
        logs_dir: cli.config.logs_dir.clone(),
        max_files: cli.config.log_max_files,
        to_stderr: true,
    })
    .context("failed to start logging (LOGS_DIR)")?;
    if let Some(command) = cli.command {
        receiver::cli::run(command, cli.config).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if cli.config.cluster.enabled() {
        let stop = ops::shutdown::signal().context("failed to install the SIGTERM handler")?;
        receiver::cluster::run(cli.config, stop).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if cli.config.sessions_dir.is_some() {
        let stop = ops::shutdown::signal().context("failed to install the SIGTERM handler")?;
        receiver::accounts::run(cli.config, stop).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let app = receiver::cli::build_signed_in(cli.config).await?;
    let account = app.account();
    tracing::info!(
        id = account.user.id,
        username = ?account.user.username,
        "signed in"
    );
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}
