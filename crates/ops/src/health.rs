//! The `healthcheck` subcommand both binaries offer to container engines (the image carries no
//! curl): one `GET /readyz` on the binary's own listen address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// How long one probe may take, connection to last byte. Shorter than compose's 5 s timeout so
/// the binary reports the failure itself.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Where to reach a server bound to `bind` from the same host (or container): an unspecified
/// address (`0.0.0.0`, `::`) is reached on loopback of the same family; others as they are.
pub fn local_target(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// GETs `http://<local_target(bind)>/readyz` once. `Ok(())` on 200; otherwise an error that
/// says what answered (status and the body's first 200 bytes) or why nothing did.
///
/// The readiness routes carry no secret, so neither does the probe.
pub async fn probe_ready(bind: SocketAddr) -> Result<(), String> {
    let url = format!("http://{}/readyz", local_target(bind));
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(200).collect();
    Err(format!("{url}: {status} {body}"))
}

/// Runs [`probe_ready`] and turns it into the process's exit code: 0 ready, 1 not (with the
/// reason on stderr), as `HEALTHCHECK CMD` expects.
pub async fn healthcheck(bind: SocketAddr) -> std::process::ExitCode {
    match probe_ready(bind).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("not ready: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_binds_are_probed_on_loopback() {
        let v4: SocketAddr = "0.0.0.0:8000".parse().expect("addr");
        let v6: SocketAddr = "[::]:8181".parse().expect("addr");
        let ip: SocketAddr = "10.1.2.3:9".parse().expect("addr");
        assert_eq!(local_target(v4).to_string(), "127.0.0.1:8000");
        assert_eq!(local_target(v6).to_string(), "[::1]:8181");
        assert_eq!(local_target(ip), ip);
    }

    #[tokio::test]
    async fn probe_reports_ready_and_not_ready_with_the_reason() {
        use axum::http::StatusCode;
        use axum::routing::get;
        async fn serve(code: StatusCode) -> SocketAddr {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let app =
                axum::Router::new().route("/readyz", get(move || async move { (code, "why") }));
            tokio::spawn(async move { axum::serve(listener, app).await });
            addr
        }
        assert_eq!(probe_ready(serve(StatusCode::OK).await).await, Ok(()));
        let err = probe_ready(serve(StatusCode::SERVICE_UNAVAILABLE).await)
            .await
            .expect_err("503");
        assert!(err.contains("503") && err.contains("why"), "{err}");
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr")
        };
        assert!(probe_ready(closed).await.is_err());
    }
}
