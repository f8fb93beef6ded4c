//! Every HTTP route of the sender, in one list ([`router`]); one module per Bot API method family.
//!
//! Method paths follow the Bot API names (`/api_v1/sendMessage`); parameters come as JSON,
//! urlencoded or multipart bodies and/or the query string ([`crate::extract::BotRequest`]);
//! answers are `{"ok":true,"result":…}` or the error envelope.

pub mod media;
pub mod messages;
pub mod reply;

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

pub use crate::extract::MAX_BODY_BYTES;

/// The whole HTTP API:
///
/// | route | auth | handler |
/// |---|---|---|
/// | `GET /healthz` | none | `{"ok":true}` |
/// | `POST /api_v1/sendMessage` | `x-api-key` | [`messages::send_message`] |
/// | `POST /api_v1/editMessageText` | `x-api-key` | [`messages::edit_message_text`] |
/// | `POST /api_v1/deleteMessage` | `x-api-key` | [`messages::delete_message`] |
/// | `POST /api_v1/sendPhoto` | `x-api-key` | [`media::send_photo`] |
/// | `POST /api_v1/sendDocument` | `x-api-key` | [`media::send_document`] |
/// | `POST /api_v1/sendAudio` | `x-api-key` | [`media::send_audio`] |
/// | `POST /api_v1/sendVoice` | `x-api-key` | [`media::send_voice`] |
/// | `POST /api_v1/sendVideo` | `x-api-key` | [`media::send_video`] |
/// | `POST /api_v1/sendAnimation` | `x-api-key` | [`media::send_animation`] |
/// | `POST /api_v1/sendVideoNote` | `x-api-key` | [`media::send_video_note`] |
/// | `POST /api_v1/sendSticker` | `x-api-key` | [`media::send_sticker`] |
///
/// Unknown `/api_v1/*` methods answer 404 "Not Found: method not found" (after auth; other
/// unknown paths without auth), a wrong HTTP method 405; all with the error envelope. Sizes:
/// a whole request is cut at `MAX_UPLOAD_BYTES` + [`MAX_BODY_BYTES`], bodies kept in memory
/// at [`MAX_BODY_BYTES`], each file at `MAX_UPLOAD_BYTES` (413 "Request Entity Too Large").
pub fn router(state: AppState) -> Router {
    let body_limit = usize::try_from(state.max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(MAX_BODY_BYTES);
    let api = Router::new()
        .route("/sendMessage", post(messages::send_message))
        .route("/editMessageText", post(messages::edit_message_text))
        .route("/deleteMessage", post(messages::delete_message))
        .route("/sendPhoto", post(media::send_photo))
        .route("/sendDocument", post(media::send_document))
        .route("/sendAudio", post(media::send_audio))
        .route("/sendVoice", post(media::send_voice))
        .route("/sendVideo", post(media::send_video))
        .route("/sendAnimation", post(media::send_animation))
        .route("/sendVideoNote", post(media::send_video_note))
        .route("/sendSticker", post(media::send_sticker))
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
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(middleware::map_response(envelope_for_too_large))
        .layer(trace)
        .with_state(state)
}

/// `RequestBodyLimitLayer` answers an oversized `Content-Length` itself, in plain text; give it
/// the error envelope like every other answer.
async fn envelope_for_too_large(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large().into_response()
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
