//! The two credentials, both `X_API_TOKEN`: the `x-api-key` header of `/api_v1/…` routes and
//! the token in the path of `/bot<token>/…` and `/file/bot<token>/…` routes.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// Name of the header carrying the shared secret (`X_API_TOKEN`).
pub const API_KEY_HEADER: &str = "x-api-key";

/// A request extension the many-accounts front ([`crate::accounts`]) puts on a request whose
/// credentials it has already checked (the account's token or the admin key); the per-account
/// router's checks then let it through. Only code in this process can set an extension.
#[derive(Clone, Copy, Debug)]
pub struct Authenticated;

fn pre_authenticated(request: &Request) -> bool {
    request.extensions().get::<Authenticated>().is_some()
}

/// Middleware: lets the request through only when its `x-api-key` header equals `X_API_TOKEN`,
/// compared in constant time (only the length can leak). Otherwise answers 401
/// `{"ok":false,"error_code":401,"description":"Unauthorized"}`, as Telegram does for a bad
/// token, before the body is read and before anything reaches Telegram — also while the
/// session is signed out, so a refused request learns nothing about the account.
pub async fn require_api_key(
    State(api_token): State<Arc<SecretString>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(API_KEY_HEADER)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    if pre_authenticated(&request) || token_matches(&api_token, presented) {
        next.run(request).await
    } else {
        unauthorized()
    }
}

/// Middleware for `/{segment}/<method>`: lets the request through only when the first path
/// segment is `bot` followed by `X_API_TOKEN` (constant-time, as [`require_api_key`]);
/// otherwise 401 "Unauthorized", before the body is read — unless the segment does not start
/// with `bot`: such a path (`/wp-admin/x.php`) is no Bot API route, 404 "Not Found" like any
/// unknown path. Clients put the token in the URL unescaped; a percent-escaped one (`%3A` for
/// `:`) is decoded first.
pub async fn require_bot_token(
    State(api_token): State<Arc<SecretString>>,
    request: Request,
    next: Next,
) -> Response {
    let segment = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if !segment.starts_with("bot") {
        ApiError::not_found().into_response()
    } else if pre_authenticated(&request) || bot_segment_matches(&api_token, segment) {
        next.run(request).await
    } else {
        unauthorized()
    }
}

/// Whether a path segment is `bot<X_API_TOKEN>` (constant time in the token's content).
pub fn bot_segment_matches(api_token: &SecretString, segment: &str) -> bool {
    segment
        .strip_prefix("bot")
        .is_some_and(|token| token_matches(api_token, &percent_decode(token)))
}

/// `%XX` escapes decoded; anything else (also a malformed escape) kept as it is.
pub(crate) fn percent_decode(input: &str) -> Vec<u8> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Whether `presented` equals `api_token` (`X_API_TOKEN`); only the length can leak through
/// timing.
pub fn token_matches(api_token: &SecretString, presented: &[u8]) -> bool {
    let expected = api_token.expose_secret().as_bytes();
    bool::from(presented.ct_eq(expected))
}

fn unauthorized() -> Response {
    ApiError::from(botapi::ApiError::unauthorized()).into_response()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn percent_escapes_are_decoded_and_malformed_ones_kept() {
        assert_eq!(percent_decode("123%3Aab-c_d"), b"123:ab-c_d");
        assert_eq!(percent_decode("a%zz%4"), b"a%zz%4");
        assert_eq!(percent_decode("%"), b"%");
    }
}
