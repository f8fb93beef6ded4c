//! One log line and two metrics per request, and the Prometheus handle behind `/metrics`.
//!
//! [`track`] labels a request by what it asked for — the Bot API method name as the method
//! table spells it (`sendMessage` for `/bot<token>/SENDMESSAGE` too), `auth/signIn`, `file`,
//! `healthz`, … — never by the raw path: that would put tokens into metrics and let clients
//! invent unbounded label values. (`ops::metrics::track` labels by axum's matched route, which
//! for the method routes is the literal `{method}`.) It records [`ops::metrics::HTTP_REQUESTS`]
//! and [`ops::metrics::HTTP_DURATION`] and logs method, status and latency once; headers,
//! query strings and bodies are never logged, and `/bot<token>` path segments are masked.
//!
//! `GET /metrics` needs no key, on the API's own port: Prometheus scrapers send no custom
//! headers, and the text holds only counts by method label, status, RPC error name and
//! flood-wait outcome — no ids, names, message content or secrets. Keep the port private
//! (as for `/healthz` and `/readyz`) if even request volumes should stay unseen.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::routes::table::methods;

/// Lowercase method name → the Bot API spelling.
static METHOD_NAMES: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    methods()
        .into_iter()
        .map(|m| (m.name.to_ascii_lowercase(), m.name))
        .collect()
});

/// What a request asked for, from a closed set of labels.
pub fn label(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["healthz"] => "healthz",
        ["readyz"] => "readyz",
        ["metrics"] => "metrics",
        ["docs", ..] => "docs",
        ["api_v1", "openapi.json"] => "openapi",
        ["api_v1", "file", ..] | ["file", ..] => "file",
        ["api_v1", "auth", "sendCode"] => "auth/sendCode",
        ["api_v1", "auth", "signIn"] => "auth/signIn",
        ["api_v1", "auth", "checkPassword"] => "auth/checkPassword",
        ["api_v1", "auth", "signInBot"] => "auth/signInBot",
        ["api_v1", "auth", "logOut"] => "auth/logOut",
        ["admin", "accounts", ..] => "admin/accounts",
        ["api_v1", "auth", "status"] => "auth/status",
        ["api_v1", "auth", ..] => "unknown",
        ["api_v1", name] => method_label(name),
        [first, name] if first.starts_with("bot") => method_label(name),
        _ => "unmatched",
    }
}

fn method_label(name: &str) -> &'static str {
    METHOD_NAMES
        .get(&name.to_ascii_lowercase())
        .copied()
        .unwrap_or("unknown")
}

/// The path as it may be logged: every segment that could carry the API token is `***`.
///
/// Clients put the token in more places than `/bot<token>/…`: a base URL with a trailing
/// slash gives `//bot<token>/…` or `/bot/<token>/…`, some libraries spell it `/BOT<token>` or
/// `/Bot<token>`, and `/file//bot<token>/…` follows. So, in any position and any case (after
/// percent-decoding): a segment starting with `bot` keeps only that prefix (`bot***`), the
/// segment after a bare `bot` is hidden, and any segment shaped like a token
/// (`<digits>:<rest>`) is hidden.
pub fn masked(path: &str) -> String {
    let mut after_bare_bot = false;
    path.split('/')
        .map(|segment| {
            let decoded = form_urlencoded::parse(format!("s={segment}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let lower = decoded.to_ascii_lowercase();
            let hide_whole = std::mem::take(&mut after_bare_bot) || looks_like_token(&decoded);
            if lower == "bot" {
                after_bare_bot = true;
                segment.to_owned()
            } else if hide_whole {
                "***".to_owned()
            } else if lower.starts_with("bot") {
                format!("{}***", segment.get(..3).unwrap_or("bot"))
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `<digits>:<anything>`: the shape of a Bot API token (and of the recommended `X_API_TOKEN`).
fn looks_like_token(segment: &str) -> bool {
    segment.split_once(':').is_some_and(|(id, rest)| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty()
    })
}

/// Middleware (outermost but CORS): counts the request by label and status, records its
/// latency and logs one line — `info` below 500, `warn` for 503, `error` for other 5xx —
/// inside a `request` span that the handlers' own log lines share.
pub async fn track(request: Request<Body>, next: Next) -> Response {
    let method = label(request.uri().path());
    let span = tracing::info_span!(
        "request",
        method = %method,
        http = %request.method(),
        path = %masked(request.uri().path()),
    );
    let start = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    metrics::counter!(ops::metrics::HTTP_REQUESTS, "method" => method, "status" => status.to_string())
        .increment(1);
    metrics::histogram!(ops::metrics::HTTP_DURATION, "method" => method)
        .record(elapsed.as_secs_f64());
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| match status {
        // 503: not signed in yet, or Telegram unreachable (its cause is logged on its own).
        503 => tracing::warn!(status, latency_ms, "request finished"),
        500.. => tracing::error!(status, latency_ms, "request finished"),
        _ => tracing::info!(status, latency_ms, "request finished"),
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_a_closed_set_and_never_carry_tokens() {
        for (path, expected) in [
            ("/api_v1/sendMessage", "sendMessage"),
            ("/api_v1/auth/signInBot", "auth/signInBot"),
            ("/admin/accounts/shop2/auth/signIn", "admin/accounts"),
            ("/bot1:secret/SENDMESSAGE", "sendMessage"),
            ("/bot1:secret/sendTelepathy", "unknown"),
            ("/api_v1/auth/signIn", "auth/signIn"),
            ("/api_v1/auth/steal", "unknown"),
            ("/file/bot1:secret/photos/x.jpg", "file"),
            ("/api_v1/file/photos/x.jpg", "file"),
            ("/readyz", "readyz"),
            ("/docs/index.html", "docs"),
            ("/api_v1/openapi.json", "openapi"),
            ("/wp-admin/x.php", "unmatched"),
        ] {
            assert_eq!(label(path), expected, "{path}");
        }
    }

    #[test]
    fn tokens_in_paths_are_masked_in_logs() {
        for (path, expected) in [
            ("/bot1:secret/sendMessage", "/bot***/sendMessage"),
            (
                "/file/bot1:secret/photos/x.jpg",
                "/file/bot***/photos/x.jpg",
            ),
            ("/api_v1/sendMessage", "/api_v1/sendMessage"),
            ("//bot1:secret/getMe", "//bot***/getMe"),
            ("/bot/1:secret/getMe", "/bot/***/getMe"),
            ("/bot/secret-without-colon/getMe", "/bot/***/getMe"),
            ("/BOT1:secret/getMe", "/BOT***/getMe"),
            ("/Bot1:secret/getMe", "/Bot***/getMe"),
            ("/file//bot1:secret/x.jpg", "/file//bot***/x.jpg"),
            ("/x/y/bot1:secret", "/x/y/bot***"),
            ("/%62ot1:secret/getMe", "/%62***/getMe"),
            ("/api_v1/1:secret/getMe", "/api_v1/***/getMe"),
            ("/bot1%3Asecret/getMe", "/bot***/getMe"),
        ] {
            let got = masked(path);
            assert_eq!(got, expected, "{path}");
            assert!(!got.contains("secret"), "{path} -> {got}");
        }
    }
}
