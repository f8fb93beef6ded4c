//! The one error type handlers return: a Bot API error envelope with the HTTP status equal to
//! `error_code`, and the one place where Telegram-layer errors become Bot API errors.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use botapi::RpcContext;
use telegram::TelegramError;

/// A failed request, rendered as `{"ok":false,"error_code":N,"description":"…","parameters":…}`
/// with HTTP status N (python-telegram-bot crashes on 200 + `ok:false`). A 429 also carries a
/// `Retry-After` header with `parameters.retry_after` seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub botapi::ApiError);

/// What every handler returns: `{"ok":true,"result":T}` or an [`ApiError`].
pub type ApiResult<T> = Result<Json<botapi::Response<T>>, ApiError>;

/// Wraps a result in the success envelope.
pub fn ok<T>(result: T) -> ApiResult<T> {
    Ok(Json(botapi::Response::ok(result)))
}

impl From<botapi::ApiError> for ApiError {
    fn from(error: botapi::ApiError) -> Self {
        Self(error)
    }
}

impl ApiError {
    /// Maps a Telegram-layer error for a call of the method family `context` (which picks e.g.
    /// "message to edit not found" vs "message to delete not found"). The only such mapping.
    ///
    /// - `ChatNotFound` → 400 "Bad Request: chat not found" (never 404: python-telegram-bot
    ///   reads 404 as a bad token).
    /// - `FloodWait { seconds }` → 429 "Too Many Requests: retry after N".
    /// - `Rpc` → the Bot API server's wording ([`botapi::rpc_error_to_api_error`]).
    /// - `Unauthorized` → 500: the *session* is logged out, a server fault; answering 401 would
    ///   make clients believe their token is wrong.
    /// - `Network`, `Session`, `Unexpected` → 500 "Internal Server Error: …".
    pub fn from_telegram(error: TelegramError, context: RpcContext) -> Self {
        let mapped = match error {
            TelegramError::ChatNotFound => botapi::ApiError::chat_not_found(),
            TelegramError::FloodWait { seconds } => botapi::ApiError::too_many_requests(seconds),
            TelegramError::Rpc { code, name, value } => {
                botapi::rpc_error_to_api_error(code, &name, value, context)
            }
            TelegramError::Unauthorized => {
                botapi::ApiError::internal("the Telegram session is not authorized")
            }
            error @ (TelegramError::Network(_) | TelegramError::Unexpected(_)) => {
                botapi::ApiError::internal(error)
            }
            // A temporary upload file could not be read: our disk, not the client's fault.
            TelegramError::Io(_) => botapi::ApiError::internal("cannot read the file to upload"),
            // The session error may name file paths; keep those in the log only.
            TelegramError::Session(_) | TelegramError::NoSession(_) => {
                botapi::ApiError::internal("the session store failed")
            }
        };
        Self(mapped)
    }

    /// 413 "Request Entity Too Large": a body or file over its limit (`MAX_UPLOAD_BYTES`).
    pub fn too_large() -> Self {
        Self::with_status(413, "Request Entity Too Large")
    }

    /// 404 "Not Found": a path that is no API route. Never for a missing chat or message
    /// (400 there): python-telegram-bot reads a 404 as a wrong token.
    pub fn not_found() -> Self {
        Self::with_status(404, "Not Found")
    }

    /// An error with a status this crate needs that botapi has no constructor for
    /// (413 for oversized bodies, 405 for wrong HTTP methods).
    pub fn with_status(error_code: u16, description: impl Into<String>) -> Self {
        Self(botapi::ApiError {
            error_code,
            description: description.into(),
            parameters: None,
        })
    }
}

/// Shorthand for `.map_err(|e| ApiError::from_telegram(e, context))` that also logs the cause.
pub trait TelegramResultExt<T> {
    /// Maps the error with [`ApiError::from_telegram`].
    fn or_api(self, context: RpcContext) -> Result<T, ApiError>;
}

impl<T> TelegramResultExt<T> for Result<T, TelegramError> {
    fn or_api(self, context: RpcContext) -> Result<T, ApiError> {
        self.map_err(|error| ApiError::from_telegram_logged(error, context))
    }
}

impl ApiError {
    fn from_telegram_logged(error: TelegramError, context: RpcContext) -> Self {
        count(&error);
        let detail = error.to_string();
        let mapped = Self::from_telegram(error, context);
        if mapped.0.error_code >= 500 {
            tracing::error!(error = %detail, ?context, "telegram call failed");
        } else {
            tracing::debug!(error = %detail, ?context, "telegram call refused");
        }
        mapped
    }
}

/// Records the error in [`ops::metrics::RPC_ERRORS`] (by RPC name) or
/// [`ops::metrics::FLOOD_WAITS`] (`absorbed="false"`: it reached the client as a 429; the
/// short waits grammers sleeps through inside `telegram` are not seen here).
fn count(error: &TelegramError) {
    match error {
        TelegramError::FloodWait { .. } => {
            metrics::counter!(ops::metrics::FLOOD_WAITS, "absorbed" => "false").increment(1);
        }
        TelegramError::Rpc { name, .. } => {
            metrics::counter!(ops::metrics::RPC_ERRORS, "name" => name.clone()).increment(1);
        }
        TelegramError::Unauthorized => {
            metrics::counter!(ops::metrics::RPC_ERRORS, "name" => "UNAUTHORIZED").increment(1);
        }
        _ => {}
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.error_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.0.parameters.as_ref().and_then(|p| p.retry_after);
        let mut response = (status, Json(self.0)).into_response();
        if let Some(seconds) = retry_after.filter(|_| status == StatusCode::TOO_MANY_REQUESTS) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(error: TelegramError, context: RpcContext) -> (u16, String) {
        let ApiError(e) = ApiError::from_telegram(error, context);
        (e.error_code, e.description)
    }

    #[test]
    fn telegram_errors_map_to_bot_api_errors() {
        let rpc = |code, name: &str| TelegramError::Rpc {
            code,
            name: name.into(),
            value: None,
        };
        let cases = [
            (
                TelegramError::ChatNotFound,
                RpcContext::Send,
                400,
                "Bad Request: chat not found",
            ),
            (
                TelegramError::FloodWait { seconds: 7 },
                RpcContext::Send,
                429,
                "Too Many Requests: retry after 7",
            ),
            (
                rpc(400, "MESSAGE_ID_INVALID"),
                RpcContext::Edit,
                400,
                "Bad Request: message to edit not found",
            ),
            (
                rpc(400, "MESSAGE_ID_INVALID"),
                RpcContext::Delete,
                400,
                "Bad Request: message to delete not found",
            ),
            (
                TelegramError::Unauthorized,
                RpcContext::Send,
                500,
                "Internal Server Error: the Telegram session is not authorized",
            ),
            (
                TelegramError::Network("reset".into()),
                RpcContext::Send,
                500,
                "Internal Server Error: connection to Telegram failed: reset",
            ),
        ];
        for (error, context, code, description) in cases {
            assert_eq!(mapped(error, context), (code, description.to_owned()));
        }
    }

    #[test]
    fn too_many_requests_sets_retry_after_header() {
        let response = ApiError(botapi::ApiError::too_many_requests(7)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    }
}
