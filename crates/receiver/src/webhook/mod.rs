//! One webhook request: POST the stored JSON body with its headers — `x-api-key`,
//! `X-Telegram-Bot-Api-Secret-Token`, and the Standard Webhooks `webhook-id` (stable across
//! retries: the idempotency key), `webhook-timestamp` and `webhook-signature` ([`signing`]).
//! Retrying is the delivery scheduler's job ([`crate::deliver`]); this module says how one
//! attempt ended.

pub mod signing;
pub mod target;

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use signing::SigningSecret;

/// Header carrying `WEBHOOK_API_KEY`.
pub const API_KEY_HEADER: &str = "x-api-key";
/// Header carrying `WEBHOOK_SECRET_TOKEN`, as Telegram's own webhooks do.
pub const SECRET_TOKEN_HEADER: &str = "x-telegram-bot-api-secret-token";

/// What the client sends where.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// `WEBHOOK_URL`.
    pub url: Url,
    /// `WEBHOOK_API_KEY`, sent as `x-api-key`.
    pub api_key: Option<SecretString>,
    /// `WEBHOOK_SECRET_TOKEN`, sent as `X-Telegram-Bot-Api-Secret-Token`.
    pub secret_token: Option<SecretString>,
    /// `WEBHOOK_SIGNING_SECRET`: sign every request.
    pub signing: Option<SigningSecret>,
    /// Timeout of one attempt (`WEBHOOK_TIMEOUT`).
    pub timeout: Duration,
    /// Connections kept open to the webhook (`WEBHOOK_MAX_CONNECTIONS`).
    pub max_connections: usize,
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// The webhook answered with a non-2xx status.
    #[error("webhook answered {status}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// Its `Retry-After` in seconds form, when given.
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused, timeout, TLS failure, ….
    #[error("webhook request failed: {0}")]
    Transport(#[source] reqwest::Error),
}

impl AttemptError {
    /// The `Retry-After` the webhook asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            Self::Transport(_) => None,
        }
    }

    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(status.as_u16()),
            Self::Transport(_) => None,
        }
    }
}

/// POSTs bodies to `WEBHOOK_URL`. Cheap to clone (reqwest's client is shared).
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    url: Url,
    signing: Option<SigningSecret>,
}

impl std::fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The default headers hold the API key and secret token.
        f.debug_struct("WebhookClient")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

fn secret_header(value: &SecretString, name: &str) -> anyhow::Result<HeaderValue> {
    let mut value = HeaderValue::from_str(value.expose_secret())
        .map_err(|_| anyhow::anyhow!("{name} must be visible ASCII (it is sent as a header)"))?;
    value.set_sensitive(true);
    Ok(value)
}

impl WebhookClient {
    /// Builds the HTTP client once. Errors when a secret is not a valid header value or the
    /// TLS backend cannot start.
    pub fn new(settings: WebhookSettings) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &settings.api_key {
            headers.insert(API_KEY_HEADER, secret_header(key, "WEBHOOK_API_KEY")?);
        }
        if let Some(token) = &settings.secret_token {
            headers.insert(
                SECRET_TOKEN_HEADER,
                secret_header(token, "WEBHOOK_SECRET_TOKEN")?,
            );
        }
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(settings.max_connections)
            .default_headers(headers)
            .user_agent(concat!("tg-gateway-receiver/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            url: settings.url,
            signing: settings.signing,
        })
    }

    /// The webhook URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// One attempt: POST `body` with `webhook-id: webhook_id`, a fresh timestamp and, when
    /// signing, a signature over both. Ok on any 2xx.
    pub async fn attempt(&self, webhook_id: &str, body: String) -> Result<(), AttemptError> {
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(secret) = &self.signing {
            request = request.header(
                "webhook-signature",
                secret.sign(webhook_id, timestamp, &body),
            );
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| AttemptError::Transport(e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(AttemptError::Status {
            status,
            retry_after: retry_after(response.headers()),
        })
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date
        .signed_duration_since(chrono::Utc::now())
        .num_milliseconds();
    Some(Duration::from_millis(wait.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates_are_parsed() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
