//! The sender's configuration: read once in `main` from the environment (and `.env`), validated
//! up front with errors that name the variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use secrecy::{ExposeSecret, SecretString};

/// Every setting of the sender. Built by clap from flags or environment variables in `main`;
/// tests construct it literally (port 0, a temporary session file).
///
/// Secrets are [`SecretString`]s: their `Debug` prints `[REDACTED]` and clap never shows their
/// environment values (`hide_env_values`).
#[derive(Clone, Debug, Parser)]
#[command(
    name = "sender",
    version,
    about = "Bot API-shaped REST API acting as a Telegram user account"
)]
pub struct Config {
    /// Shared secret every API request must carry in its `x-api-key` header (`X_API_TOKEN`,
    /// required, non-empty).
    #[arg(long = "x-api-token", env = "X_API_TOKEN", value_name = "X_API_TOKEN", hide_env_values = true, value_parser = parse_api_token)]
    pub api_token: SecretString,
    /// Listen address of the HTTP server (`SENDER_BIND`); port 0 picks a free port.
    #[arg(
        long = "bind",
        env = "SENDER_BIND",
        value_name = "SENDER_BIND",
        default_value = "0.0.0.0:8000"
    )]
    pub bind: SocketAddr,
    /// Telegram application id from my.telegram.org (`TG_API_ID`, required).
    #[arg(long = "tg-api-id", env = "TG_API_ID", value_name = "TG_API_ID")]
    pub api_id: i32,
    /// Telegram application hash (`TG_API_HASH`, secret). Only needed to log in, which the sender
    /// never does; accepted so one `.env` serves both binaries.
    #[arg(
        long = "tg-api-hash",
        env = "TG_API_HASH",
        value_name = "TG_API_HASH",
        hide_env_values = true
    )]
    pub api_hash: Option<SecretString>,
    /// Session name without `.session` (`TG_SESSION_NAME`); the file is shared with the receiver.
    #[arg(
        long = "tg-session-name",
        env = "TG_SESSION_NAME",
        value_name = "TG_SESSION_NAME",
        default_value = "sessions/tg_userbot"
    )]
    pub session_name: String,
    /// FLOOD_WAITs up to this many seconds are slept through and retried once; longer ones are
    /// answered with 429 (`FLOOD_SLEEP_THRESHOLD`, seconds).
    #[arg(
        long = "flood-sleep-threshold",
        env = "FLOOD_SLEEP_THRESHOLD",
        value_name = "FLOOD_SLEEP_THRESHOLD",
        default_value_t = 5
    )]
    pub flood_sleep_threshold: u64,
}

/// A setting that is present but unusable; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `X_API_TOKEN` is empty (or only whitespace): every request would be rejected, or worse,
    /// accepted with an empty key.
    #[error("X_API_TOKEN is empty: set it to a long random secret, e.g. <digits>:<random>")]
    EmptyApiToken,
    /// `TG_SESSION_NAME` is empty.
    #[error("TG_SESSION_NAME is empty: set it to a path such as sessions/tg_userbot")]
    EmptySessionName,
}

fn parse_api_token(value: &str) -> Result<SecretString, ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::EmptyApiToken);
    }
    Ok(SecretString::from(value))
}

impl Config {
    /// Checks what clap's types cannot: non-empty token and session name. Called by
    /// [`crate::App::build`], so literally built configs are checked too.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.api_token.expose_secret().trim().is_empty() {
            return Err(ConfigError::EmptyApiToken);
        }
        if self.session_name.trim().is_empty() {
            return Err(ConfigError::EmptySessionName);
        }
        Ok(())
    }

    /// The session file, `TG_SESSION_NAME` + `.session` ([`session::SessionStore::path_for_name`]).
    pub fn session_path(&self) -> PathBuf {
        session::SessionStore::path_for_name(&self.session_name)
    }

    /// [`Self::flood_sleep_threshold`] as a duration.
    pub fn flood_sleep(&self) -> Duration {
        Duration::from_secs(self.flood_sleep_threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("sender").chain(args.iter().copied()))
    }

    #[test]
    fn flags_fill_config_with_defaults() {
        let config = parse(&["--x-api-token", "1:abc", "--tg-api-id", "42"]).expect("parse");
        assert_eq!(config.api_id, 42);
        assert_eq!(config.bind, SocketAddr::from(([0, 0, 0, 0], 8000)));
        assert_eq!(
            config.session_path(),
            PathBuf::from("sessions/tg_userbot.session")
        );
        assert_eq!(config.flood_sleep(), Duration::from_secs(5));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn empty_token_is_rejected_naming_the_variable() {
        let err = parse(&["--x-api-token", "", "--tg-api-id", "42"]).expect_err("empty");
        assert!(err.to_string().contains("X_API_TOKEN"), "{err}");
    }

    #[test]
    fn debug_output_hides_the_token() {
        let config =
            parse(&["--x-api-token", "1:supersecret", "--tg-api-id", "42"]).expect("parse");
        assert!(!format!("{config:?}").contains("supersecret"));
    }

    #[test]
    fn missing_api_id_names_the_variable() {
        let err = parse(&["--x-api-token", "1:abc"]).expect_err("missing");
        assert!(err.to_string().contains("TG_API_ID"), "{err}");
    }
}
