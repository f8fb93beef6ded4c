//! Every HTTP route of the sender, in one list ([`router`]); one module per Bot API method family.
//!
//! Method paths follow the Bot API names (`/api_v1/sendMessage`, `/bot<token>/sendMessage`),
//! dispatched through [`table::MethodTable`]; parameters come as JSON,
//! urlencoded or multipart bodies and/or the query string ([`crate::extract::BotRequest`]);
//! answers are `{"ok":true,"result":…}` or the error envelope.

pub mod account;
pub mod album;
pub mod bot;
pub mod content;
pub mod files;
pub mod forward;
pub mod health;
pub mod history;
pub mod login;
pub mod manage;
pub mod media;
pub mod messages;
pub mod reply;
pub mod table;
pub mod updates;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::Request;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::auth::{
    API_KEY_HEADER, bot_segment_matches, require_api_key, require_bot_token, token_matches,
};
use crate::envelope;
use crate::error::ApiError;
use crate::limits::rate_limit;
use crate::queue;
use crate::state::ServerState;
use crate::telemetry;
use table::MethodTable;

pub use crate::extract::MAX_BODY_BYTES;

/// The whole HTTP API:
///
/// | route | auth | answer |
/// |---|---|---|
/// | `GET /healthz` | none | `{"ok":true}` while the process serves ([`health`]) |
/// | `GET /readyz` | none | 200 when signed in and Telegram answers, else 503 ([`health`]) |
/// | `GET /metrics` | none | Prometheus text ([`crate::telemetry`]) |
/// | `GET /status` | none | the send queue: depth, lanes, parked lanes, PEER_FLOOD pause ([`crate::queue`]) |
/// | `/admin/accounts…` | none | 403: the management API is served only with `SESSIONS_DIR` ([`crate::accounts`]) |
/// | `GET /api_v1/jobs/<id>` | `x-api-key` | an asynchronous send's state and answer ([`crate::queue`]) |
/// | `GET /api_v1/openapi.json` | none | the OpenAPI document ([`crate::openapi`]) |
/// | `GET /docs/` | none | Swagger UI for that document (compiled in, works offline) |
/// | `POST /api_v1/auth/{sendCode,signIn,checkPassword,signInBot,logOut}`, `GET /api_v1/auth/status` | `x-api-key` | headless login ([`login`]) |
/// | `GET\|POST /api_v1/<method>` | `x-api-key` | the method from [`table::methods`] |
/// | `GET\|POST /bot<X_API_TOKEN>/<method>` | token in the path | the same method |
/// | `GET /api_v1/file/<file_path>` | `x-api-key` | [`files::download_with_key`] |
/// | `GET /file/bot<X_API_TOKEN>/<file_path>` | token in the path | [`files::download_with_token`] |
///
/// Methods (see [`table::methods`]: messages, media, albums, content, forwarding, managing,
/// account, files, history, the bot session's methods, and the bot-only refusals) are looked up case-insensitively in one
/// [`table::MethodTable`], so both URL families serve the same set. Each answers GET
/// (parameters in the query string, URIs up to 65,534 bytes) and POST; other HTTP methods get
/// 405. Sending methods ([`queue::SEND_METHODS`]) go through the durable, paced send queue
/// ([`crate::queue`]); `getChats` and `getChat` wait for the expensive-call bucket.
/// A wrong or missing key/token is 401 `Unauthorized` (always the same body) before the body
/// is read; then the rate limit (429 with `retry_after`, [`crate::limits`]); then, while the
/// session is not signed in, 503 ([`crate::connection::NOT_SIGNED_IN`]); an unknown method is
/// 404 "Not Found: method not found" after auth (Telegram's answer); a path that is no API
/// route at all — neither under `/api_v1/` nor starting with `/bot` or `/file/bot` — is 404
/// "Not Found" without auth. Every error answer is the error envelope, also those no handler
/// writes: axum's 405s and rejections ([`envelope::errors`]) and hyper's 400/414/431 for
/// unparsable requests ([`crate::listener`]). Sizes: a whole request is cut at `MAX_UPLOAD_BYTES` +
/// [`MAX_BODY_BYTES`], bodies kept in memory at [`MAX_BODY_BYTES`], each file at
/// `MAX_UPLOAD_BYTES` (413 "Request Entity Too Large"). Every request is counted, timed and
/// logged once ([`telemetry::track`]); CORS headers only with `CORS_ALLOWED_ORIGINS`.
pub fn router(state: ServerState, cors: Option<tower_http::cors::CorsLayer>) -> Router {
    let body_limit = usize::try_from(state.max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(MAX_BODY_BYTES);
    let api_key = middleware::from_fn_with_state(state.api_token.clone(), require_api_key);
    let bot_token = middleware::from_fn_with_state(state.api_token.clone(), require_bot_token);
    let limit = middleware::from_fn_with_state(state.rate_limit.clone(), rate_limit);
    let shape = middleware::from_fn_with_state(state.response_format, crate::compat::layer);
    let table = Arc::new(MethodTable::new());
    let dispatch = move |State(state): State<ServerState>, request: Request<Body>| {
        let table = table.clone();
        async move { dispatch(&state, &table, request).await }
    };
    // Layers run bottom-up: the key check first, then the rate limit, then the answer's shape.
    let keyed = Router::new()
        .route("/api_v1/{method}", any(dispatch.clone()))
        .route_layer(shape.clone())
        .route("/api_v1/file/{*file_path}", get(files::download_with_key))
        .route("/api_v1/jobs/{id}", get(job))
        .route("/api_v1/auth/sendCode", post(login::send_code))
        .route("/api_v1/auth/signIn", post(login::sign_in))
        .route("/api_v1/auth/checkPassword", post(login::check_password))
        .route("/api_v1/auth/signInBot", post(login::sign_in_bot))
        .route("/api_v1/auth/logOut", post(login::log_out))
        .route("/api_v1/auth/status", get(login::status))
        .route_layer(limit.clone())
        .route_layer(api_key);
    let bot = Router::new()
        .route("/{bot_token}/{method}", any(dispatch))
        .route_layer(shape)
        .route_layer(limit)
        .route_layer(bot_token);
    let app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/status", get(status))
        .merge(keyed)
        .merge(bot)
        // Checks its token itself (the path's second segment), then the rate limit.
        .route(
            "/file/{bot_token}/{*file_path}",
            get(files::download_with_token).fallback(files::download_other_method),
        )
        // The management API lives in the many-accounts front (`crate::accounts`).
        .route("/admin/accounts", any(management_off))
        .route("/admin/accounts/{*rest}", any(management_off))
        .fallback(unknown_path)
        .with_state(state)
        .merge(crate::openapi::router())
        .merge(ops::metrics::route(ops::metrics::install()))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(middleware::map_response(envelope::errors))
        .layer(middleware::from_fn(telemetry::track));
    match cors {
        Some(cors) => app.layer(cors),
        None => app,
    }
}

/// Runs the method named by the last path segment (both URL families end in `/<method>`) with
/// the signed-in session's state; 503 while signed out.
async fn dispatch(state: &ServerState, table: &MethodTable, request: Request<Body>) -> Response {
    let app = match state.connection.signed_in() {
        Ok(app) => app,
        Err(error) => return error.into_response(),
    };
    let path = request.uri().path().to_owned();
    let name = path.rsplit('/').next().unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    if queue::SEND_METHODS.contains(&lower.as_str()) {
        return state.queue.handle(name, request).await;
    }
    if queue::EXPENSIVE_METHODS.contains(&lower.as_str()) {
        return state.queue.expensive(table.call(&app, name, request)).await;
    }
    table.call(&app, name, request).await
}

/// `GET /status`: the send queue — depth, lanes, parked lanes, the account's PEER_FLOOD pause.
async fn status(State(state): State<ServerState>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "ok": true, "queue": state.queue.status() }))
}

/// `GET /api_v1/jobs/<id>`: an asynchronous send's state and, once done, its answer.
async fn job(
    State(state): State<ServerState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    match id.parse::<i64>() {
        Ok(id) => state.queue.job(id).await,
        Err(_) => ApiError::from(botapi::ApiError::bad_request("job id must be an integer"))
            .into_response(),
    }
}

/// `/admin/accounts…` on a single-account sender: 403, the management API needs
/// `SESSIONS_DIR` (and `ADMIN_API_KEY`).
async fn management_off() -> ApiError {
    ApiError::with_status(
        403,
        "Forbidden: the management API needs SESSIONS_DIR and ADMIN_API_KEY",
    )
}

/// Paths no route matched. Under `/api_v1/` and `/bot<token>/`: 401 without the right
/// credentials, else 404 "Not Found: method not found"; elsewhere plain 404 "Not Found".
async fn unknown_path(State(state): State<ServerState>, request: Request<Body>) -> ApiError {
    let path = request.uri().path();
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let checked = request
        .extensions()
        .get::<crate::auth::Authenticated>()
        .is_some();
    let authorized = if path.starts_with("/api_v1/") {
        let key = request.headers().get(API_KEY_HEADER);
        checked
            || token_matches(
                &state.api_token,
                key.map(|v| v.as_bytes()).unwrap_or_default(),
            )
    } else if first.starts_with("bot") {
        checked || bot_segment_matches(&state.api_token, first)
    } else {
        return ApiError::not_found();
    };
    if authorized {
        botapi::ApiError::not_found_method().into()
    } else {
        botapi::ApiError::unauthorized().into()
    }
}
