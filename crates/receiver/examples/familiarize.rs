//! The receiver with one in-process handler, `/familiarize`: it asks the sender's name until
//! the answer holds a letter, greets them, and POSTs `{"chat_id": …, "name": …}` to
//! `FAMILIARIZE_NOTIFY_URL`. Every message still reaches `WEBHOOK_URL` as usual.
//!
//! Same settings as the `receiver` binary (`.env`, environment or flags), plus
//! `FAMILIARIZE_NOTIFY_URL` and `FAMILIARIZE_ANSWER_TIMEOUT`:
//! `cargo run -p receiver --example familiarize`. The handler is
//! `receiver::handlers::familiarize`; write your own with `receiver::handlers::Handlers`.

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use receiver::handlers::familiarize::{self, Settings};

/// The receiver's settings and the example's own.
#[derive(Parser, Debug)]
#[command(
    name = "familiarize",
    about = "The receiver with a /familiarize conversation"
)]
struct Args {
    /// The receiver's settings.
    #[command(flatten)]
    config: receiver::Config,
    /// Where an accepted name is POSTed as JSON `{"chat_id": …, "name": …}`; unset: nowhere.
    #[arg(
        long,
        env = "FAMILIARIZE_NOTIFY_URL",
        value_name = "FAMILIARIZE_NOTIFY_URL"
    )]
    notify_url: Option<url::Url>,
    /// How long each question waits for the answer, in seconds.
    #[arg(long, env = "FAMILIARIZE_ANSWER_TIMEOUT", default_value_t = 300)]
    answer_timeout: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        return Err(e).context("failed to read .env");
    }
    let args: Args = ops::config::parse();
    let _log_guard = ops::logging::init(&ops::logging::LogConfig {
        binary: "familiarize",
        logs_dir: args.config.logs_dir.clone(),
        max_files: args.config.log_max_files,
        to_stderr: true,
    })
    .context("failed to start logging (LOGS_DIR)")?;
    let handlers = familiarize::handlers(Settings {
        notify_url: args.notify_url,
        answer_timeout: Duration::from_secs(args.answer_timeout),
    })
    .context("failed to build the HTTP client")?;
    let app = receiver::cli::build_signed_in(args.config).await?;
    app.with_handlers(handlers).run_until_stopped().await
}
