//! Operations routes on the receiver's HTTP port (beside `/media`): `GET /healthz` (the
//! process is up), `GET /readyz` (Telegram connected and the outbox writable), `GET /status`
//! (pending count, oldest pending age, dead letters; with the key also the webhook URL and the
//! last error), `GET /metrics` (Prometheus), and the dead letters: `GET /dead-letters`,
//! `POST /dead-letters/replay`, `POST /dead-letters/{update_id}/replay`.
//!
//! The port is published for `/media`, so anything that reveals or changes delivery needs
//! `x-api-key: WEBHOOK_API_KEY` (the key the webhook consumer already holds; compared in
//! constant time). Without a configured `WEBHOOK_API_KEY` the dead-letter routes answer 403
//! and `/status` shows counts only; `receiver dead-letters` on the host works either way.
//! `/healthz`, `/readyz` and `/metrics` stay open (probes and scrapers send no key).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq as _;

use crate::deliver::DeliveryWake;
use crate::pipeline::Health;
use outbox::{Outbox, now_ms};

/// What the routes read.
#[derive(Clone)]
pub struct StatusState {
    pub(crate) outbox: Arc<Outbox>,
    /// Update stream health.
    pub health: Arc<Health>,
    /// `WEBHOOK_URL` without credentials, if set.
    pub target:
        tokio::sync::watch::Receiver<Option<std::sync::Arc<crate::webhook::target::Active>>>,
    /// Guards the dead-letter routes.
    pub api_key: Option<SecretString>,
    /// Wakes the scheduler after a replay.
    pub wake: Arc<DeliveryWake>,
    pub(crate) metrics: PrometheusHandle,
}

/// The routes, to merge into the media router.
pub fn router(state: StatusState) -> Router {
    Router::new()
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/dead-letters", get(dead_letters))
        .route("/dead-letters/replay", post(replay_all))
        .route("/dead-letters/{update_id}/replay", post(replay_one))
        .with_state(state.clone())
        .merge(ops::metrics::route(state.metrics))
}

async fn readyz(State(s): State<StatusState>) -> Response {
    let telegram = s.health.telegram_ok();
    let store = s.outbox.writable().await;
    let code = if telegram && store {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(json!({"telegram": telegram, "store_writable": store})),
    )
        .into_response()
}

async fn status(State(s): State<StatusState>, headers: HeaderMap) -> Response {
    let details = refusal(&s, &headers).is_none();
    let stats = match s.outbox.stats().await {
        Ok(stats) => s.outbox.sink_stats().await.map(|sink| (stats, sink)),
        Err(e) => Err(e),
    };
    match stats {
        Ok((stats, sink)) => {
            let mut body = json!({
                "pending": stats.pending,
                "oldest_pending_age_seconds": stats.oldest_pending_at
                    .map(|at| (now_ms() - at).max(0) as f64 / 1000.0),
                "dead_letters": stats.dead_letters,
                "nats_pending": sink.pending,
                "nats_dead_letters": sink.dead,
            });
            if details {
                let target = s.target.borrow().clone();
                body["webhook_url"] = json!(
                    target
                        .as_ref()
                        .map(|t| crate::webhook::target::redacted(t.client.url()))
                );
                body["webhook_source"] = json!(target.map(|t| t.source));
                body["last_error"] = json!(stats.last_error);
                body["last_error_at"] = json!(stats.last_error_at.and_then(iso));
            }
            Json(body).into_response()
        }
        Err(e) => internal(e),
    }
}

fn iso(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339())
}

fn internal(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": e.to_string()})),
    )
        .into_response()
}

/// `x-api-key` must equal `WEBHOOK_API_KEY` (constant-time compare); with no key configured
/// the routes are off. `Some` is the refusal to send.
fn refusal(s: &StatusState, headers: &HeaderMap) -> Option<Response> {
    let Some(key) = &s.api_key else {
        return Some(
            (
                StatusCode::FORBIDDEN,
                Json(
                    json!({"error": "WEBHOOK_API_KEY is not set: the dead-letter routes are off \
                (use `receiver dead-letters` on the host, or set the key)"}),
                ),
            )
                .into_response(),
        );
    };
    let given = headers
        .get(crate::webhook::API_KEY_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if bool::from(given.ct_eq(key.expose_secret().as_bytes())) {
        None
    } else {
        Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "x-api-key missing or wrong"})),
            )
                .into_response(),
        )
    }
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<u32>,
}

async fn dead_letters(
    State(s): State<StatusState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    if let Some(refused) = refusal(&s, &headers) {
        return refused;
    }
    match s
        .outbox
        .dead_letters(q.limit.unwrap_or(100).min(1000))
        .await
    {
        Ok(list) => Json(json!({"dead_letters": list})).into_response(),
        Err(e) => internal(e),
    }
}

async fn replay(s: &StatusState, headers: &HeaderMap, id: Option<i64>) -> Response {
    if let Some(refused) = refusal(s, headers) {
        return refused;
    }
    match s.outbox.replay(id).await {
        Ok(count) => {
            s.wake.rescan();
            Json(json!({"replayed": count})).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn replay_all(State(s): State<StatusState>, headers: HeaderMap) -> Response {
    replay(&s, &headers, None).await
}

async fn replay_one(
    State(s): State<StatusState>,
    headers: HeaderMap,
    Path(update_id): Path<i64>,
) -> Response {
    replay(&s, &headers, Some(update_id)).await
}
