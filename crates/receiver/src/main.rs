//! The `receiver` binary: configuration, tracing, then [`receiver::App`].

use std::io::IsTerminal as _;

use anyhow::Context as _;
use clap::Parser as _;
use receiver::{App, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal; a malformed one is reported.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        return Err(e).context("failed to read .env");
    }
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let app = App::build(config).await?;
    let account = app.account();
    tracing::info!(
        id = account.user.id,
        username = ?account.user.username,
        "signed in"
    );
    app.run_until_stopped().await
}
