//! The sender binary: reads the config, sets up logging and runs [`sender::App`].

use anyhow::Context;
use clap::Parser;
use ops::logging::LogConfig;
use sender::{App, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        return Err(e).context("failed to read .env");
    }
    let config = Config::parse();
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
        .context("sender stopped with an error")
}
