//! The `x-api-key` check guarding every `/api_v1` route.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// Name of the header carrying the shared secret (`X_API_TOKEN`).
pub const API_KEY_HEADER: &str = "x-api-key";

/// Middleware: lets the request through only when its `x-api-key` header equals `X_API_TOKEN`,
/// compared in constant time (only the length can leak). Otherwise answers 401
/// `{"ok":false,"error_code":401,"description":"Unauthorized"}`, as Telegram does for a bad
/// token, before the body is read.
pub async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(API_KEY_HEADER)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    let expected = state.api_token.expose_secret().as_bytes();
    if bool::from(presented.ct_eq(expected)) {
        next.run(request).await
    } else {
        ApiError::from(botapi::ApiError::unauthorized()).into_response()
    }
}
