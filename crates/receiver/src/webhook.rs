//! Webhook delivery: one reqwest client, POST JSON with `x-api-key`, bounded retries with
//! exponential backoff and jitter (backon), and an in-order delivery worker fed by a queue.
//!
//! Deliberately absent (a later issue): a durable outbox. Payloads still queued or retrying
//! when the process stops past its drain deadline are lost.

use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use botapi::payload::WebhookPayload;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;
use tracing::{debug, warn};
use url::Url;

/// Header carrying `WEBHOOK_API_KEY`.
pub const API_KEY_HEADER: &str = "x-api-key";
/// Longest `Retry-After` the worker honours; longer values are capped (the queue is in memory).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How often and how patiently a payload is retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: usize,
    /// Delay before the second attempt; it doubles each time (with jitter).
    pub first_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 1 s doubling up to 30 s: about 15 s of retrying before giving up.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// The webhook answered with a non-2xx status.
    #[error("webhook answered {status}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// Its `Retry-After`, in seconds form or HTTP date, when given.
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused, timeout, TLS failure, ….
    #[error("webhook request failed: {0}")]
    Transport(#[source] reqwest::Error),
}

impl AttemptError {
    /// Whether trying again may help: transport errors, 408, 425, 429 and 5xx. Other 4xx mean
    /// the request itself is refused (bad key, wrong path), so repeating it cannot succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Status { status, .. } => {
                !status.is_client_error() || matches!(status.as_u16(), 408 | 425 | 429)
            }
        }
    }
}

/// POSTs payloads to `WEBHOOK_URL`. Cheap to clone (reqwest's client is shared).
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    url: Url,
    policy: RetryPolicy,
}

impl std::fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The default headers hold the API key.
        f.debug_struct("WebhookClient")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl WebhookClient {
    /// Builds the HTTP client once: `timeout` per request, `x-api-key` as a sensitive default
    /// header when `api_key` is set. Errors when the key is not a valid header value or the
    /// TLS backend cannot start.
    pub fn new(
        url: Url,
        api_key: Option<&SecretString>,
        timeout: Duration,
        policy: RetryPolicy,
    ) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        if let Some(key) = api_key {
            let mut value = HeaderValue::from_str(key.expose_secret()).map_err(|_| {
                anyhow::anyhow!("WEBHOOK_API_KEY must be visible ASCII (it is sent as a header)")
            })?;
            value.set_sensitive(true);
            headers.insert(API_KEY_HEADER, value);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .default_headers(headers)
            .user_agent(concat!("tg-gateway-receiver/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, url, policy })
    }

    /// Delivers one payload, retrying as the policy says. Returns the last error when every
    /// attempt failed or the error is not retryable. Each failure is logged (status, latency,
    /// attempt; never the key).
    pub async fn deliver(&self, payload: &WebhookPayload) -> Result<(), AttemptError> {
        let body = match serde_json::to_vec(payload) {
            Ok(body) => body,
            Err(e) => {
                // Only an out-of-range date can fail; such a payload can never be sent.
                warn!(error = %e, message_id = payload.message.message_id, "payload not serializable; dropped");
                return Ok(());
            }
        };
        let message_id = payload.message.message_id;
        let chat_id = payload.message.chat.id;
        let mut attempt = 0usize;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.policy.first_delay)
            .with_max_delay(self.policy.max_delay)
            .with_max_times(self.policy.max_attempts.saturating_sub(1))
            .with_jitter();
        let send = || {
            attempt += 1;
            let attempt = attempt;
            let body = body.clone();
            async move {
                let started = Instant::now();
                let result = self.attempt(body).await;
                let latency_ms = started.elapsed().as_millis() as u64;
                match &result {
                    Ok(()) => debug!(
                        message_id,
                        chat_id, attempt, latency_ms, "webhook delivered"
                    ),
                    Err(e) => warn!(
                        message_id, chat_id, attempt, latency_ms,
                        status = ?status_of(e), error = %e,
                        "webhook delivery attempt failed"
                    ),
                }
                result
            }
        };
        send.retry(backoff)
            .sleep(tokio::time::sleep)
            .when(AttemptError::is_retryable)
            .adjust(|e, delay| {
                let retry_after = match e {
                    AttemptError::Status { retry_after, .. } => *retry_after,
                    AttemptError::Transport(_) => None,
                };
                // Retry-After raises the delay but never revives a spent budget.
                delay.map(|d| retry_after.map_or(d, |r| r.min(MAX_RETRY_AFTER).max(d)))
            })
            .await
    }

    async fn attempt(&self, body: Vec<u8>) -> Result<(), AttemptError> {
        let response = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
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

fn status_of(e: &AttemptError) -> Option<u16> {
    match e {
        AttemptError::Status { status, .. } => Some(status.as_u16()),
        AttemptError::Transport(_) => None,
    }
}

/// `Retry-After` as delta-seconds (the HTTP-date form is rare for webhooks and ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Delivers queued payloads one at a time, in order, until the queue is closed and empty.
pub async fn delivery_worker(client: WebhookClient, mut queue: mpsc::Receiver<WebhookPayload>) {
    while let Some(payload) = queue.recv().await {
        if let Err(e) = client.deliver(&payload).await {
            warn!(
                message_id = payload.message.message_id,
                chat_id = payload.message.chat.id,
                error = %e,
                "webhook delivery gave up; payload dropped"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> AttemptError {
        AttemptError::Status {
            status: StatusCode::from_u16(code).expect("valid status"),
            retry_after: None,
        }
    }

    #[test]
    fn server_errors_and_throttling_are_retried_but_refusals_are_not() {
        for code in [500, 502, 503, 408, 429] {
            assert!(status(code).is_retryable(), "{code}");
        }
        for code in [400, 401, 403, 404, 422] {
            assert!(!status(code).is_retryable(), "{code}");
        }
    }

    #[test]
    fn retry_after_seconds_are_parsed() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
