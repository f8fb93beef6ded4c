//! The `/media` server: health check, no path escape, no listing, unknown names.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::{Options, spawn_app};

/// Sends `path` byte for byte (clients such as reqwest normalise `..` away) and returns the
/// status code and the body.
async fn raw_get(addr: SocketAddr, path: &str) -> (u16, String) {
    raw_request(addr, "GET", path).await
}

/// [`raw_get`] with another method.
async fn raw_request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("{method} {path} HTTP/1.1\r\nHost: media\r\nConnection: close\r\n\r\n");
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

/// A file of [`CONTENT`] directly in the media directory, named as the store names files.
const NAME: &str = "00112233445566778899aabbccddeeff.txt";
const CONTENT: &[u8] = b"0123456789";

/// Sends `method path` with `headers` and returns the status, the headers (without `date`,
/// which differs between two requests) and the body.
async fn request(
    addr: SocketAddr,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut request = reqwest::Client::new().request(method, format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != reqwest::header::DATE)
        .map(|(name, value)| {
            let value = value.to_str().expect("ASCII header").to_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    headers.sort();
    let body = response.bytes().await.expect("body").to_vec();
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// GET and HEAD of `path` with `headers`: HEAD answers the same status and headers as GET,
/// without a body (RFC 9110 §9.3.2). Returns GET's answer.
async fn get_and_head(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let got = request(addr, reqwest::Method::GET, path, headers).await;
    let head = request(addr, reqwest::Method::HEAD, path, headers).await;
    assert_eq!(
        (head.0, &head.1),
        (got.0, &got.1),
        "HEAD {path} {headers:?} differs from GET"
    );
    assert!(head.2.is_empty(), "HEAD {path} has a body");
    got
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_leading_out_of_the_media_dir_answer_404() {
    use std::os::unix::fs::symlink;

    let app = spawn_app(Options::default()).await;
    let addr = app.media_addr;
    let media = app.media.dir().to_owned();
    // A sibling directory with a secret, and the session next to the media directory.
    let sibling = app.dir.join("sibling");
    std::fs::create_dir_all(&sibling).unwrap();
    std::fs::write(sibling.join("secret.txt"), "secret").unwrap();
    std::fs::write(media.join(NAME), CONTENT).unwrap();
    let links = [
        ("0000000000000000000000000000000a.txt", "/etc/passwd".into()),
        (
            "0000000000000000000000000000000b.txt",
            sibling.join("secret.txt"),
        ),
        (
            "0000000000000000000000000000000c.txt",
            "../sibling/secret.txt".into(),
        ),
        (
            "0000000000000000000000000000000d.bin",
            app.session_path.clone(),
        ),
        ("linked-dir", sibling.clone()),
        ("linked-etc", "/etc".into()),
        // A link to a link that leads out.
        (
            "0000000000000000000000000000000e.txt",
            media.join("0000000000000000000000000000000a.txt"),
        ),
    ];
    for (name, target) in &links {
        symlink(target, media.join(name)).unwrap();
    }

    for path in [
        "/media/0000000000000000000000000000000a.txt",
        "/media/0000000000000000000000000000000b.txt",
        "/media/0000000000000000000000000000000c.txt",
        "/media/0000000000000000000000000000000d.bin",
        "/media/0000000000000000000000000000000e.txt",
        "/media/linked-dir/secret.txt",
        "/media/linked-dir/",
        "/media/linked-etc/passwd",
        "/media/linked-etc/hostname",
    ] {
        let (status, _, body) = get_and_head(addr, path, &[]).await;
        assert_eq!(status, 404, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(body.is_empty(), "{path}");
        let (status, body) = raw_get(addr, path).await;
        assert_eq!(status, 404, "{path} (raw): {body}");
    }
    // Traversals (sent raw: reqwest would resolve `%2e%2e`) are refused, also for HEAD.
    for path in [
        "/media/../sibling/secret.txt",
        "/media/..%2fsibling%2fsecret.txt",
        "/media/%2e%2e/sibling/secret.txt",
        "/media/%2E%2E%2Fsibling%2Fsecret.txt",
        "/media/linked-dir/..%2f..%2fsibling%2fsecret.txt",
    ] {
        for method in ["GET", "HEAD"] {
            let (status, body) = raw_request(addr, method, path).await;
            assert_eq!(status, 404, "{method} {path}: {body}");
            assert!(!body.contains("secret"), "{method} {path}: {body}");
        }
    }
    // A real file next to the links is still served.
    let (status, headers, body) = get_and_head(addr, &format!("/media/{NAME}"), &[]).await;
    assert_eq!((status, body.as_slice()), (200, CONTENT));
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
    app.stop().await.unwrap();
}

#[tokio::test]
async fn range_requests_follow_rfc_9110_for_get_and_head() {
    let app = spawn_app(Options::default()).await;
    let addr = app.media_addr;
    std::fs::write(app.media.dir().join(NAME), CONTENT).unwrap();
    let path = format!("/media/{NAME}");
    let len = CONTENT.len();

    // Ignored (RFC 9110 §14.2: a server MAY ignore an invalid ranges-specifier and MUST
    // ignore a range unit it does not understand; multipart/byteranges is not offered):
    // 200 with the whole file.
    for range in [
        None,
        Some("garbage"),
        Some("bytes=abc"),
        Some("bytes=abc-def"),
        Some("bytes=0-1,5-6"),
        Some("bytes=0-1, 2-3"),
        Some("bytes=5-2"),
        Some("bytes=0-1,abc"),
        Some("items=0-1"),
        Some("bytes 0-1"),
        Some("bytes=--1"),
        Some(""),
    ] {
        let headers: Vec<(&str, &str)> = range.iter().map(|r| ("range", *r)).collect();
        let (status, headers, body) = get_and_head(addr, &path, &headers).await;
        assert_eq!(status, 200, "{range:?}");
        assert_eq!(body, CONTENT, "{range:?}");
        assert_eq!(header(&headers, "content-range"), None, "{range:?}");
        assert_eq!(
            header(&headers, "content-length"),
            Some(len.to_string().as_str()),
            "{range:?}"
        );
        assert_eq!(
            header(&headers, "accept-ranges"),
            Some("bytes"),
            "{range:?}"
        );
        assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
        assert_eq!(
            header(&headers, "content-security-policy"),
            Some("default-src 'none'; sandbox")
        );
    }

    // Range is a singleton field: two of them are an invalid request, ignored as a whole.
    let two = [("range", "bytes=0-1"), ("range", "bytes=2-3")];
    let (status, _, body) = get_and_head(addr, &path, &two).await;
    assert_eq!((status, body.as_slice()), (200, CONTENT));

    // One satisfiable range: 206 with Content-Range (RFC 9110 §14.1.1, §14.4, §15.3.7).
    for (range, from, to) in [
        ("bytes=2-5", 2, 5),
        ("bytes=0-0", 0, 0),
        ("bytes=7-", 7, 9),
        ("bytes=8-100", 8, 9),
        ("bytes=-3", 7, 9),
        // A suffix longer than the file selects all of it (RFC 9110 §14.1.1).
        ("bytes=-100", 0, 9),
    ] {
        let (status, headers, body) = get_and_head(addr, &path, &[("range", range)]).await;
        assert_eq!(status, 206, "{range}");
        assert_eq!(body, CONTENT[from..=to], "{range}");
        assert_eq!(
            header(&headers, "content-range"),
            Some(format!("bytes {from}-{to}/{len}").as_str()),
            "{range}"
        );
        assert_eq!(
            header(&headers, "content-length"),
            Some((to - from + 1).to_string().as_str()),
            "{range}"
        );
    }

    // One valid but unsatisfiable range: 416 with `bytes */len` (RFC 9110 §14.4, §15.5.17).
    for range in ["bytes=10-", "bytes=10-20", "bytes=100-", "bytes=-0"] {
        let (status, headers, _) = get_and_head(addr, &path, &[("range", range)]).await;
        assert_eq!(status, 416, "{range}");
        assert_eq!(
            header(&headers, "content-range"),
            Some(format!("bytes */{len}").as_str()),
            "{range}"
        );
    }
    app.stop().await.unwrap();
}
