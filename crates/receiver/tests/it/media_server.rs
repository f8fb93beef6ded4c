//! The `/media` server: health check, no path escape, no listing, unknown names.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::{Options, spawn_app};

/// Sends `path` byte for byte (clients such as reqwest normalise `..` away) and returns the
/// status code and the body.
async fn raw_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: media\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn media_server_answers_health_and_refuses_escapes_listings_and_unknown_names() {
    let app = spawn_app(Options::default()).await;
    let addr = app.media_addr;
    // Something worth stealing next to the media directory, and a file inside it.
    assert!(app.session_path.exists());
    std::fs::write(
        app.media.dir().join("0123456789abcdef0123456789abcdef.txt"),
        "inside",
    )
    .unwrap();

    assert_eq!(raw_get(addr, "/healthz").await, (200, "ok".to_owned()));
    for path in [
        "/media/../Cargo.toml",
        "/media/../tg_userbot.session",
        "/media/%2e%2e/tg_userbot.session",
        "/media/%2e%2e/x",
        "/media/..%2ftg_userbot.session",
        "/media/%2e%2e%2ftg_userbot.session",
        "/media/unknown.jpg",
        "/media/",
        "/media",
        "/media/.",
        "/",
        "/tg_userbot.session",
    ] {
        let (status, body) = raw_get(addr, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(
            !body.contains("0123456789abcdef"),
            "{path} lists the directory: {body}"
        );
    }
    let (status, body) = raw_get(addr, "/media/0123456789abcdef0123456789abcdef.txt").await;
    assert_eq!((status, body.as_str()), (200, "inside"));
    app.stop().await.unwrap();
}
