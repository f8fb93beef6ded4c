//! The Bot API error envelope for error answers no handler wrote: [`errors`] rewrites those of
//! the router (axum's 405s and extractor rejections, `RequestBodyLimitLayer`'s 413, Swagger
//! UI's 404), and [`crate::listener`] those hyper sends itself for requests it cannot parse.
//!
//! Clients read every error as `{"ok":false,"error_code":N,"description":"…"}` with HTTP
//! status N; python-telegram-bot, for one, fails on a body that is not JSON.

use axum::body::{Body, to_bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Longest error body read for its text; axum's rejection texts are a line.
const MAX_DETAIL_BYTES: usize = 4096;

/// Longest detail kept in `description`.
const MAX_DETAIL_CHARS: usize = 300;

/// The envelope for `status`: Telegram's wording where it has one (413 "Request Entity Too
/// Large"), else the standard reason phrase ("Method Not Allowed", "URI Too Long"), followed
/// by `detail` when there is one ("Bad Request: Invalid URL: …").
pub fn for_status(status: StatusCode, detail: &str) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::too_large();
    }
    let reason = status.canonical_reason().unwrap_or("Error");
    let detail: String = detail.trim().chars().take(MAX_DETAIL_CHARS).collect();
    let description = if detail.is_empty() {
        reason.to_owned()
    } else {
        format!("{reason}: {detail}")
    };
    ApiError::with_status(status.as_u16(), description)
}

/// `map_response` middleware: an error answer (4xx, 5xx) whose body is not JSON becomes the
/// envelope with the same status, its plain-text body (if any, one line) as the detail. Other
/// headers (`Allow` on a 405, CORS headers) are kept.
pub async fn errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let detail = text_of(body).await;
    for header in [CONTENT_TYPE, CONTENT_LENGTH, TRANSFER_ENCODING] {
        parts.headers.remove(header);
    }
    let mut enveloped = for_status(status, &detail).into_response();
    enveloped.headers_mut().extend(parts.headers);
    enveloped
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value: &HeaderValue| value.to_str().ok())
        .is_some_and(|value| {
            let essence = value.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json")
        })
}

/// The first line of a short UTF-8 body; empty for anything else.
async fn text_of(body: Body) -> String {
    let Ok(bytes) = to_bytes(body, MAX_DETAIL_BYTES).await else {
        return String::new();
    };
    std::str::from_utf8(&bytes)
        .map(|text| text.lines().next().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_use_telegram_wording_then_the_reason_phrase() {
        let described = |status, detail| for_status(status, detail).0.description;
        assert_eq!(
            described(StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded"),
            "Request Entity Too Large"
        );
        assert_eq!(
            described(StatusCode::METHOD_NOT_ALLOWED, ""),
            "Method Not Allowed"
        );
        assert_eq!(
            described(StatusCode::BAD_REQUEST, " Invalid URL: x "),
            "Bad Request: Invalid URL: x"
        );
        assert_eq!(for_status(StatusCode::URI_TOO_LONG, "").0.error_code, 414);
    }
}
