//! Prometheus metrics: one recorder per process, a `/metrics` route, and a middleware that
//! counts every HTTP request by method and status and records its latency.
//!
//! Metric names (all binaries): [`HTTP_REQUESTS`], [`HTTP_DURATION`], [`RPC_ERRORS`],
//! [`FLOOD_WAITS`]; receiver: [`UPDATES_RECEIVED`], [`DELIVERIES`], [`DELIVERY_PENDING`],
//! [`DELIVERY_LATENCY`].

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Counter: HTTP requests served, labels `method` (API method or route) and `status`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Histogram: HTTP request latency in seconds, label `method`.
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
/// Counter: MTProto RPC errors, label `name` (e.g. `PEER_ID_INVALID`).
pub const RPC_ERRORS: &str = "mtproto_rpc_errors_total";
/// Counter: FLOOD_WAITs met, label `absorbed` (`true` when slept through).
pub const FLOOD_WAITS: &str = "mtproto_flood_waits_total";
/// Counter: updates received by the receiver, label `kind`.
pub const UPDATES_RECEIVED: &str = "updates_received_total";
/// Counter: webhook deliveries, label `outcome` (`ok`, `failed`, `retried`).
pub const DELIVERIES: &str = "webhook_deliveries_total";
/// Gauge: payloads waiting for delivery.
pub const DELIVERY_PENDING: &str = "webhook_pending";
/// Histogram: seconds from receiving an update to its successful delivery.
pub const DELIVERY_LATENCY: &str = "webhook_delivery_latency_seconds";
/// Gauge: accounts served with `SESSIONS_DIR`, label `state` (sender: `signed_in`,
/// `signed_out`; receiver: `running`, `waiting_for_sign_in`, `starting`, `failed`).
pub const ACCOUNTS: &str = "gateway_accounts";
/// Counter: API requests per account with `SESSIONS_DIR`, label `account` (the account's name
/// for the first [`ACCOUNT_LABELS`] accounts started, `_other` beyond).
pub const ACCOUNT_REQUESTS: &str = "sender_account_requests_total";
/// How many accounts get a label value of their own in per-account metrics; the rest share
/// `_other`, so the number of series stays bounded with thousands of accounts.
pub const ACCOUNT_LABELS: usize = 100;

/// How often the recorder's histogram samples are folded into their summaries.
pub const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the process-wide Prometheus recorder once and returns its handle (both binaries
/// render `/metrics` from it); later calls
/// (several apps in one process, as in tests) get the same handle, so every `/metrics` renders
/// the one recorder that is actually installed.
///
/// A thread runs the recorder's upkeep every [`UPKEEP_EVERY`]: `install_recorder` does not, and
/// without it every histogram sample (one or two per request) is kept until the next scrape of
/// `/metrics` — the sender's RSS grew ~20 bytes per request when nothing scraped it.
pub fn install() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .install_recorder()
                // Another recorder was installed by someone else: keep working, unrecorded.
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle());
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "no metrics upkeep thread: histograms grow until scraped");
            }
            handle
        })
        .clone()
}

/// `GET /metrics` in the Prometheus text format.
pub fn route(handle: PrometheusHandle) -> Router {
    Router::new().route("/metrics", get(move || std::future::ready(handle.render())))
}

/// Middleware: counts the request and records its latency, labelled by the matched route's
/// last segment (the Bot API method for `/api_v1/<method>`), never by anything secret.
pub async fn track(request: Request<Body>, next: Next) -> Response {
    let method = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().rsplit('/').next().unwrap_or("").to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "status" => status).increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method).record(start.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[test]
    fn requests_are_counted_and_rendered() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let app = Router::new()
            .route("/api_v1/sendMessage", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(track))
            .merge(route(handle.clone()));
        metrics::with_local_recorder(&recorder, || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let req = Request::get("/api_v1/sendMessage")
                    .body(Body::empty())
                    .expect("request");
                let res = app.clone().oneshot(req).await.expect("response");
                assert_eq!(res.status(), StatusCode::OK);
            });
        });
        let rendered = handle.render();
        assert!(
            rendered.contains(r#"http_requests_total{method="sendMessage",status="200"} 1"#),
            "{rendered}"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let body = rt.block_on(async {
            let res = app
                .oneshot(
                    Request::get("/metrics")
                        .body(Body::empty())
                        .expect("request"),
                )
                .await
                .expect("response");
            res.into_body().collect().await.expect("body").to_bytes()
        });
        assert!(String::from_utf8_lossy(&body).contains("http_request_duration_seconds"));
    }
}
