//! Every HTTP route of the sender, in one list ([`router`]); one module per Bot API method family.
//!
//! Method paths follow the Bot API names (`/api_v1/sendMessage`); parameters come as JSON,
//! urlencoded or multipart bodies and/or the query string ([`crate::extract::BotRequest`]);
//! answers are `{"ok":true,"result":…}` or the error envelope.

pub mod account;
pub mod album;
pub mod content;
pub mod files;
pub mod forward;
pub mod history;
pub mod manage;
pub mod media;
pub mod messages;
pub mod reply;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get, post};
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
/// | `POST /api_v1/sendMediaGroup` | `x-api-key` | [`album::send_media_group`] |
/// | `POST /api_v1/editMessageMedia` | `x-api-key` | [`album::edit_message_media`] |
/// | `POST /api_v1/sendLocation`, `sendVenue`, `sendContact`, `sendPoll`, `sendDice`, `sendChatAction` | `x-api-key` | [`content`] |
/// | `POST /api_v1/forwardMessage`, `forwardMessages`, `copyMessage`, `copyMessages` | `x-api-key` | [`forward`] |
/// | `POST /api_v1/editMessageCaption`, `deleteMessages`, `pinChatMessage`, `unpinChatMessage`, `unpinAllChatMessages`, `setMessageReaction` | `x-api-key` | [`manage`] |
/// | `GET\|POST /api_v1/getMe`, `getChat`, `getUpdates`, `getWebhookInfo`; `POST deleteWebhook`, `setWebhook` | `x-api-key` | [`account`] |
/// | `POST /api_v1/<bot-only method>` ([`account::BOT_ONLY_METHODS`]) | `x-api-key` | 400 [`account::bot_only`] |
/// | `GET\|POST /api_v1/getFile` | `x-api-key` | [`files::get_file`] |
/// | `GET /api_v1/file/<file_path>` | `x-api-key` | [`files::download_with_key`] |
/// | `GET /file/bot<X_API_TOKEN>/<file_path>` | token in the path | [`files::download_with_token`] |
/// | `GET\|POST /api_v1/getChatHistory`, `searchChatMessages`, `getChats`; `POST readChatHistory` | `x-api-key` | [`history`] (user-account extras) |
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
        .route("/sendMediaGroup", post(album::send_media_group))
        .route("/editMessageMedia", post(album::edit_message_media))
        .route("/sendLocation", post(content::send_location))
        .route("/sendVenue", post(content::send_venue))
        .route("/sendContact", post(content::send_contact))
        .route("/sendPoll", post(content::send_poll))
        .route("/sendDice", post(content::send_dice))
        .route("/sendChatAction", post(content::send_chat_action))
        .route("/forwardMessage", post(forward::forward_message))
        .route("/forwardMessages", post(forward::forward_messages))
        .route("/copyMessage", post(forward::copy_message))
        .route("/copyMessages", post(forward::copy_messages))
        .route("/editMessageCaption", post(manage::edit_message_caption))
        .route("/deleteMessages", post(manage::delete_messages))
        .route("/pinChatMessage", post(manage::pin_chat_message))
        .route("/unpinChatMessage", post(manage::unpin_chat_message))
        .route(
            "/unpinAllChatMessages",
            post(manage::unpin_all_chat_messages),
        )
        .route("/setMessageReaction", post(manage::set_message_reaction))
        .route("/getMe", get_or_post(account::get_me))
        .route("/getChat", get_or_post(account::get_chat))
        .route("/getUpdates", get_or_post(account::get_updates))
        .route("/getWebhookInfo", get_or_post(account::get_webhook_info))
        .route("/deleteWebhook", get_or_post(account::delete_webhook))
        .route("/setWebhook", get_or_post(account::set_webhook))
        .route("/getFile", get_or_post(files::get_file))
        .route("/file/{*file_path}", get(files::download_with_key))
        .route("/getChatHistory", get_or_post(history::get_chat_history))
        .route(
            "/searchChatMessages",
            get_or_post(history::search_chat_messages),
        )
        .route("/readChatHistory", post(history::read_chat_history))
        .route("/getChats", get_or_post(history::get_chats));
    let api = account::BOT_ONLY_METHODS
        .iter()
        .fold(api, |api, method| {
            api.route(&format!("/{method}"), any(account::bot_only))
        })
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
        .route(
            "/file/{bot_token}/{*file_path}",
            get(files::download_with_token),
        )
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

/// A route answering both GET and POST, as the Bot API does for every method.
fn get_or_post<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    get(handler.clone()).post(handler)
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
