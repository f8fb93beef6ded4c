//! Every HTTP route of the sender, in one list ([`router`]); one module per Bot API method family.
//!
//! Method paths follow the Bot API names (`/api_v1/sendMessage`); request bodies are JSON
//! ([`crate::extract::BotJson`]); answers are `{"ok":true,"result":…}` or the error envelope.

pub mod messages;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, middleware};
use tower_http::LatencyUnit;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::require_api_key;
use crate::error::ApiError;
use crate::state::AppState;

/// Largest accepted request body, bytes (50 MiB: room for the uploads later methods take).
pub const MAX_BODY_BYTES: usize = 50 * 1024 * 1024;

/// The whole HTTP API:
///
/// | route | auth | handler |
/// |---|---|---|
/// | `GET /healthz` | none | `{"ok":true}` |
/// | `POST /api_v1/sendMessage` | `x-api-key` | [`messages::send_message`] |
/// | `POST /api_v1/editMessageText` | `x-api-key` | [`messages::edit_message_text`] |
/// | `POST /api_v1/deleteMessage` | `x-api-key` | [`messages::delete_message`] |
///
/// Unknown `/api_v1/*` methods answer 404 "Not Found: method not found" (after auth; other
/// unknown paths without auth), a wrong HTTP method 405, a body over [`MAX_BODY_BYTES`] 413;
/// all with the error envelope.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/sendMessage", post(messages::send_message))
        .route("/editMessageText", post(messages::edit_message_text))
        .route("/deleteMessage", post(messages::delete_message))
        .fallback(unknown_method)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ));
    // Logs method, path (never the query or headers, which may carry secrets), status and
    // latency.
    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span)
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(LatencyUnit::Millis),
        )
        .on_failure(DefaultOnFailure::new().latency_unit(LatencyUnit::Millis));
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api_v1", api)
        .fallback(unknown_method)
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::map_response(envelope_for_too_large))
        .layer(trace)
        .with_state(state)
}

/// `RequestBodyLimitLayer` answers an oversized `Content-Length` itself, in plain text; give it
/// the error envelope like every other answer.
async fn envelope_for_too_large(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::with_status(413, "Request Entity Too Large").into_response()
    } else {
        response
    }
}

fn request_span(request: &Request<Body>) -> tracing::Span {
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
}

/// `GET /healthz`: 200 `{"ok":true}` while the process serves HTTP (no auth, no Telegram call).
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": true }))
}

async fn unknown_method() -> ApiError {
    botapi::ApiError::not_found_method().into()
}

async fn method_not_allowed() -> ApiError {
    ApiError::with_status(405, "Method Not Allowed: use POST")
}
