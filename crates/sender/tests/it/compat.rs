//! Requests and answers of the Python service this sender replaces (issue #14): file
//! parameters in JSON bodies as an HTTP URL, a `data:` URI or bare base64, and the legacy answer
//! shape (`RESPONSE_FORMAT=legacy`, `x-response-format`), against testdc.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sender::compat::ResponseFormat;
use serde_json::{Value, json};
use testdc::MediaView;

use crate::helpers::{API_KEY, Reply, TestApp, chats, spawn_app, spawn_app_with};
use crate::media_helpers::{FileServer, fixture, form_with_file, sha256};

/// The stored media of the newest message of Alice's chat.
fn newest_media(app: &TestApp) -> MediaView {
    app.dc.history(chats().alice).unwrap()[0]
        .media
        .clone()
        .expect("the newest message has media")
}

/// Base64 with a line break every 76 characters, as Python's `base64.encodebytes` writes it.
fn mime_base64(bytes: &[u8]) -> String {
    let encoded = STANDARD.encode(bytes);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    lines.join("\n") + "\n"
}

/// `POST /api_v1/{method}` with a JSON body and the header `x-response-format: {format}`.
async fn post_as(app: &TestApp, format: &str, method: &str, body: Value) -> Reply {
    let request = app
        .client
        .post(app.url(&format!("/api_v1/{method}")))
        .header("x-api-key", API_KEY)
        .header("x-response-format", format)
        .json(&body);
    app.send(request).await
}

/// `YYYY-MM-DDTHH:MM:SS+00:00` of unix seconds, written independently of the sender's code.
fn iso(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[test]
fn the_reference_date_formatter_is_right() {
    assert_eq!(iso(0), "1970-01-01T00:00:00+00:00");
    assert_eq!(iso(1_672_574_399), "2023-01-01T11:59:59+00:00");
    assert_eq!(iso(1_709_208_000), "2024-02-29T12:00:00+00:00");
}

#[tokio::test]
async fn photo_voice_and_document_are_accepted_as_url_data_uri_or_bare_base64_in_json() {
    let app = spawn_app_with(|c| c.allow_private_urls = true).await;
    let server = FileServer::start().await;
    let alice = chats().alice;
    let cases = [
        ("sendPhoto", "photo", "photo.jpg", "image/jpeg"),
        ("sendVoice", "voice", "voice.ogg", "audio/ogg"),
        (
            "sendDocument",
            "document",
            "document.pdf",
            "application/pdf",
        ),
    ];
    for (method, param, file, mime) in cases {
        let bytes = fixture(file);
        let forms = [
            ("URL", server.url(&format!("/files/{file}"))),
            ("redirected URL", server.url(&format!("/moved/{file}"))),
            (
                "data URI",
                format!("data:{mime};base64,{}", STANDARD.encode(&bytes)),
            ),
            (
                "data URI, generic type",
                format!(
                    "data:application/octet-stream;base64,{}",
                    mime_base64(&bytes)
                ),
            ),
            ("bare base64", STANDARD.encode(&bytes)),
            ("bare base64, line breaks", mime_base64(&bytes)),
        ];
        for (form, value) in forms {
            let reply = app
                .post(method, json!({"chat_id": alice, param: value}))
                .await;
            assert_eq!(reply.status, 200, "{method} by {form}: {:?}", reply.body);
            let result = reply.result();
            let media = newest_media(&app);
            assert_eq!(media.sha256, sha256(&bytes), "{method} by {form}");
            match param {
                "photo" => assert_eq!(media.kind, "photo", "{form}"),
                "voice" => {
                    assert!(media.voice, "{form}: {media:?}");
                    assert_eq!(result["voice"]["duration"], 2, "{form}");
                }
                _ => {
                    assert_eq!(media.mime_type, mime, "{form}");
                    assert!(result["document"]["file_id"].is_string(), "{form}");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_text_document_is_accepted_as_bare_base64() {
    let app = spawn_app().await;
    let csv = b"item,qty\napples,3\npears,5\n";
    let reply = app
        .post(
            "sendDocument",
            json!({"chat_id": chats().alice, "document": STANDARD.encode(csv)}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let media = newest_media(&app);
    assert_eq!(media.sha256, sha256(csv));
    assert_eq!(media.mime_type, "text/plain");
    // A mistyped file_id is still refused, not uploaded as a file of garbage.
    app.post(
        "sendDocument",
        json!({"chat_id": chats().alice, "document": "BQACAgIAAxkBAAIBbad"}),
    )
    .await
    .assert_error(400, "Bad Request: wrong file identifier/HTTP URL specified");
}

#[tokio::test]
async fn answers_follow_the_bot_api_unless_the_request_asks_for_legacy() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let sent = app.send_text(alice, "first").await;
    assert!(sent["date"].is_i64(), "{sent}");
    let stored = app
        .stored(alice, sent["message_id"].as_i64().unwrap())
        .unwrap();

    let reply = post_as(
        &app,
        "legacy",
        "sendMessage",
        json!({"chat_id": alice, "text": "second", "reply_to_message_id": sent["message_id"]}),
    )
    .await;
    let second = reply.result();
    assert_eq!(reply.body["ok"], true);
    let second_stored = app
        .stored(alice, second["message_id"].as_i64().unwrap())
        .unwrap();
    assert_eq!(second["date"], iso(i64::from(second_stored.date)));
    assert_eq!(
        second["reply_to_message"]["date"],
        iso(i64::from(stored.date))
    );
    assert_eq!(second["chat"]["id"], alice, "the rest is the Bot API's");

    let delete = json!({"chat_id": alice, "message_id": sent["message_id"]});
    let reply = post_as(&app, "legacy", "deleteMessage", delete.clone()).await;
    assert_eq!(reply.result(), "Message deleted");
    assert!(
        app.stored(alice, sent["message_id"].as_i64().unwrap())
            .is_none()
    );
    // Errors keep the Bot API envelope.
    post_as(&app, "legacy", "deleteMessage", delete)
        .await
        .assert_error(400, "Bad Request: message to delete not found");
    let delete = json!({"chat_id": alice, "message_id": second["message_id"]});
    assert_eq!(app.post("deleteMessage", delete).await.result(), true);

    post_as(&app, "python", "getMe", json!({}))
        .await
        .assert_error(
            400,
            "Bad Request: x-response-format must be bot_api or legacy",
        );
}

#[tokio::test]
async fn legacy_media_answers_name_the_file_type_name_and_url() {
    let app = spawn_app_with(|c| c.allow_private_urls = true).await;
    let server = FileServer::start().await;
    let alice = chats().alice;
    let url = server.url("/files/photo.jpg");
    let reply = post_as(
        &app,
        "legacy",
        "sendPhoto",
        json!({"chat_id": alice, "photo": url, "caption": "by URL"}),
    )
    .await;
    let photo = reply.result();
    assert_eq!(photo["file_type"], "photo");
    assert_eq!(photo["file_name"], "photo.jpg");
    assert_eq!(photo["file_url"], url.as_str());
    assert!(photo["date"].is_string(), "{photo}");
    assert!(photo["photo"].is_array(), "the Bot API keys stay");

    let form = form_with_file(alice, "voice", "voice.ogg", "audio/ogg");
    let request = app
        .client
        .post(app.url("/api_v1/sendVoice"))
        .header("x-api-key", API_KEY)
        .header("x-response-format", "legacy")
        .multipart(form);
    let voice = app.send(request).await.result().clone();
    assert_eq!(voice["file_type"], "voice");
    assert_eq!(voice["file_name"], Value::Null);
    assert_eq!(voice["file_url"], Value::Null, "an upload: no URL to give");

    let pdf = STANDARD.encode(fixture("document.pdf"));
    let query = format!("chat_id={alice}&document={}", urlencoding(&pdf));
    let request = app
        .client
        .post(app.url(&format!("/bot{API_KEY}/sendDocument?{query}")))
        .header("x-response-format", "legacy");
    let document = app.send(request).await.result().clone();
    assert_eq!(document["file_type"], "document");
    assert_eq!(document["file_url"], Value::Null, "inline base64");
}

#[tokio::test]
async fn response_format_legacy_is_the_default_a_header_can_undo() {
    let app = spawn_app_with(|c| c.response_format = ResponseFormat::Legacy).await;
    let alice = chats().alice;
    let legacy = app.send_text(alice, "hello").await;
    assert!(legacy["date"].is_string(), "{legacy}");
    let reply = post_as(
        &app,
        "bot_api",
        "sendMessage",
        json!({"chat_id": alice, "text": "again"}),
    )
    .await;
    assert!(reply.result()["date"].is_i64(), "{:?}", reply.body);
    let request = app.client.get(app.url(&format!(
        "/bot{API_KEY}/getChatHistory?chat_id={alice}&limit=2"
    )));
    let history = app.send(request).await.result().clone();
    let dates: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["date"])
        .collect();
    assert!(dates.iter().all(|d| d.is_string()), "{history}");
    let me = app.get("/healthz").await;
    assert_eq!(me.body, json!({"ok": true}), "not a method: untouched");
}

/// Percent-encodes base64 for a query string (`+`, `/` and `=` are not plain there).
fn urlencoding(value: &str) -> String {
    value
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}
