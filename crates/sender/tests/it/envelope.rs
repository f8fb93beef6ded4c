//! Every error the server itself emits — hyper's automatic answers to unparsable requests, axum's
//! 405s and extractor rejections, unknown paths — is the Bot API error envelope with the HTTP
//! status equal to `error_code`; and long URIs (sync pyTelegramBotAPI puts a whole message in
//! the query string) are accepted up to the limit of the HTTP stack.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{API_KEY, REQUEST_TIMEOUT, chats, spawn_app};

/// The longest request-target hyper and the `http` crate accept (`u16::MAX - 1` bytes); one
/// byte more is 414.
const MAX_URI: usize = 65_534;

/// One request written as raw bytes (reqwest cannot build a URI over [`MAX_URI`]); returns the
/// status, the head as text and the body, read until the server closes or `Content-Length`.
async fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String, Vec<u8>) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            bytes.extend_from_slice(&chunk[..n]);
            if n == 0 || complete(&bytes) {
                break;
            }
        }
        bytes
    };
    let bytes = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .expect("the sender answered in time");
    let split = find(&bytes, b"\r\n\r\n").expect("a whole head") + 4;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let status = head[9..12].parse().unwrap();
    (status, head, bytes[split..].to_vec())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether `bytes` hold a head and the whole body its `content-length` announces.
fn complete(bytes: &[u8]) -> bool {
    let Some(split) = find(bytes, b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..split]).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .is_some_and(|len| bytes.len() >= split + 4 + len)
}

/// Asserts the error envelope with `code` and a description starting with `description`.
fn assert_envelope(status: u16, head: &str, body: &[u8], code: u16, description: &str) {
    assert_eq!(status, code, "{head}{}", String::from_utf8_lossy(body));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let body: Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(body)));
    assert_eq!(
        (&body["ok"], &body["error_code"]),
        (&json!(false), &json!(code))
    );
    let text = body["description"].as_str().unwrap();
    assert!(text.starts_with(description), "{body}");
}

/// `GET {target}` as raw bytes.
fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nhost: sender\r\nconnection: close\r\n\r\n").into_bytes()
}

/// `/bot<token>/sendMessage?chat_id=…&text=…&padding=…` exactly `len` bytes long, its text the
/// longest one of emoji (2048: two UTF-16 units and 12 percent-encoded bytes each).
fn long_send_message_uri(len: usize) -> (String, String) {
    let text = "😀".repeat(2048);
    let encoded: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
    let prefix = format!(
        "/bot{API_KEY}/sendMessage?chat_id={}&text={encoded}&padding=",
        chats().alice
    );
    let padding = "p".repeat(len - prefix.len());
    (format!("{prefix}{padding}"), text)
}

#[tokio::test]
async fn a_64_kb_query_string_is_accepted() {
    let app = spawn_app().await;
    let (uri, text) = long_send_message_uri(MAX_URI);
    let (status, head, body) = raw(app.addr, &get(&uri)).await;
    assert_eq!(status, 200, "{head}{}", String::from_utf8_lossy(&body));
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["result"]["text"], text);
}

#[tokio::test]
async fn uri_over_the_limit_is_414_envelope() {
    let app = spawn_app().await;
    let (uri, _) = long_send_message_uri(MAX_URI + 1);
    let (status, head, body) = raw(app.addr, &get(&uri)).await;
    assert_envelope(status, &head, &body, 414, "URI Too Long");
    assert!(
        app.dc.history(chats().alice).unwrap().len() <= 1,
        "nothing sent"
    );
}

#[tokio::test]
async fn unparsable_requests_are_400_and_431_envelopes() {
    let app = spawn_app().await;
    let (status, head, body) = raw(app.addr, b"GET / HTTP/1.1\r\nno colon here\r\n\r\n").await;
    assert_envelope(status, &head, &body, 400, "Bad Request");
    // Exactly hyper's head buffer (8 KiB + 400 KiB) without an end: all of it is read, so the
    // close is clean and the answer arrives.
    let mut huge = b"GET / HTTP/1.1\r\nx-padding: ".to_vec();
    huge.resize(8192 + 4096 * 100, b'a');
    let (status, head, body) = raw(app.addr, &huge).await;
    assert_envelope(status, &head, &body, 431, "Request Header Fields Too Large");
}

#[tokio::test]
async fn wrong_http_methods_and_rejections_are_envelopes() {
    let app = spawn_app().await;
    let cases = [
        (
            app.client.post(app.url("/healthz")),
            405,
            "Method Not Allowed",
        ),
        (
            app.client.delete(app.url("/api_v1/openapi.json")),
            405,
            "Method Not Allowed",
        ),
        (
            app.client.post(app.url("/metrics")),
            405,
            "Method Not Allowed",
        ),
        (
            app.client
                .get(app.url("/api_v1/auth/sendCode"))
                .header("x-api-key", API_KEY),
            405,
            "Method Not Allowed",
        ),
        (
            app.client
                .post(app.url("/api_v1/file/photos/x.jpg"))
                .header("x-api-key", API_KEY),
            405,
            "Method Not Allowed",
        ),
        (
            app.client
                .post(app.url(&format!("/file/bot{API_KEY}/photos/x.jpg"))),
            405,
            "Method Not Allowed",
        ),
        // Not UTF-8 once percent-decoded: axum's path extractor refuses it.
        (
            app.client
                .get(app.url("/api_v1/file/photos/%FF"))
                .header("x-api-key", API_KEY),
            400,
            "Bad Request",
        ),
        (
            app.client.get(app.url("/docs/no-such-file.js")),
            404,
            "Not Found",
        ),
    ];
    for (request, code, description) in cases {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let head = format!("{:?}\r\n", response.headers());
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.bytes().await.unwrap();
        let head = match content_type {
            Some(t) => format!("{head}content-type: {t}"),
            None => head,
        };
        assert_envelope(status, &head, &body, code, description);
    }
}

#[tokio::test]
async fn paths_that_are_no_api_route_are_404_without_auth() {
    let app = spawn_app().await;
    for path in [
        "/".to_owned(),
        "/wp-admin/x.php".to_owned(),
        "/a/b".to_owned(),
        "/a/b/c".to_owned(),
        "/favicon.ico".to_owned(),
        // The token without `bot` in front: no Bot API route either.
        format!("/{API_KEY}/getMe"),
        format!("/file/{API_KEY}/photos/x.jpg"),
    ] {
        for request in [
            app.client.get(app.url(&path)),
            app.client.post(app.url(&path)).json(&json!({})),
        ] {
            app.send(request).await.assert_error(404, "Not Found");
        }
    }
    // API routes keep their answers: 401 without credentials, Telegram's 404 for an unknown
    // method with them.
    app.get("/botwrong/getMe")
        .await
        .assert_error(401, "Unauthorized");
    app.get("/api_v1/sendTelepathy")
        .await
        .assert_error(401, "Unauthorized");
    app.get(&format!("/bot{API_KEY}/sendTelepathy"))
        .await
        .assert_error(404, "Not Found: method not found");
}
