//! The `receiver` binary: configuration, tracing, then [`receiver::App`].

use anyhow::Context as _;
use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal; a malformed one is reported.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        return Err(e).context("failed to read .env");
    }
    let cli = receiver::cli::Cli::parse();
    let _log_guard = ops::logging::init(&ops::logging::LogConfig {
        binary: "receiver",
        logs_dir: cli.config.logs_dir.clone(),
        max_files: cli.config.log_max_files,
        to_stderr: true,
    })
    .context("failed to start logging (LOGS_DIR)")?;
    if let Some(command) = cli.command {
        return receiver::cli::run(command, cli.config).await;
    }
    let app = receiver::cli::build_signed_in(cli.config).await?;
    let account = app.account();
    tracing::info!(
        id = account.user.id,
        username = ?account.user.username,
        "signed in"
    );
    app.run_until_stopped().await
}
