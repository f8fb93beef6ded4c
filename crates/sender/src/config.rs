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
    /// Telegram application hash (`TG_API_HASH`, secret). Only needed to sign in over HTTP
    /// (`POST /api_v1/auth/sendCode`); a signed-in session works without it.
    #[arg(
        long = "tg-api-hash",
        env = "TG_API_HASH",
        value_name = "TG_API_HASH",
        hide_env_values = true
    )]
    pub api_hash: Option<SecretString>,
    /// Phone number used by `POST /api_v1/auth/sendCode` when the request names none
    /// (`TG_PHONE_NUMBER`, international format).
    #[arg(
        long = "tg-phone-number",
        env = "TG_PHONE_NUMBER",
        value_name = "TG_PHONE_NUMBER"
    )]
    pub phone_number: Option<String>,
    /// Session name without `.session` (`TG_SESSION_NAME`); the file is shared with the receiver.
    #[arg(
        long = "tg-session-name",
        env = "TG_SESSION_NAME",
        value_name = "TG_SESSION_NAME",
        default_value = "sessions/tg_userbot"
    )]
    pub session_name: String,
    /// The receiver's outbox file (`OUTBOX_PATH`; default `<TG_SESSION_NAME>.outbox`, next to
    /// the session), which `getUpdates` and the webhook methods read and write. Give both
    /// binaries the same value.
    #[arg(long = "outbox-path", env = "OUTBOX_PATH", value_name = "OUTBOX_PATH")]
    pub outbox_path: Option<PathBuf>,
    /// FLOOD_WAITs up to this many seconds are slept through and retried once; longer ones are
    /// answered with 429 (`FLOOD_SLEEP_THRESHOLD`, seconds).
    #[arg(
        long = "flood-sleep-threshold",
        env = "FLOOD_SLEEP_THRESHOLD",
        value_name = "FLOOD_SLEEP_THRESHOLD",
        default_value_t = 5
    )]
    pub flood_sleep_threshold: u64,
    /// Whether file URLs may point at loopback, private, link-local, CGNAT, multicast or
    /// unspecified addresses (`ALLOW_PRIVATE_URLS`, default false). Leave off unless the
    /// sender is only reachable by trusted clients: otherwise any client can make it fetch
    /// from your internal network.
    #[arg(
        long = "allow-private-urls",
        env = "ALLOW_PRIVATE_URLS",
        value_name = "ALLOW_PRIVATE_URLS",
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub allow_private_urls: bool,
    /// Largest file accepted per file parameter, whether uploaded, downloaded from a URL or
    /// inline base64 (`MAX_UPLOAD_BYTES`, bytes, default 52428800 = 50 MiB, the Bot API's own
    /// upload limit). Files are streamed to temporary files, so this bounds disk use per
    /// file, not memory.
    #[arg(
        long = "max-upload-bytes",
        env = "MAX_UPLOAD_BYTES",
        value_name = "MAX_UPLOAD_BYTES",
        default_value_t = 50 * 1024 * 1024
    )]
    pub max_upload_bytes: u64,
    /// Time limit for downloading one file URL, connection to last byte
    /// (`URL_DOWNLOAD_TIMEOUT`, seconds, default 60).
    #[arg(
        long = "url-download-timeout",
        env = "URL_DOWNLOAD_TIMEOUT",
        value_name = "URL_DOWNLOAD_TIMEOUT",
        default_value_t = 60
    )]
    pub url_download_timeout: u64,
    /// Directory for JSON log files, one per day (`LOGS_DIR`); unset: stdout only.
    #[arg(long = "logs-dir", env = "LOGS_DIR", value_name = "LOGS_DIR")]
    pub logs_dir: Option<PathBuf>,
    /// How many daily log files to keep in `LOGS_DIR` (`LOG_MAX_FILES`, default 14).
    #[arg(
        long = "log-max-files",
        env = "LOG_MAX_FILES",
        value_name = "LOG_MAX_FILES",
        default_value_t = 14
    )]
    pub log_max_files: usize,
    /// Authenticated API requests allowed per second, on average (`RATE_LIMIT_PER_SECOND`,
    /// default 30; 0 turns the limit off). Over it: 429 with `retry_after`.
    #[arg(
        long = "rate-limit-per-second",
        env = "RATE_LIMIT_PER_SECOND",
        value_name = "RATE_LIMIT_PER_SECOND",
        default_value_t = 30
    )]
    pub rate_limit_per_second: u32,
    /// Requests allowed at once above the average (`RATE_LIMIT_BURST`, default 60, at least 1
    /// while the limit is on).
    #[arg(
        long = "rate-limit-burst",
        env = "RATE_LIMIT_BURST",
        value_name = "RATE_LIMIT_BURST",
        default_value_t = 60
    )]
    pub rate_limit_burst: u32,
    /// File parts, each up to 512 KiB, uploaded to Telegram at once over all requests
    /// (`UPLOAD_CONCURRENCY`, default 8; 0 counts as 1). Further uploads wait their turn; one
    /// upload takes one per part it keeps in flight (up to 8). Bounds the memory uploads hold.
    #[arg(
        long = "upload-concurrency",
        env = "UPLOAD_CONCURRENCY",
        value_name = "UPLOAD_CONCURRENCY",
        default_value_t = telegram::DEFAULT_UPLOAD_CONCURRENCY
    )]
    pub upload_concurrency: usize,
    /// Browser origins allowed to call the API, comma-separated (`CORS_ALLOWED_ORIGINS`, e.g.
    /// `https://app.example.com`; `*` for any). Empty (default): no CORS headers, so browsers
    /// refuse cross-origin calls.
    #[arg(
        long = "cors-allowed-origins",
        env = "CORS_ALLOWED_ORIGINS",
        value_name = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_allowed_origins: Vec<String>,
    /// Shape of successful answers (`RESPONSE_FORMAT`): `bot_api` (default; the Bot API's
    /// own, as client libraries expect) or `legacy` (the Python service's: ISO 8601 dates,
    /// `deleteMessage` → `"Message deleted"`, `file_name`/`file_url`/`file_type` on media
    /// answers; see [`crate::compat`]). A request overrides it with the header
    /// `x-response-format: legacy|bot_api`.
    #[arg(
        long = "response-format",
        env = "RESPONSE_FORMAT",
        value_name = "RESPONSE_FORMAT",
        value_enum,
        default_value = "bot_api"
    )]
    pub response_format: ResponseFormat,
    /// Whether queued sends are paced by the token buckets below (`SEND_PACING`, default
    /// true). Off, sends still go one at a time per chat, in order.
    #[arg(
        long = "send-pacing",
        env = "SEND_PACING",
        value_name = "SEND_PACING",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub send_pacing: bool,
    /// Sends in flight at once per chat (`SEND_CHAT_CONCURRENCY`, default 1, 0 counts as 1).
    /// Above 1 a chat's order is not kept: only for chats that need throughput, such as a
    /// benchmark's.
    #[arg(
        long = "send-chat-concurrency",
        env = "SEND_CHAT_CONCURRENCY",
        value_name = "SEND_CHAT_CONCURRENCY",
        default_value_t = 1
    )]
    pub send_chat_concurrency: usize,
    /// Sends per minute into one chat (`SEND_PACE_CHAT_PER_MINUTE`, default 60; 0: no limit).
    #[arg(
        long = "send-pace-chat-per-minute",
        env = "SEND_PACE_CHAT_PER_MINUTE",
        value_name = "SEND_PACE_CHAT_PER_MINUTE",
        default_value_t = 60
    )]
    pub send_pace_chat_per_minute: u32,
    /// Sends into one chat allowed at once above that rate (`SEND_PACE_CHAT_BURST`, default 3).
    #[arg(
        long = "send-pace-chat-burst",
        env = "SEND_PACE_CHAT_BURST",
        value_name = "SEND_PACE_CHAT_BURST",
        default_value_t = 3
    )]
    pub send_pace_chat_burst: u32,
    /// Sends per minute into one group, supergroup or channel (`SEND_PACE_GROUP_PER_MINUTE`,
    /// default 20, Telegram's documented group limit; 0: no limit).
    #[arg(
        long = "send-pace-group-per-minute",
        env = "SEND_PACE_GROUP_PER_MINUTE",
        value_name = "SEND_PACE_GROUP_PER_MINUTE",
        default_value_t = 20
    )]
    pub send_pace_group_per_minute: u32,
    /// Sends per minute over the whole account (`SEND_PACE_ACCOUNT_PER_MINUTE`; unset: 300 for
    /// a user account, 1800 = 30/s for a bot; 0: no limit).
    #[arg(
        long = "send-pace-account-per-minute",
        env = "SEND_PACE_ACCOUNT_PER_MINUTE",
        value_name = "SEND_PACE_ACCOUNT_PER_MINUTE"
    )]
    pub send_pace_account_per_minute: Option<u32>,
    /// Expensive calls per minute: `getChats`, `getChat` and sends to an `@username`
    /// (`SEND_PACE_EXPENSIVE_PER_MINUTE`, default 30; 0: no limit).
    #[arg(
        long = "send-pace-expensive-per-minute",
        env = "SEND_PACE_EXPENSIVE_PER_MINUTE",
        value_name = "SEND_PACE_EXPENSIVE_PER_MINUTE",
        default_value_t = 30
    )]
    pub send_pace_expensive_per_minute: u32,
    /// How long a synchronous send waits for its turn before it is answered 429 with
    /// `retry_after` = its chat's expected wait (`SEND_QUEUE_MAX_WAIT`, seconds, default 20).
    #[arg(
        long = "send-queue-max-wait",
        env = "SEND_QUEUE_MAX_WAIT",
        value_name = "SEND_QUEUE_MAX_WAIT",
        default_value_t = 20
    )]
    pub send_queue_max_wait: u64,
    /// The send queue's SQLite file (`SEND_QUEUE_PATH`; unset: `TG_SESSION_NAME` + `.queue`
    /// next to the session; `:memory:` keeps it in memory, not durable).
    #[arg(
        long = "send-queue-path",
        env = "SEND_QUEUE_PATH",
        value_name = "SEND_QUEUE_PATH"
    )]
    pub send_queue_path: Option<PathBuf>,
    /// How long an idempotency key returns its first answer (`IDEMPOTENCY_TTL`, seconds,
    /// default 86400 = 24 h).
    #[arg(
        long = "idempotency-ttl",
        env = "IDEMPOTENCY_TTL",
        value_name = "IDEMPOTENCY_TTL",
        default_value_t = 86_400
    )]
    pub idempotency_ttl: u64,
    /// How long every send is paused after Telegram answers `PEER_FLOOD` (`PEER_FLOOD_PAUSE`,
    /// seconds, default 3600).
    #[arg(
        long = "peer-flood-pause",
        env = "PEER_FLOOD_PAUSE",
        value_name = "PEER_FLOOD_PAUSE",
        default_value_t = 3600
    )]
    pub peer_flood_pause: u64,
    /// Where the answers of asynchronous sends (`Prefer: respond-async`) are POSTed
    /// (`SEND_RESULT_WEBHOOK_URL`; unset: read them at `GET /api_v1/jobs/<id>`).
    #[arg(
        long = "send-result-webhook-url",
        env = "SEND_RESULT_WEBHOOK_URL",
        value_name = "SEND_RESULT_WEBHOOK_URL"
    )]
    pub send_result_webhook_url: Option<url::Url>,
    /// `NATS_URL`, `NATS_CREDS`, `NATS_SUBJECT_PREFIX`: the Bot API methods over NATS
    /// request/reply as well ([`crate::nats`]); unset `NATS_URL`: HTTP only.
    #[command(flatten)]
    pub nats: ops::nats::NatsSettings,

    /// `DATABASE_URL` (with `INSTANCE_ID`, `CLUSTER_LEASE_SECONDS`, `CLUSTER_MAX_ACCOUNTS`,
    /// `CLUSTER_SENDER_URL`): several instances share the accounts through Postgres.
    #[command(flatten)]
    pub cluster: ops::cluster::ClusterSettings,
    /// The account directory (`SESSIONS_DIR`): when set, the sender serves every account whose
    /// session file `<name>.session` lives there, beside the `TG_SESSION_NAME` one
    /// ([`crate::accounts`]); unset: that one account only.
    #[arg(
        long = "sessions-dir",
        env = "SESSIONS_DIR",
        value_name = "SESSIONS_DIR"
    )]
    pub sessions_dir: Option<PathBuf>,
    /// The management API's key (`ADMIN_API_KEY`, secret), sent as `x-admin-key`; unset: the
    /// management API answers 403. Only used with `SESSIONS_DIR`.
    #[arg(
        long = "admin-api-key",
        env = "ADMIN_API_KEY",
        value_name = "ADMIN_API_KEY",
        hide_env_values = true
    )]
    pub admin_api_key: Option<SecretString>,
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
    /// `MAX_UPLOAD_BYTES` is 0: no file could ever be sent.
    #[error("MAX_UPLOAD_BYTES is 0: set it to the largest file size in bytes, e.g. 52428800")]
    ZeroMaxUpload,
    /// `URL_DOWNLOAD_TIMEOUT` is 0: every URL download would time out at once.
    #[error("URL_DOWNLOAD_TIMEOUT is 0: set it to a number of seconds, e.g. 60")]
    ZeroDownloadTimeout,
    /// `RATE_LIMIT_BURST` is 0 while `RATE_LIMIT_PER_SECOND` is not: no request could pass.
    #[error("RATE_LIMIT_BURST is 0: set it to at least 1, or RATE_LIMIT_PER_SECOND to 0")]
    ZeroBurst,
    /// An entry of `CORS_ALLOWED_ORIGINS` is not an origin such as `https://app.example.com`.
    #[error(
        "CORS_ALLOWED_ORIGINS has {0:?}, which is not an origin such as https://app.example.com"
    )]
    BadOrigin(String),
}

fn parse_api_token(value: &str) -> Result<SecretString, ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::EmptyApiToken);
    }
    Ok(SecretString::from(value))
}

impl Config {
    /// Checks what clap's types cannot: non-empty token and session name, non-zero upload
    /// limit and download timeout. Called by
    /// [`crate::App::build`], so literally built configs are checked too.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.api_token.expose_secret().trim().is_empty() {
            return Err(ConfigError::EmptyApiToken);
        }
        if self.session_name.trim().is_empty() {
            return Err(ConfigError::EmptySessionName);
        }
        if self.max_upload_bytes == 0 {
            return Err(ConfigError::ZeroMaxUpload);
        }
        if self.url_download_timeout == 0 {
            return Err(ConfigError::ZeroDownloadTimeout);
        }
        if self.rate_limit_per_second > 0 && self.rate_limit_burst == 0 {
            return Err(ConfigError::ZeroBurst);
        }
        self.cors_origins().map(drop)
    }

    /// `CORS_ALLOWED_ORIGINS` without blanks; `["*"]` for any origin. Errors on an entry that is
    /// not `scheme://host[:port]`.
    pub fn cors_origins(&self) -> Result<Vec<String>, ConfigError> {
        let origins: Vec<String> = self
            .cors_allowed_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &origins {
            let valid = origin == "*"
                || url::Url::parse(origin).is_ok_and(|u| {
                    u.has_host() && u.path() == "/" && u.origin().ascii_serialization() == *origin
                });
            if !valid {
                return Err(ConfigError::BadOrigin(origin.clone()));
            }
        }
        Ok(origins)
    }

    /// The outbox file: `OUTBOX_PATH`, else `TG_SESSION_NAME` + `.outbox` (the receiver's rule).
    pub fn outbox_path(&self) -> PathBuf {
        match &self.outbox_path {
            Some(path) => path.clone(),
            None => {
                let name = self.session_name.trim_end_matches(".session");
                PathBuf::from(format!("{name}.outbox"))
            }
        }
    }

    /// The session file, `TG_SESSION_NAME` + `.session` ([`session::SessionStore::path_for_name`]).
    pub fn session_path(&self) -> PathBuf {
        session::SessionStore::path_for_name(&self.session_name)
    }

    /// [`Self::flood_sleep_threshold`] as a duration.
    pub fn flood_sleep(&self) -> Duration {
        Duration::from_secs(self.flood_sleep_threshold)
    }

    /// The send queue's file: `SEND_QUEUE_PATH`, or `TG_SESSION_NAME` + `.queue`.
    pub fn queue_path(&self) -> PathBuf {
        self.send_queue_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{}.queue", self.session_name)))
    }

    /// The queue's buckets for an account that `is_bot` or not; `None` with `SEND_PACING` off.
    pub fn pacing(&self, is_bot: bool) -> Option<crate::queue::pacing::PaceConfig> {
        use crate::queue::pacing::PaceConfig;
        let base = if is_bot {
            PaceConfig::BOT
        } else {
            PaceConfig::USER
        };
        self.send_pacing.then(|| PaceConfig {
            chat_per_minute: self.send_pace_chat_per_minute,
            chat_burst: self.send_pace_chat_burst,
            group_per_minute: self.send_pace_group_per_minute,
            account_per_minute: self
                .send_pace_account_per_minute
                .unwrap_or(base.account_per_minute),
            expensive_per_minute: self.send_pace_expensive_per_minute,
        })
    }

    /// [`Self::url_download_timeout`] as a duration.
    pub fn download_timeout(&self) -> Duration {
        Duration::from_secs(self.url_download_timeout)
    }
}

/// The shape of successful answers (`RESPONSE_FORMAT`; the transform is [`crate::compat`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum ResponseFormat {
    /// The Bot API's own: unix dates, `deleteMessage` → `true`, Bot API objects only.
    #[default]
    BotApi,
    /// The Python service's (`crate::compat::legacy_result`).
    Legacy,
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
        assert!(!config.allow_private_urls);
        assert_eq!(config.max_upload_bytes, 52_428_800);
        assert_eq!(config.download_timeout(), Duration::from_secs(60));
        assert_eq!(config.logs_dir, None);
        assert_eq!(config.log_max_files, 14);
        assert_eq!(
            (config.rate_limit_per_second, config.rate_limit_burst),
            (30, 60)
        );
        assert_eq!(config.upload_concurrency, 8);
        assert_eq!(config.cors_origins(), Ok(vec![]));
        assert_eq!(config.response_format, ResponseFormat::BotApi);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn response_format_is_bot_api_or_legacy() {
        let base = ["--x-api-token", "1:abc", "--tg-api-id", "42"];
        let args = [&base[..], &["--response-format", "legacy"]].concat();
        assert_eq!(
            parse(&args).expect("parse").response_format,
            ResponseFormat::Legacy
        );
        let args = [&base[..], &["--response-format", "python"]].concat();
        let error = parse(&args).expect_err("unknown format");
        assert!(error.to_string().contains("RESPONSE_FORMAT"), "{error}");
    }

    #[test]
    fn media_settings_parse_and_zero_limits_are_refused() {
        let base = ["--x-api-token", "1:abc", "--tg-api-id", "42"];
        for (value, expected) in [("True", true), ("1", true), ("false", false)] {
            let args = [&base[..], &["--allow-private-urls", value]].concat();
            assert_eq!(parse(&args).expect("parse").allow_private_urls, expected);
        }
        let args = [&base[..], &["--max-upload-bytes", "0"]].concat();
        let error = parse(&args).expect("parse").validate().expect_err("zero");
        assert!(error.to_string().contains("MAX_UPLOAD_BYTES"), "{error}");
        let args = [&base[..], &["--url-download-timeout", "0"]].concat();
        let error = parse(&args).expect("parse").validate().expect_err("zero");
        assert!(
            error.to_string().contains("URL_DOWNLOAD_TIMEOUT"),
            "{error}"
        );
    }

    #[test]
    fn cors_origins_are_checked_and_zero_burst_refused() {
        let base = ["--x-api-token", "1:abc", "--tg-api-id", "42"];
        let with = |extra: &[&str]| parse(&[&base[..], extra].concat()).expect("parse");
        let config = with(&[
            "--cors-allowed-origins",
            "https://a.example, http://localhost:3000/",
        ]);
        assert_eq!(
            config.cors_origins(),
            Ok(vec![
                "https://a.example".to_owned(),
                "http://localhost:3000".to_owned()
            ])
        );
        for bad in ["a.example", "https://a.example/path", "https://a.example?q"] {
            let error = with(&["--cors-allowed-origins", bad])
                .validate()
                .expect_err(bad);
            assert!(
                error.to_string().contains("CORS_ALLOWED_ORIGINS"),
                "{error}"
            );
        }
        let error = with(&["--rate-limit-burst", "0"])
            .validate()
            .expect_err("zero burst");
        assert!(error.to_string().contains("RATE_LIMIT_BURST"), "{error}");
        let off = with(&["--rate-limit-per-second", "0", "--rate-limit-burst", "0"]);
        assert!(off.validate().is_ok());
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
