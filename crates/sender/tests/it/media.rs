//! sendVoice by every kind of file parameter (part, `attach://`, URL, `file_id`, base64, data
//! URI) and the URL guard, against testdc.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use testdc::MediaView;

use crate::helpers::{TestApp, chats, spawn_app, spawn_app_with};
use crate::media_helpers::{FileServer, fixture, form_with_file, sha256};

/// The stored media of the newest message of alice's chat.
fn newest_media(app: &TestApp) -> MediaView {
    let history = app.dc.history(chats().alice).unwrap();
    history[0]
        .media
        .clone()
        .expect("the newest message has media")
}

fn assert_voice_note(app: &TestApp, result: &Value) {
    assert_eq!(result["voice"]["duration"], 2, "{result}");
    assert_eq!(result["voice"]["mime_type"], "audio/ogg");
    assert!(result["voice"]["file_id"].is_string());
    let media = newest_media(app);
    assert!(media.voice, "{media:?}");
    assert_eq!(media.duration, Some(2), "2.23 s, rounded");
    assert_eq!(media.mime_type, "audio/ogg");
    assert_eq!(media.sha256, sha256(&fixture("voice.ogg")));
}

#[tokio::test]
async fn send_voice_by_multipart_upload_is_a_voice_note_with_its_real_duration() {
    let app = spawn_app().await;
    let form = form_with_file(chats().alice, "voice", "voice.ogg", "audio/ogg");
    let reply = app.post_multipart("sendVoice", form).await;
    let result = reply.result();
    assert_voice_note(&app, result);
    assert_eq!(result["chat"]["id"], chats().alice);
}

#[tokio::test]
async fn send_voice_by_attach_reference() {
    let app = spawn_app().await;
    let part = Part::bytes(fixture("voice.ogg")).file_name("blob");
    let form = Form::new()
        .text("chat_id", chats().alice.to_string())
        .text("voice", "attach://recording")
        .part("recording", part);
    let reply = app.post_multipart("sendVoice", form).await;
    assert_voice_note(&app, reply.result());
}

#[tokio::test]
async fn send_voice_by_url_downloads_the_file() {
    let app = spawn_app_with(|c| c.allow_private_urls = true).await;
    let server = FileServer::start().await;
    let url = server.url("/moved/voice.ogg");
    let body = json!({ "chat_id": chats().alice, "voice": url });
    let reply = app.post("sendVoice", body).await;
    assert_voice_note(&app, reply.result());
}

#[tokio::test]
async fn send_voice_by_file_id_resends_the_same_file() {
    let app = spawn_app().await;
    let form = form_with_file(chats().alice, "voice", "voice.ogg", "audio/ogg");
    let first = app.post_multipart("sendVoice", form).await.result().clone();
    let file_id = first["voice"]["file_id"].as_str().unwrap();
    let body = json!({ "chat_id": chats().alice, "voice": file_id, "caption": "again" });
    let second = app.post("sendVoice", body).await.result().clone();
    assert_eq!(
        second["voice"]["file_unique_id"],
        first["voice"]["file_unique_id"]
    );
    assert_eq!(second["caption"], "again");
    assert_voice_note(&app, &second);
    assert_eq!(app.dc.history(chats().alice).unwrap().len(), 3);
}

#[tokio::test]
async fn send_voice_by_base64_and_by_data_uri_in_json() {
    let app = spawn_app().await;
    let encoded = STANDARD.encode(fixture("voice.ogg"));
    for voice in [encoded.clone(), format!("data:audio/ogg;base64,{encoded}")] {
        let body = json!({ "chat_id": chats().alice, "voice": voice });
        let reply = app.post("sendVoice", body).await;
        assert_voice_note(&app, reply.result());
    }
}

#[tokio::test]
async fn missing_or_malformed_file_parameters_are_bad_requests() {
    let app = spawn_app().await;
    let alice = chats().alice;
    app.post("sendVoice", json!({ "chat_id": alice }))
        .await
        .assert_error(400, "Bad Request: there is no voice in the request");
    app.post(
        "sendVoice",
        json!({ "chat_id": alice, "voice": "AgADBAADbad" }),
    )
    .await
    .assert_error(400, "Bad Request: wrong file identifier/HTTP URL specified");
    let form = form_with_file(alice, "photo", "photo.jpg", "image/jpeg");
    let photo = app.post_multipart("sendPhoto", form).await;
    let photo_id = photo.result()["photo"][0]["file_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("sendVoice", json!({ "chat_id": alice, "voice": photo_id }))
        .await
        .assert_error(400, "Bad Request: type of file mismatch");
    assert_eq!(
        app.dc.history(alice).unwrap().len(),
        2,
        "only the photo was sent"
    );
}

#[tokio::test]
async fn url_to_loopback_is_refused_by_default() {
    let app = spawn_app().await;
    let server = FileServer::start().await;
    for (url, host) in [
        (
            server.url("/files/voice.ogg"),
            "127.0.0.1 resolves to 127.0.0.1",
        ),
        (
            format!("http://localhost:{}/files/voice.ogg", server.addr.port()),
            "localhost resolves to ",
        ),
    ] {
        let body = json!({ "chat_id": chats().alice, "voice": url });
        let reply = app.post("sendVoice", body).await;
        assert_eq!(reply.status, 400, "{:?}", reply.body);
        let description = reply.description();
        assert!(
            description.starts_with("Bad Request: failed to get HTTP URL content: ")
                && description.contains(host)
                && description.contains("ALLOW_PRIVATE_URLS=true"),
            "{description}"
        );
    }
    assert_eq!(
        app.dc.history(chats().alice).unwrap().len(),
        1,
        "nothing sent"
    );
}

#[tokio::test]
async fn url_that_fails_is_a_bad_request() {
    let app = spawn_app_with(|c| c.allow_private_urls = true).await;
    let server = FileServer::start().await;
    let body = json!({ "chat_id": chats().alice, "voice": server.url("/files/none.ogg") });
    app.post("sendVoice", body).await.assert_error(
        400,
        "Bad Request: failed to get HTTP URL content: the server answered HTTP 404",
    );
}

#[tokio::test]
async fn oversize_upload_is_413_envelope() {
    let app = spawn_app_with(|c| c.max_upload_bytes = 1000).await;
    let form = form_with_file(chats().alice, "voice", "voice.ogg", "audio/ogg");
    let reply = app.post_multipart("sendVoice", form).await;
    assert_eq!(
        reply.body,
        json!({ "ok": false, "error_code": 413, "description": "Request Entity Too Large" })
    );
    assert_eq!(reply.status, 413);
    let encoded = STANDARD.encode(fixture("voice.ogg"));
    let body = json!({ "chat_id": chats().alice, "voice": encoded });
    app.post("sendVoice", body)
        .await
        .assert_error(413, "Request Entity Too Large");
    assert_eq!(
        app.dc.history(chats().alice).unwrap().len(),
        1,
        "nothing sent"
    );
}
