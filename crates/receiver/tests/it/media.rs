//! Media end to end: each kind downloaded byte-exact and served with its Content-Type and
//! Range support; captions; replies to media. Limits and lifetimes: `media_limits`.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, RANGE};
use serde_json::{Value, json};
use testdc::{MediaKind, MediaMeta};

use crate::helpers::{Options, TestApp, fixture, ids, spawn_app};

/// One fixture sent as one kind, and what the payload must say about it.
struct Case {
    kind: MediaKind,
    file: &'static str,
    meta: MediaMeta,
    content_type: &'static str,
    expected: Value,
}

pub(crate) fn meta(
    file_name: Option<&str>,
    mime: &str,
    duration: Option<f64>,
    wh: Option<(i32, i32)>,
) -> MediaMeta {
    MediaMeta {
        file_name: file_name.map(str::to_owned),
        mime_type: Some(mime.to_owned()),
        duration,
        width: wh.map(|(w, _)| w),
        height: wh.map(|(_, h)| h),
        ..MediaMeta::default()
    }
}

fn cases() -> Vec<Case> {
    let case = |kind, file, meta, content_type, expected: Value| Case {
        kind,
        file,
        meta,
        content_type,
        expected,
    };
    vec![
        case(
            MediaKind::Photo,
            "photo.jpg",
            MediaMeta::default(),
            "image/jpeg",
            json!({"type": "photo", "file_name": null, "mime_type": "image/jpeg",
                    "duration": null, "width": 640, "height": 480}),
        ),
        case(
            MediaKind::Voice,
            "voice.ogg",
            meta(None, "audio/ogg", Some(2.229875), None),
            "audio/ogg",
            json!({"type": "voice", "file_name": null, "mime_type": "audio/ogg",
                    "duration": 2, "width": null, "height": null}),
        ),
        case(
            MediaKind::Audio,
            "song.mp3",
            MediaMeta {
                title: Some("Test Song".into()),
                performer: Some("Test Artist".into()),
                ..meta(Some("song.mp3"), "audio/mpeg", Some(3.030204), None)
            },
            "audio/mpeg",
            json!({"type": "audio", "file_name": "song.mp3", "mime_type": "audio/mpeg",
                    "duration": 3, "width": null, "height": null}),
        ),
        case(
            MediaKind::Video,
            "video.mp4",
            meta(Some("video.mp4"), "video/mp4", Some(2.0), Some((320, 240))),
            "video/mp4",
            json!({"type": "video", "file_name": "video.mp4", "mime_type": "video/mp4",
                    "duration": 2, "width": 320, "height": 240}),
        ),
        case(
            MediaKind::VideoNote,
            "round.mp4",
            meta(None, "video/mp4", Some(2.0), Some((240, 240))),
            "video/mp4",
            json!({"type": "video_note", "file_name": null, "mime_type": "video/mp4",
                    "duration": 2, "width": 240, "height": 240}),
        ),
        case(
            MediaKind::Animation,
            "animation.mp4",
            meta(
                Some("animation.mp4"),
                "video/mp4",
                Some(1.5),
                Some((256, 144)),
            ),
            "video/mp4",
            json!({"type": "animation", "file_name": "animation.mp4", "mime_type": "video/mp4",
                    "duration": 2, "width": 256, "height": 144}),
        ),
        case(
            MediaKind::Document,
            "document.pdf",
            meta(Some("document.pdf"), "application/pdf", None, None),
            "application/pdf",
            json!({"type": "document", "file_name": "document.pdf", "mime_type": "application/pdf",
                    "duration": null, "width": null, "height": null}),
        ),
        case(
            MediaKind::Sticker,
            "sticker.webp",
            meta(Some("sticker.webp"), "image/webp", None, None),
            "image/webp",
            json!({"type": "sticker", "file_name": "sticker.webp", "mime_type": "image/webp",
                    "duration": null, "width": 512, "height": 512}),
        ),
    ]
}

/// GET `url`; returns status, Content-Type and body.
pub(crate) async fn get(
    url: &str,
    range: Option<&str>,
) -> (StatusCode, Option<String>, Vec<u8>, Option<String>) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(range) = range {
        request = request.header(RANGE, range);
    }
    let response = request.send().await.expect("GET media");
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (content_type, content_range) = (header(CONTENT_TYPE), header(CONTENT_RANGE));
    let body = response.bytes().await.expect("body").to_vec();
    (status, content_type, body, content_range)
}

pub(crate) fn media_url(got: &Value) -> &str {
    got["message"]["media_url"]
        .as_str()
        .expect("media_url is set")
}

pub(crate) fn files_on_disk(app: &TestApp) -> usize {
    std::fs::read_dir(app.media.dir())
        .expect("media dir")
        .count()
}

#[tokio::test]
async fn every_kind_reaches_webhook_with_media_object_and_byte_exact_url() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    let origin = format!("http://127.0.0.1:{}/media/", app.media_addr.port());
    for case in cases() {
        let (sent, bytes) = app.send_fixture(alice, alice, case.kind, case.file, case.meta);

        let got = app.next_payload().await.body;

        let message = &got["message"];
        assert_eq!(message["message_id"], sent.message_id, "{}", case.file);
        assert_eq!(message["text"], "", "no caption: text is empty");
        let media = message["media"].as_object().expect("media object");
        let keys: Vec<&str> = media.keys().map(String::as_str).collect();
        let mut expected_keys = vec![
            "type",
            "file_id",
            "file_unique_id",
            "file_name",
            "mime_type",
            "file_size",
            "duration",
            "width",
            "height",
            "skipped",
        ];
        expected_keys.sort_unstable();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        assert_eq!(
            keys_sorted, expected_keys,
            "{}: every key present",
            case.file
        );
        for (key, value) in case.expected.as_object().expect("expected object") {
            assert_eq!(&media[key], value, "{}: media.{key}", case.file);
        }
        assert_eq!(media["file_size"], bytes.len(), "{}", case.file);
        assert_eq!(media["skipped"], Value::Null);
        assert!(media["file_id"].as_str().is_some_and(|s| !s.is_empty()));
        let url = media_url(&got);
        let name = url.strip_prefix(&origin).expect("url on the media server");
        let (stem, ext) = name.split_once('.').expect("name has an extension");
        assert!(
            stem.len() == 32 && stem.chars().all(|c| c.is_ascii_hexdigit()),
            "{name}"
        );
        assert!(!ext.is_empty());

        let (status, content_type, body, _) = get(url, None).await;
        assert_eq!(status, StatusCode::OK, "{}", case.file);
        assert_eq!(
            content_type.as_deref(),
            Some(case.content_type),
            "{}",
            case.file
        );
        assert!(
            body == bytes,
            "{}: served bytes differ from the fixture",
            case.file
        );

        let (status, _, slice, content_range) = get(url, Some("bytes=10-99")).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{}", case.file);
        assert_eq!(slice, bytes[10..100], "{}", case.file);
        assert_eq!(content_range, Some(format!("bytes 10-99/{}", bytes.len())));
    }
    assert_eq!(
        files_on_disk(&app),
        cases().len(),
        "no .part files left behind"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn caption_becomes_text_and_reply_to_voice_carries_its_media() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    let voice = fixture("voice.ogg");
    let sent = app
        .dc
        .send_media(
            testdc::SendMedia {
                from: Some(alice),
                chat_id: alice,
                kind: MediaKind::Voice,
                caption: "listen".into(),
                reply_to_message_id: None,
                meta: meta(None, "audio/ogg", Some(2.2), None),
            },
            voice.clone(),
        )
        .unwrap();
    let first = app.next_payload().await;
    assert_eq!(first.text(), Some("listen"));
    let reply = app.send(Some(alice), alice, "nice voice", Some(sent.message_id));

    let got = app.next_payload().await.body;

    assert_eq!(got["message"]["message_id"], reply.message_id);
    assert_eq!(got["message"]["media"], Value::Null);
    assert_eq!(got["message"]["media_url"], Value::Null);
    let replied = &got["message"]["reply_to_message"];
    assert_eq!(replied["message_id"], sent.message_id);
    assert_eq!(replied["media_type"], "voice");
    assert_eq!(replied["text"], "listen");
    let url = replied["media_url"].as_str().expect("reply media_url");
    assert_ne!(
        Some(url),
        first.body["message"]["media_url"].as_str(),
        "a fresh name"
    );
    let (status, content_type, body, _) = get(url, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("audio/ogg"));
    assert!(body == voice);
    app.stop().await.unwrap();
}
