//! The HTTP server on `MEDIA_BIND`: `GET`/`HEAD /media/<name>` from the media directory
//! ([`super::files`]: tower-http `ServeDir`, Content-Type from the extension, `Range` per
//! RFC 9110, no directory listing, nothing that resolves outside the directory) and
//! `GET /healthz`. Everything else is 404.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{any, get};
use tower_http::set_header::SetResponseHeaderLayer;

use super::files;

/// Path prefix of media URLs.
pub const MEDIA_PREFIX: &str = "/media";

/// The router serving `dir` under [`MEDIA_PREFIX`] and the health check.
pub fn router(dir: &Path) -> Router {
    let media = any(files::serve).with_state(files::files(dir));
    Router::new()
        .nest_service(MEDIA_PREFIX, media)
        .layer(axum::middleware::map_response(files::set_content_length))
        // Defence in depth: nothing served here is ever run as a page or sniffed into one.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        ))
        .route("/healthz", get(|| async { "ok" }))
}

/// Serves `router` on `listener` until `shutdown` turns true, within
/// [`ops::serve::ServeLimits::DEFAULT`] (256 connections: a `/media` download holds a file
/// open too, and the webhook client, downloads and the outbox need descriptors as well).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    ops::serve::serve(listener, router, stop, ops::serve::ServeLimits::DEFAULT).await
}
