//! The sender binary: reads the config, sets up logging and runs [`sender::App`].

use anyhow::Context;
use clap::Parser;
use sender::{App, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
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
        .init();
    let app = App::build(config)
        .await
        .context("failed to start the sender")?;
    let account = &app.account().user;
    tracing::info!(
        account_id = account.id,
        username = account.username.as_deref().unwrap_or(""),
        addr = %app.local_addr(),
        "sender listening"
    );
    app.run_until_stopped()
        .await
        .context("sender stopped with an error")
}
