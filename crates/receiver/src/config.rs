//! The receiver's configuration: read once from the environment (and `.env`), validated up front.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use clap::builder::TypedValueParser as _;
use secrecy::SecretString;
use url::Url;

use self::parse::*;
use crate::deliver::RetryPolicy;
use crate::normalize::{Normalizer, UpdateKind, WebhookFormat};
use crate::webhook::SigningSecret;

/// Everything the receiver reads from its environment. Tests construct it literally.
///
/// Every flag has an environment variable of the same meaning; errors name the variable
/// (clap prints it as the value name, e.g. `--webhook-url <WEBHOOK_URL>`).
#[derive(Clone, Debug, Parser)]
#[command(
    name = "receiver",
    version,
    about = "Streams Telegram updates to a webhook"
)]
pub struct Config {
    /// Application id from my.telegram.org.
    #[arg(long, env = "TG_API_ID", value_name = "TG_API_ID")]
    pub api_id: i32,

    /// Application hash from my.telegram.org (unused while the session is already signed in).
    #[arg(long, env = "TG_API_HASH", value_name = "TG_API_HASH", hide_env_values = true,
          value_parser = parse_secret)]
    pub api_hash: Option<SecretString>,

    /// Directory for JSON log files (daily rotation); unset logs to the terminal only.
    #[arg(long, env = "LOGS_DIR", value_name = "LOGS_DIR")]
    pub logs_dir: Option<PathBuf>,

    /// How many daily log files to keep in LOGS_DIR.
    #[arg(
        long,
        env = "LOG_MAX_FILES",
        value_name = "LOG_MAX_FILES",
        default_value_t = 14
    )]
    pub log_max_files: usize,

    /// Bot token from @BotFather: `receiver login` signs the session in as that bot instead of
    /// asking for a phone number.
    #[arg(long, env = "TG_BOT_TOKEN", value_name = "TG_BOT_TOKEN", hide_env_values = true,
          value_parser = parse_secret)]
    pub bot_token: Option<SecretString>,

    /// Session name; the file is `<name>.session` (shared with the sender process).
    #[arg(
        long,
        env = "TG_SESSION_NAME",
        value_name = "TG_SESSION_NAME",
        default_value = "sessions/tg_userbot"
    )]
    pub session_name: String,

    /// The account's phone number for `account_phone_number` in payloads; defaults to the
    /// phone Telegram reports for the signed-in account.
    #[arg(long, env = "TG_PHONE_NUMBER", value_name = "TG_PHONE_NUMBER",
          value_parser = parse_phone)]
    pub phone_number: Option<String>,

    /// Where every incoming message is POSTed (http or https). Unset: stdout only.
    #[arg(long, env = "WEBHOOK_URL", value_name = "WEBHOOK_URL", value_parser = parse_webhook_url)]
    pub webhook_url: Option<Url>,

    /// Sent as the `x-api-key` header of every webhook request (omitted when unset).
    #[arg(long, env = "WEBHOOK_API_KEY", value_name = "WEBHOOK_API_KEY", hide_env_values = true,
          value_parser = parse_secret)]
    pub webhook_api_key: Option<SecretString>,

    /// Timeout of one webhook request, in seconds.
    #[arg(long, env = "WEBHOOK_TIMEOUT", value_name = "WEBHOOK_TIMEOUT", default_value = "10",
          value_parser = parse_seconds)]
    pub webhook_timeout: Duration,

    /// Scheme (`http` or `https`, or an http(s) base URL) of the public media URLs.
    #[arg(long, env = "PUBLIC_BASE_URL", value_name = "PUBLIC_BASE_URL", default_value = "http",
          value_parser = parse_public_base)]
    pub public_base_url: String,

    /// Host name of the public media URLs.
    #[arg(long, env = "PUBLIC_MEDIA_HOST", value_name = "PUBLIC_MEDIA_HOST",
          default_value = "localhost", value_parser = parse_host)]
    pub public_media_host: String,

    /// Port of the public media URLs.
    #[arg(long, env = "PUBLIC_MEDIA_PORT", value_name = "PUBLIC_MEDIA_PORT", default_value = "8181",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub public_media_port: u16,

    /// Directory the downloaded media is stored in and served from (created when missing).
    #[arg(
        long,
        env = "MEDIA_DIR",
        value_name = "MEDIA_DIR",
        default_value = "userbot_media"
    )]
    pub media_dir: PathBuf,

    /// Listen address of the `/media` and `/healthz` HTTP server.
    #[arg(
        long,
        env = "MEDIA_BIND",
        value_name = "MEDIA_BIND",
        default_value = "0.0.0.0:8181"
    )]
    pub media_bind: SocketAddr,

    /// Largest file downloaded, in bytes; larger media is announced with
    /// `"skipped": "too_large"` and no URL.
    #[arg(long, env = "MEDIA_MAX_BYTES", value_name = "MEDIA_MAX_BYTES", default_value = "52428800",
          value_parser = parse_bytes)]
    pub media_max_bytes: u64,

    /// How long a downloaded file is kept, in seconds (default 7 days).
    #[arg(long, env = "MEDIA_TTL", value_name = "MEDIA_TTL", default_value = "604800",
          value_parser = parse_ttl)]
    pub media_ttl: Duration,

    /// Ceiling of the bytes kept in `MEDIA_DIR`: the oldest files are deleted first to stay
    /// under it; a file that cannot fit is announced with `"skipped": "disk_full"`.
    #[arg(long, env = "MEDIA_MAX_DISK_BYTES", value_name = "MEDIA_MAX_DISK_BYTES",
          default_value = "2147483648", value_parser = parse_bytes)]
    pub media_max_disk_bytes: u64,

    /// Downloads running at the same time, over all chats.
    #[arg(long, env = "MEDIA_DOWNLOAD_CONCURRENCY", value_name = "MEDIA_DOWNLOAD_CONCURRENCY",
          default_value = "4", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub media_download_concurrency: u16,

    /// The outbox file (SQLite); default `<TG_SESSION_NAME>.outbox`, next to the session.
    /// `:memory:` keeps it in memory: nothing undelivered survives a restart, which starts
    /// from now.
    #[arg(long, env = "OUTBOX_PATH", value_name = "OUTBOX_PATH")]
    pub outbox_path: Option<PathBuf>,

    /// Body shape: `legacy` (the payload with `message`, plus `update_id` and `event`) or
    /// `bot_api` (a Bot API `Update`).
    #[arg(
        long,
        env = "WEBHOOK_FORMAT",
        value_name = "WEBHOOK_FORMAT",
        value_enum,
        default_value = "legacy"
    )]
    pub webhook_format: WebhookFormat,

    /// Sent as `X-Telegram-Bot-Api-Secret-Token` (as Telegram does for bot webhooks).
    #[arg(long, env = "WEBHOOK_SECRET_TOKEN", value_name = "WEBHOOK_SECRET_TOKEN",
          hide_env_values = true, value_parser = parse_secret)]
    pub webhook_secret_token: Option<SecretString>,

    /// `whsec_<base64>`: sign every request (Standard Webhooks `webhook-signature`).
    #[arg(long, env = "WEBHOOK_SIGNING_SECRET", value_name = "WEBHOOK_SIGNING_SECRET",
          hide_env_values = true, value_parser = parse_signing_secret)]
    pub webhook_signing_secret: Option<SigningSecret>,

    /// Webhook requests in flight at once (one per chat at most).
    #[arg(long, env = "WEBHOOK_MAX_CONNECTIONS", value_name = "WEBHOOK_MAX_CONNECTIONS",
          default_value = "40", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub webhook_max_connections: u16,

    /// Updates grammers holds for the receiver before it stores them (its update channel).
    /// When the outbox falls behind, grammers drops what does not fit and the receiver fetches
    /// it again with `updates.getDifference` (patched grammers-mtsender, see
    /// `vendor/grammers-mtsender/PATCH.md`): a larger queue costs memory under overload, never
    /// correctness.
    #[arg(long, env = "UPDATES_QUEUE", value_name = "UPDATES_QUEUE",
          default_value_t = crate::app::UPDATES_CAPACITY,
          value_parser = clap::value_parser!(u32).range(1..=100_000).map(|n| n as usize))]
    pub updates_queue: usize,

    /// Delay after the first failed attempt, in seconds; it doubles each time.
    #[arg(long, env = "WEBHOOK_RETRY_MIN_DELAY", value_name = "WEBHOOK_RETRY_MIN_DELAY",
          default_value = "1", value_parser = parse_seconds)]
    pub webhook_retry_min_delay: Duration,

    /// Longest delay between two attempts, in seconds.
    #[arg(long, env = "WEBHOOK_RETRY_MAX_DELAY", value_name = "WEBHOOK_RETRY_MAX_DELAY",
          default_value = "60", value_parser = parse_seconds)]
    pub webhook_retry_max_delay: Duration,

    /// Age in seconds after which a failing update becomes a dead letter (default 24 h).
    #[arg(long, env = "WEBHOOK_MAX_AGE", value_name = "WEBHOOK_MAX_AGE", default_value = "86400",
          value_parser = parse_whole_seconds)]
    pub webhook_max_age: Duration,

    /// Also forward messages this account sends (from any device or the sender).
    #[arg(long, env = "FORWARD_OUTGOING", value_name = "FORWARD_OUTGOING",
          default_value = "false", action = clap::ArgAction::Set)]
    pub forward_outgoing: bool,

    /// Comma-separated Bot API chat ids; when set, only these chats are forwarded.
    #[arg(long, env = "ALLOWED_CHAT_IDS", value_name = "ALLOWED_CHAT_IDS", value_delimiter = ',',
          value_parser = parse_chat_id)]
    pub allowed_chat_ids: Vec<i64>,

    /// Comma-separated Bot API chat ids never forwarded.
    #[arg(long, env = "IGNORED_CHAT_IDS", value_name = "IGNORED_CHAT_IDS", value_delimiter = ',',
          value_parser = parse_chat_id)]
    pub ignored_chat_ids: Vec<i64>,

    /// Comma-separated update kinds to forward (default all): message, edited_message,
    /// channel_post, edited_channel_post, deleted_messages, message_reaction_count,
    /// callback_query.
    #[arg(
        long,
        env = "ALLOWED_UPDATES",
        value_name = "ALLOWED_UPDATES",
        value_delimiter = ',',
        value_enum
    )]
    pub allowed_updates: Vec<UpdateKind>,

    /// How long a shutdown (SIGTERM, Ctrl-C) waits for media downloads and webhook attempts
    /// in flight, in seconds, counted from the signal. What is unfinished then stays in the
    /// outbox and resumes at the next start. Keep it under the container engine's grace
    /// period (`stop_grace_period` in docker-compose.yml, 30 s; Docker's default is 10 s).
    #[arg(long, env = "SHUTDOWN_DRAIN_TIMEOUT", value_name = "SHUTDOWN_DRAIN_TIMEOUT",
          default_value = "8", value_parser = parse_seconds)]
    pub shutdown_drain_timeout: Duration,

    /// Also write every forwarded update as JSON under this directory
    /// (`context_date=YYYY-MM-DD/<timestamp>_<update_id>.json`).
    #[arg(long, env = "ARCHIVE_DIR", value_name = "ARCHIVE_DIR")]
    pub archive_dir: Option<PathBuf>,

    /// `NATS_URL` (with `NATS_CREDS`, `NATS_SUBJECT_PREFIX`, `NATS_STREAM`,
    /// `NATS_DUPLICATE_WINDOW`): also publish every update to JetStream ([`crate::nats`]).
    #[command(flatten)]
    pub nats: crate::nats::NatsConfig,

    /// `DATABASE_URL` (with `INSTANCE_ID`, `CLUSTER_LEASE_SECONDS`, `CLUSTER_MAX_ACCOUNTS`,
    /// `CLUSTER_SENDER_URL`): several instances share the accounts through Postgres
    /// ([`crate::cluster`]).
    #[command(flatten)]
    pub cluster: ops::cluster::ClusterSettings,

    /// The account directory (`SESSIONS_DIR`): when set, the receiver serves every account
    /// whose session file `<name>.session` lives there, beside the `TG_SESSION_NAME` one
    /// ([`crate::accounts`]); unset: that one account only.
    #[arg(long, env = "SESSIONS_DIR", value_name = "SESSIONS_DIR")]
    pub sessions_dir: Option<PathBuf>,

    /// Path between the media origin and `/media/<name>` in media URLs: empty for one account,
    /// `/accounts/<name>` for an account of `SESSIONS_DIR` (set by [`crate::accounts`]).
    #[arg(skip)]
    pub media_url_prefix: String,

    /// The account's name in `SESSIONS_DIR` (set by [`crate::accounts`]); it starts each
    /// stdout line (`[name] message update_id=…`). `None` for one account.
    #[arg(skip)]
    pub account_name: Option<String>,
}

impl Config {
    /// This configuration for account `entry` of `SESSIONS_DIR`: its session; its outbox beside
    /// it; media in `MEDIA_DIR/<name>` served under `/accounts/<name>/media/`; archive in
    /// `ARCHIVE_DIR/<name>`; the webhook settings and filters its settings file sets (the
    /// others stay the environment's). Errors name the setting and the file, never a secret.
    pub fn for_account(&self, entry: &ops::accounts::AccountEntry) -> Result<Self, String> {
        let name = &entry.name;
        let settings = &entry.settings;
        let bad = |field: &str, e: String| {
            format!("{name}{}: {field}: {e}", ops::accounts::SETTINGS_SUFFIX)
        };
        let mut config = self.clone();
        config.session_name = entry.session_name.to_string_lossy().into_owned();
        config.outbox_path = None;
        config.media_dir = self.media_dir.join(name);
        config.archive_dir = self.archive_dir.as_ref().map(|d| d.join(name));
        config.media_url_prefix = format!("/accounts/{name}");
        config.account_name = Some(name.clone());
        config.phone_number = None;
        config.bot_token = None;
        if let Some(url) = &settings.webhook_url {
            config.webhook_url =
                Some(parse::parse_webhook_url(url).map_err(|e| bad("webhook_url", e))?);
        }
        if let Some(key) = &settings.webhook_api_key {
            config.webhook_api_key =
                Some(parse::parse_secret(key).map_err(|e| bad("webhook_api_key", e))?);
        }
        if let Some(token) = &settings.webhook_secret_token {
            config.webhook_secret_token =
                Some(parse::parse_secret(token).map_err(|e| bad("webhook_secret_token", e))?);
        }
        if let Some(secret) = &settings.webhook_signing_secret {
            config.webhook_signing_secret = Some(
                parse::parse_signing_secret(secret)
                    .map_err(|e| bad("webhook_signing_secret", e))?,
            );
        }
        if let Some(chats) = &settings.allowed_chat_ids {
            config.allowed_chat_ids = chats.clone();
        }
        if let Some(chats) = &settings.ignored_chat_ids {
            config.ignored_chat_ids = chats.clone();
        }
        if let Some(kinds) = &settings.allowed_updates {
            config.allowed_updates = kinds
                .iter()
                .map(|k| {
                    <UpdateKind as clap::ValueEnum>::from_str(k, true)
                        .map_err(|_| bad("allowed_updates", format!("unknown update kind {k:?}")))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(format) = &settings.webhook_format {
            config.webhook_format = <WebhookFormat as clap::ValueEnum>::from_str(format, true)
                .map_err(|_| bad("webhook_format", "must be legacy or bot_api".into()))?;
        }
        Ok(config)
    }

    /// The session file this configuration names (`TG_SESSION_NAME` + `.session`).
    pub fn session_path(&self) -> PathBuf {
        session::SessionStore::path_for_name(&self.session_name)
    }

    /// The outbox file: `OUTBOX_PATH`, else the session name + `.outbox`.
    pub fn outbox_path(&self) -> PathBuf {
        match &self.outbox_path {
            Some(path) => path.clone(),
            None => {
                let name = self.session_name.trim_end_matches(".session");
                PathBuf::from(format!("{name}.outbox"))
            }
        }
    }

    /// The retry settings from `WEBHOOK_RETRY_*`, `WEBHOOK_MAX_AGE`, `WEBHOOK_MAX_CONNECTIONS`.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            first_delay: self.webhook_retry_min_delay,
            max_delay: self
                .webhook_retry_max_delay
                .max(self.webhook_retry_min_delay),
            max_age: self.webhook_max_age,
            max_connections: usize::from(self.webhook_max_connections),
        }
    }

    /// What is forwarded and in which format (`account_phone` from the caller).
    pub fn normalizer(&self, account_phone: Option<String>) -> Normalizer {
        Normalizer {
            format: self.webhook_format,
            account_phone,
            account_id: None,
            forward_outgoing: self.forward_outgoing,
            allowed_chats: self.allowed_chat_ids.clone(),
            ignored_chats: self.ignored_chat_ids.clone(),
            allowed_kinds: self.allowed_updates.clone(),
        }
    }

    /// Where media URLs point: `<scheme>://PUBLIC_MEDIA_HOST[:PUBLIC_MEDIA_PORT]`, the scheme
    /// taken from `PUBLIC_BASE_URL` and the port left out when it is the scheme's default
    /// (80 for http, 443 for https). A media URL is this plus `/media/<name>`.
    pub fn public_media_origin(&self) -> String {
        let scheme = match self.public_base_url.split_once("://") {
            Some((scheme, _)) => scheme.to_ascii_lowercase(),
            None => self.public_base_url.to_ascii_lowercase(),
        };
        let default_port = if scheme == "https" { 443 } else { 80 };
        let host = &self.public_media_host;
        // An IPv6 literal needs brackets in a URL.
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        if self.public_media_port == default_port {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{}", self.public_media_port)
        }
    }
}

mod parse;
#[cfg(test)]
mod tests;
