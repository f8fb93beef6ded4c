//! The NATS JetStream sink: with `NATS_URL` set, every stored update is also published to a
//! JetStream stream — beside the webhook when `WEBHOOK_URL` is set, instead of it when not.
//!
//! - Subject: `<prefix>.<account>.update.<kind>.<chat>` ([`update_subject`]): `<prefix>` is
//!   `NATS_SUBJECT_PREFIX` (`tg`), `<account>` the account's user id, `<kind>` the
//!   `allowed_updates` name (`message`, `edited_message`, …), `<chat>` the Bot API chat id with
//!   a leading `m` for minus (`-1001234567890` → `m1001234567890`; `0` when Telegram does not
//!   say, as for deletions in private chats).
//! - Stream: `NATS_STREAM` (`TG_UPDATES`) on `<prefix>.*.update.>`, created at the first
//!   connection when missing (file storage, duplicate window `NATS_DUPLICATE_WINDOW`); an
//!   existing stream is used as it is.
//! - Message: the webhook body (either `WEBHOOK_FORMAT`), header `Nats-Msg-Id` = the
//!   `webhook-id`, so JetStream drops a re-publish within the duplicate window.
//! - Delivery ([`sink::Sink`]): an update counts as delivered only on the stream's publish
//!   acknowledgement; a chat's next update is published only after its previous one was
//!   acknowledged, so per-chat order holds in the stream; failures (server down, no
//!   acknowledgement in time) are retried with the webhook's backoff and become dead letters
//!   after `WEBHOOK_MAX_AGE`, from the outbox's own queue (`outbox::sink`), so a crash or
//!   restart loses nothing either.

pub mod sink;

use std::time::Duration;

use async_nats::jetstream::{self, stream};

/// `NATS_STREAM` when unset.
pub const DEFAULT_STREAM: &str = "TG_UPDATES";

/// The receiver's NATS settings: the shared connection settings plus the stream.
#[derive(Clone, Debug, clap::Args)]
pub struct NatsConfig {
    /// `NATS_URL`, `NATS_CREDS`, `NATS_SUBJECT_PREFIX` (shared with the sender).
    #[command(flatten)]
    pub connection: ops::nats::NatsSettings,
    /// JetStream stream the updates go to (`NATS_STREAM`), created when missing.
    #[arg(
        long = "nats-stream",
        env = "NATS_STREAM",
        value_name = "NATS_STREAM",
        default_value = DEFAULT_STREAM,
        value_parser = parse_stream
    )]
    pub stream: String,
    /// Duplicate window of a stream the receiver creates (`NATS_DUPLICATE_WINDOW`, seconds,
    /// default 7200): a re-publish of an update within it is dropped by JetStream.
    #[arg(
        long = "nats-duplicate-window",
        env = "NATS_DUPLICATE_WINDOW",
        value_name = "NATS_DUPLICATE_WINDOW",
        default_value = "7200",
        value_parser = parse_window
    )]
    pub duplicate_window: Duration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            connection: ops::nats::NatsSettings::default(),
            stream: DEFAULT_STREAM.to_owned(),
            duplicate_window: Duration::from_secs(7200),
        }
    }
}

impl NatsConfig {
    /// Whether the sink is on (`NATS_URL` set).
    pub fn enabled(&self) -> bool {
        self.connection.url.is_some()
    }
}

fn parse_stream(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(value.to_owned())
    } else {
        Err("NATS_STREAM must be letters, digits, '-' and '_' (e.g. TG_UPDATES)".into())
    }
}

fn parse_window(value: &str) -> Result<Duration, String> {
    match value.trim().parse::<u64>() {
        Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
        _ => Err("NATS_DUPLICATE_WINDOW must be a whole number of seconds above 0".into()),
    }
}

/// The subject token of a Bot API chat id: digits, with `m` for a minus sign.
pub fn chat_token(chat_id: i64) -> String {
    if chat_id < 0 {
        format!("m{}", chat_id.unsigned_abs())
    } else {
        chat_id.to_string()
    }
}

/// `<prefix>.<account>.update.<kind>.<chat>`.
pub fn update_subject(prefix: &str, account: i64, kind: &str, chat_id: i64) -> String {
    format!("{prefix}.{account}.update.{kind}.{}", chat_token(chat_id))
}

/// The subjects of a stream the receiver creates: every account's updates under `prefix`.
pub fn stream_subjects(prefix: &str) -> String {
    format!("{prefix}.*.update.>")
}

/// Where and how to publish.
#[derive(Clone)]
pub struct Publisher {
    jetstream: jetstream::Context,
    config: NatsConfig,
    account: i64,
}

/// Why a publish did not count.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The server did not take the message or did not acknowledge it (down, timeout, no
    /// stream for the subject, …).
    #[error("JetStream publish not acknowledged: {0}")]
    NotAcked(String),
}

impl Publisher {
    /// A publisher for `account` over `client`.
    pub fn new(client: async_nats::Client, config: NatsConfig, account: i64) -> Self {
        Self {
            jetstream: jetstream::new(client),
            config,
            account,
        }
    }

    /// Creates the stream unless it exists (then it is left as it is). Errors: the server is
    /// unreachable or refuses (e.g. subjects overlapping another stream's).
    pub async fn ensure_stream(&self) -> Result<(), String> {
        let prefix = &self.config.connection.subject_prefix;
        self.jetstream
            .get_or_create_stream(stream::Config {
                name: self.config.stream.clone(),
                subjects: vec![stream_subjects(prefix)],
                storage: stream::StorageType::File,
                duplicate_window: self.config.duplicate_window,
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// The stream's name (`NATS_STREAM`).
    pub fn stream(&self) -> &str {
        &self.config.stream
    }

    /// Publishes `body` on the subject of (`kind`, `chat_id`) with `Nats-Msg-Id` =
    /// `webhook_id` and waits for the acknowledgement; `Ok(true)` when JetStream says it
    /// already had that id (a re-publish it dropped).
    pub async fn publish(
        &self,
        kind: &str,
        chat_id: i64,
        webhook_id: &str,
        body: String,
    ) -> Result<bool, PublishError> {
        let subject = update_subject(
            &self.config.connection.subject_prefix,
            self.account,
            kind,
            chat_id,
        );
        let message = jetstream::message::PublishMessage::build()
            .payload(body.into())
            .message_id(webhook_id);
        let ack = self
            .jetstream
            .send_publish(subject, message)
            .await
            .map_err(|e| PublishError::NotAcked(e.to_string()))?
            .await
            .map_err(|e| PublishError::NotAcked(e.to_string()))?;
        Ok(ack.duplicate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_carry_account_kind_and_a_subject_safe_chat() {
        assert_eq!(
            update_subject("tg", 100000001, "message", -1001234567890),
            "tg.100000001.update.message.m1001234567890"
        );
        assert_eq!(
            update_subject("tg.prod", 7, "edited_message", 200000001),
            "tg.prod.7.update.edited_message.200000001"
        );
        assert_eq!(chat_token(0), "0");
        assert_eq!(chat_token(i64::MIN), "m9223372036854775808");
        assert_eq!(stream_subjects("tg"), "tg.*.update.>");
    }

    #[test]
    fn stream_names_and_windows_are_checked() {
        assert!(parse_stream("TG_UPDATES-2").is_ok());
        for bad in ["", "TG.UPDATES", "a b", "x>"] {
            assert!(parse_stream(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_window("60"), Ok(Duration::from_secs(60)));
        assert!(parse_window("0").is_err() && parse_window("1m").is_err());
    }
}
