//! Probes without auth: `GET /healthz` (the process serves HTTP) and `GET /readyz` (the
//! session is signed in and Telegram answers). Neither names the account.

use axum::Json;
use axum::extract::State;

use crate::error::ApiError;
use crate::state::ServerState;

/// `GET /healthz`: 200 `{"ok":true}` while the process serves HTTP (no Telegram call).
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": true }))
}

/// `GET /readyz`: 200 `{"ok":true}` when the session is signed in and Telegram answered a
/// cheap call within the last [`crate::connection::READY_CHECK_TTL`]; otherwise 503
/// `{"ok":false,"error_code":503,"description":"Service Unavailable: …"}` (not signed in, or
/// Telegram unreachable).
pub async fn readyz(State(state): State<ServerState>) -> Result<Json<serde_json::Value>, ApiError> {
    state.connection.ready().await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}
