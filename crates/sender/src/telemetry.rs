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
use std::sync::{LazyLock, OnceLock};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::PrometheusHandle;
use tracing::Instrument;

use crate::routes::table::methods;

/// The process's Prometheus handle: the recorder is installed on first use and every app in
/// the process (tests build many) renders the same one.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(ops::metrics::install).clone()
}

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
        ["api_v1", "auth", "logOut"] => "auth/logOut",
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

/// The path with a `/bot<token>` or `/file/bot<token>` segment shown as `bot***`.
pub fn masked(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    let index = if segments.get(1) == Some(&"file") {
        2
    } else {
        1
    };
    if let Some(segment) = segments.get_mut(index)
        && segment.starts_with("bot")
    {
        *segment = "bot***";
    }
    segments.join("/")
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
        assert_eq!(masked("/bot1:secret/sendMessage"), "/bot***/sendMessage");
        assert_eq!(
            masked("/file/bot1:secret/photos/x.jpg"),
            "/file/bot***/photos/x.jpg"
        );
        assert_eq!(masked("/api_v1/sendMessage"), "/api_v1/sendMessage");
    }
}
