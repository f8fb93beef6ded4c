//! getFile and the two download routes against testdc.

use serde_json::json;

use crate::helpers::{API_KEY, TestApp, chats, spawn_app};
use crate::media_helpers::{fixture, form_with_file};

async fn sent_file_id(app: &TestApp, method: &str, part: &str, file: &str, mime: &str) -> String {
    let form = form_with_file(chats().alice, part, file, mime);
    let reply = app.post_multipart(method, form).await;
    let media = &reply.result()[part];
    let media = if media.is_array() {
        &media[media.as_array().unwrap().len() - 1]
    } else {
        media
    };
    media["file_id"].as_str().unwrap().to_owned()
}

async fn download(app: &TestApp, url: String, key: Option<&str>) -> (u16, Vec<u8>) {
    let mut request = app.client.get(url);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn get_file_then_download_returns_the_exact_bytes() {
    let app = spawn_app().await;
    let file_id = sent_file_id(
        &app,
        "sendDocument",
        "document",
        "document.pdf",
        "application/pdf",
    )
    .await;
    let reply = app.post("getFile", json!({ "file_id": file_id })).await;
    let file = reply.result();
    assert_eq!(file["file_id"], file_id.as_str());
    assert!(file["file_unique_id"].is_string());
    let expected = fixture("document.pdf");
    assert_eq!(file["file_size"], expected.len());
    let path = file["file_path"].as_str().unwrap().to_owned();
    assert!(path.starts_with("documents/"), "{path}");
    let bot_url = app.url(&format!("/file/bot{API_KEY}/{path}"));
    let (status, bytes) = download(&app, bot_url, None).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, expected);
    let (status, bytes) = download(
        &app,
        app.url(&format!("/api_v1/file/{path}")),
        Some(API_KEY),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(bytes, expected);
}

#[tokio::test]
async fn photos_download_after_their_reference_expired() {
    let app = spawn_app().await;
    let file_id = sent_file_id(&app, "sendPhoto", "photo", "photo.jpg", "image/jpeg").await;
    let reply = app
        .post_query("getFile", &format!("file_id={file_id}"))
        .await;
    let path = reply.result()["file_path"].as_str().unwrap().to_owned();
    assert!(
        path.starts_with("photos/") && path.ends_with(".jpg"),
        "{path}"
    );
    app.dc.expire_file_references();
    let (status, bytes) =
        download(&app, app.url(&format!("/file/bot{API_KEY}/{path}")), None).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, fixture("photo.jpg"));
}

#[tokio::test]
async fn downloads_need_the_token_and_a_real_file_path() {
    let app = spawn_app().await;
    let file_id = sent_file_id(&app, "sendVoice", "voice", "voice.ogg", "audio/ogg").await;
    let path = format!("voice/{file_id}.oga");
    let (status, _) = download(&app, app.url(&format!("/file/botwrong/{path}")), None).await;
    assert_eq!(status, 401);
    let (status, _) = download(&app, app.url(&format!("/api_v1/file/{path}")), None).await;
    assert_eq!(status, 401);
    let reply = app
        .send(
            app.client
                .get(app.url(&format!("/file/bot{API_KEY}/documents/nope"))),
        )
        .await;
    reply.assert_error(400, "Bad Request: wrong file_path");
    app.post("getFile", json!({ "file_id": "garbage" }))
        .await
        .assert_error(400, "Bad Request: invalid file_id");
}
