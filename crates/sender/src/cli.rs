//! The `sender` command line: serve the Bot API (the default), or `healthcheck`.

use clap::{Parser, Subcommand};

use crate::Config;

/// `sender [COMMAND]`: with no command, serves the Bot API-shaped HTTP API.
#[derive(Parser, Debug)]
#[command(
    name = "sender",
    version,
    about = "Bot API-shaped REST API acting as a Telegram user account",
    // `healthcheck` needs neither X_API_TOKEN nor TG_API_ID: it only reads SENDER_BIND.
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// An operator command; none serves the API.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings (every flag also reads its environment variable).
    #[command(flatten)]
    pub config: Config,
}

/// Operator commands.
#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Exit 0 when the running sender answers `GET /readyz` with 200 on SENDER_BIND, else 1
    /// (the container HEALTHCHECK; needs no secret).
    Healthcheck,
}
