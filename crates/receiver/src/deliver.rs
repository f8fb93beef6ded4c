//! The delivery scheduler: reads every chat's oldest open outbox row and POSTs the ready ones,
//! at most `WEBHOOK_MAX_CONNECTIONS` at a time and one per chat (so a chat's later update
//! waits for its earlier one while other chats go on). A failed attempt is retried with
//! exponential backoff and jitter, computed from the stored attempt count so it survives
//! restarts, and never sooner than the webhook's `Retry-After`; past `WEBHOOK_MAX_AGE` the
//! row becomes a dead letter and its chat moves on.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::{debug, error, warn};

use crate::outbox::{Due, Outbox, Outcome, now_ms};
use crate::webhook::WebhookClient;

/// Longest wait between two looks at the outbox (a safety net; changes notify at once).
const IDLE_RECHECK: Duration = Duration::from_secs(5);
/// How long after delivery a row is kept for de-duplicating replays.
const KEEP_DELIVERED: Duration = Duration::from_secs(7 * 24 * 3600);

/// How patiently updates are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure (`WEBHOOK_RETRY_MIN_DELAY`); doubles each time.
    pub first_delay: Duration,
    /// Upper bound of one delay (`WEBHOOK_RETRY_MAX_DELAY`).
    pub max_delay: Duration,
    /// Age after which a failing update becomes a dead letter (`WEBHOOK_MAX_AGE`).
    pub max_age: Duration,
    /// Attempts in flight at once (`WEBHOOK_MAX_CONNECTIONS`).
    pub max_connections: usize,
}

impl Default for RetryPolicy {
    /// 1 s doubling to 60 s, dead after 24 h, 40 connections.
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_age: Duration::from_secs(24 * 3600),
            max_connections: 40,
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `failures + 1`: `first_delay · 2^(failures-1)` capped at
    /// `max_delay`, jittered to between half and all of it, and at least `retry_after`.
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .first_delay
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = half.mul_f64(rand::random::<f64>());
        (half + jitter).max(retry_after.unwrap_or_default())
    }
}

/// Everything the scheduler needs.
pub struct Deliverer {
    /// The outbox.
    pub outbox: Arc<Outbox>,
    /// The webhook.
    pub client: WebhookClient,
    /// Retry settings.
    pub policy: RetryPolicy,
    /// Rung whenever a row becomes ready.
    pub wake: Arc<Notify>,
}

/// When the pending gauge was last refreshed, unix ms (the gauge itself is process-wide).
static GAUGE_REFRESHED_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

impl Deliverer {
    /// Whether a second has passed since the pending gauge was last refreshed.
    fn gauge_due(&self) -> bool {
        use std::sync::atomic::Ordering;
        let now = crate::outbox::now_ms();
        let last = GAUGE_REFRESHED_MS.load(Ordering::Relaxed);
        now - last >= 1000
            && GAUGE_REFRESHED_MS
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Runs until `stop` turns true, then waits for the attempts in flight (the caller bounds
    /// that with its drain deadline); rows not attempted stay in the outbox.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let mut in_flight: HashSet<i64> = HashSet::new();
        let mut attempts: JoinSet<i64> = JoinSet::new();
        let mut next_prune = now_ms();
        while !*stop.borrow() {
            let wait = this.start_due(&mut in_flight, &mut attempts).await;
            if now_ms() >= next_prune {
                next_prune = now_ms() + 3_600_000;
                let before = now_ms() - KEEP_DELIVERED.as_millis() as i64;
                if let Err(e) = this.outbox.prune_delivered(before).await {
                    warn!(error = %e, "could not prune delivered updates");
                }
            }
            tokio::select! {
                () = this.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                Some(done) = attempts.join_next() => match done {
                    Ok(chat) => { in_flight.remove(&chat); }
                    Err(e) => error!(error = %e, "delivery attempt task failed"),
                },
                _ = stop.wait_for(|s| *s) => {}
            }
            // Collect every finished attempt before looking at the outbox again.
            while let Some(done) = attempts.try_join_next() {
                if let Ok(chat) = done {
                    in_flight.remove(&chat);
                }
            }
        }
        while attempts.join_next().await.is_some() {}
    }

    /// Starts an attempt for every due head whose chat is idle, within the connection limit.
    /// Returns how long to sleep before the next retry is due.
    async fn start_due(
        self: &Arc<Self>,
        in_flight: &mut HashSet<i64>,
        attempts: &mut JoinSet<i64>,
    ) -> Duration {
        let heads = match self.outbox.heads().await {
            Ok(heads) => heads,
            Err(e) => {
                error!(error = %e, "cannot read the outbox");
                return Duration::from_secs(1);
            }
        };
        let now = now_ms();
        let mut wait = IDLE_RECHECK;
        let pending = heads.len();
        for due in heads {
            if !due.ready || in_flight.contains(&due.chat_id) {
                continue;
            }
            if due.next_attempt_at > now {
                let until = Duration::from_millis((due.next_attempt_at - now) as u64);
                wait = wait.min(until);
                continue;
            }
            if in_flight.len() >= self.policy.max_connections {
                break;
            }
            in_flight.insert(due.chat_id);
            let this = self.clone();
            attempts.spawn(async move {
                let chat = due.chat_id;
                this.attempt(due).await;
                chat
            });
        }
        // The gauge is refreshed at most once a second, not on every pass: counting the
        // backlog on each delivery made a deep backlog quadratic.
        if self.gauge_due()
            && let Ok(stats) = self.outbox.stats().await
        {
            metrics::gauge!(ops::metrics::DELIVERY_PENDING).set(stats.pending as f64);
        }
        debug!(
            heads = pending,
            in_flight = in_flight.len(),
            "delivery pass"
        );
        wait
    }

    /// One attempt and its bookkeeping.
    async fn attempt(&self, due: Due) {
        let started = std::time::Instant::now();
        let result = self.client.attempt(&due.webhook_id, due.body).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        let now = now_ms();
        let outcome = match &result {
            Ok(()) => {
                metrics::counter!(ops::metrics::DELIVERIES, "outcome" => "ok").increment(1);
                let age = (now - due.received_at).max(0) as f64 / 1000.0;
                metrics::histogram!(ops::metrics::DELIVERY_LATENCY).record(age);
                debug!(
                    update_id = due.id,
                    chat_id = due.chat_id,
                    latency_ms,
                    "delivered"
                );
                Outcome::Delivered
            }
            Err(e) if now - due.received_at >= self.policy.max_age.as_millis() as i64 => {
                metrics::counter!(ops::metrics::DELIVERIES, "outcome" => "failed").increment(1);
                error!(update_id = due.id, chat_id = due.chat_id, kind = %due.kind,
                       attempts = due.attempts + 1, error = %e,
                       "update older than WEBHOOK_MAX_AGE; moved to the dead letters");
                Outcome::Dead {
                    error: e.to_string(),
                }
            }
            Err(e) => {
                metrics::counter!(ops::metrics::DELIVERIES, "outcome" => "retried").increment(1);
                let delay = self.policy.delay(due.attempts + 1, e.retry_after());
                warn!(update_id = due.id, chat_id = due.chat_id, attempt = due.attempts + 1,
                      status = ?e.status(), latency_ms, retry_in_ms = delay.as_millis() as u64,
                      error = %e, "webhook delivery attempt failed");
                Outcome::Retry {
                    error: e.to_string(),
                    retry_at: now + delay.as_millis() as i64,
                }
            }
        };
        if let Err(e) = self.outbox.record(due.id, &outcome).await {
            // The row stays as it was: it is attempted again (at least once).
            error!(update_id = due.id, error = %e, "cannot record a delivery outcome");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_to_the_cap_with_jitter_and_honour_retry_after() {
        let policy = RetryPolicy::default();
        for (failures, full) in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (30, 60)] {
            let d = policy.delay(failures, None);
            let full = Duration::from_secs(full);
            assert!(d >= full / 2 && d <= full, "{failures}: {d:?}");
        }
        let d = policy.delay(1, Some(Duration::from_secs(120)));
        assert_eq!(d, Duration::from_secs(120));
    }
}
