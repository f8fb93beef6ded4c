//! One upload per media method: attributes read from the real fixtures reach Telegram and come
//! back in the Bot API message.

use reqwest::multipart::Form;
use serde_json::{Value, json};

use crate::helpers::{TestApp, chats, spawn_app};
use crate::media_helpers::{fixture, form_with_file, sha256};

async fn upload(app: &TestApp, method: &str, part: &str, file: &str, mime: &str) -> Value {
    let form = form_with_file(chats().alice, part, file, mime);
    app.post_multipart(method, form).await.result().clone()
}

#[tokio::test]
async fn send_photo_returns_sizes_largest_last_at_the_real_dimensions() {
    let app = spawn_app().await;
    let form = form_with_file(chats().alice, "photo", "photo.jpg", "image/jpeg")
        .text("caption", "<b>look</b>")
        .text("parse_mode", "HTML");
    let reply = app.post_multipart("sendPhoto", form).await;
    let msg = reply.result();
    let sizes = msg["photo"].as_array().unwrap();
    let largest = sizes.last().unwrap();
    assert_eq!(
        (&largest["width"], &largest["height"]),
        (&json!(640), &json!(480))
    );
    assert_eq!(msg["caption"], "look");
    assert_eq!(
        msg["caption_entities"],
        json!([{ "type": "bold", "offset": 0, "length": 4 }])
    );
    let stored = app.dc.history(chats().alice).unwrap()[0]
        .media
        .clone()
        .unwrap();
    assert_eq!(stored.kind, "photo");
}

#[tokio::test]
async fn send_audio_takes_title_and_performer_from_the_mp3_tags() {
    let app = spawn_app().await;
    let msg = upload(&app, "sendAudio", "audio", "song.mp3", "audio/mpeg").await;
    let audio = &msg["audio"];
    assert_eq!(audio["title"], "Test Song");
    assert_eq!(audio["performer"], "Test Artist");
    assert_eq!(audio["duration"], 3);
    assert_eq!(audio["mime_type"], "audio/mpeg");
    assert_eq!(audio["file_name"], "song.mp3");
}

#[tokio::test]
async fn explicit_audio_parameters_override_the_tags() {
    let app = spawn_app().await;
    let form = form_with_file(chats().alice, "audio", "song.mp3", "audio/mpeg")
        .text("title", "Other")
        .text("duration", "7");
    let msg = app.post_multipart("sendAudio", form).await.result().clone();
    assert_eq!(
        (
            &msg["audio"]["title"],
            &msg["audio"]["performer"],
            &msg["audio"]["duration"]
        ),
        (&json!("Other"), &json!("Test Artist"), &json!(7))
    );
}

#[tokio::test]
async fn send_video_reads_width_height_and_duration() {
    let app = spawn_app().await;
    let msg = upload(&app, "sendVideo", "video", "video.mp4", "video/mp4").await;
    let video = &msg["video"];
    assert_eq!(
        (&video["width"], &video["height"], &video["duration"]),
        (&json!(320), &json!(240), &json!(2))
    );
    assert_eq!(video["mime_type"], "video/mp4");
    let stored = app.dc.history(chats().alice).unwrap()[0]
        .media
        .clone()
        .unwrap();
    assert_eq!(stored.duration, Some(2));
}

#[tokio::test]
async fn send_video_note_is_round_with_its_diameter() {
    let app = spawn_app().await;
    let msg = upload(
        &app,
        "sendVideoNote",
        "video_note",
        "round.mp4",
        "video/mp4",
    )
    .await;
    assert_eq!(
        (&msg["video_note"]["length"], &msg["video_note"]["duration"]),
        (&json!(240), &json!(2))
    );
    assert!(msg.get("caption").is_none());
}

#[tokio::test]
async fn send_animation_is_an_animation_and_a_document() {
    let app = spawn_app().await;
    let msg = upload(
        &app,
        "sendAnimation",
        "animation",
        "animation.mp4",
        "video/mp4",
    )
    .await;
    let animation = &msg["animation"];
    assert_eq!(
        (&animation["width"], &animation["height"]),
        (&json!(256), &json!(144))
    );
    assert_eq!(animation["duration"], 2, "1.5 s, rounded");
    assert_eq!(msg["document"]["file_id"], animation["file_id"]);
}

#[tokio::test]
async fn send_document_keeps_file_name_and_mime_type() {
    let app = spawn_app().await;
    let form = form_with_file(chats().alice, "document", "document.pdf", "application/pdf");
    let msg = app
        .post_multipart("sendDocument", form)
        .await
        .result()
        .clone();
    assert_eq!(msg["document"]["file_name"], "document.pdf");
    assert_eq!(msg["document"]["mime_type"], "application/pdf");
    assert_eq!(msg["document"]["file_size"], fixture("document.pdf").len());
    let stored = app.dc.history(chats().alice).unwrap()[0]
        .media
        .clone()
        .unwrap();
    assert_eq!(
        (stored.file_name.as_deref(), stored.mime_type.as_str()),
        (Some("document.pdf"), "application/pdf")
    );
    assert_eq!(stored.sha256, sha256(&fixture("document.pdf")));
}

#[tokio::test]
async fn send_sticker_is_a_sticker_of_the_image_size() {
    let app = spawn_app().await;
    let msg = upload(&app, "sendSticker", "sticker", "sticker.webp", "image/webp").await;
    assert_eq!(
        (&msg["sticker"]["width"], &msg["sticker"]["height"]),
        (&json!(512), &json!(512))
    );
}

#[tokio::test]
async fn media_replies_take_reply_parameters_as_a_form_json_string() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let first = app.send_text(alice, "question").await;
    let first_id = first["message_id"].as_i64().unwrap();
    let form = form_with_file(alice, "voice", "voice.ogg", "audio/ogg")
        .text("reply_parameters", format!("{{\"message_id\":{first_id}}}"))
        .text("disable_notification", "True");
    let msg = app.post_multipart("sendVoice", form).await.result().clone();
    assert_eq!(msg["reply_to_message"]["message_id"], first_id);
    let form = Form::new()
        .text("chat_id", alice.to_string())
        .text(
            "voice",
            msg["voice"]["file_id"].as_str().unwrap().to_owned(),
        )
        .text("reply_to_message_id", "999999");
    app.post_multipart("sendVoice", form)
        .await
        .assert_error(400, "Bad Request: message to be replied not found");
}

#[tokio::test]
async fn non_image_photo_is_refused_by_telegram() {
    let app = spawn_app().await;
    let form = form_with_file(chats().alice, "photo", "document.pdf", "image/jpeg");
    let reply = app.post_multipart("sendPhoto", form).await;
    reply.assert_error(400, "Bad Request: PHOTO_INVALID_DIMENSIONS");
}

#[tokio::test]
async fn too_long_caption_is_refused() {
    let app = spawn_app().await;
    let form = form_with_file(chats().alice, "photo", "photo.jpg", "image/jpeg")
        .text("caption", "a".repeat(1025));
    let reply = app.post_multipart("sendPhoto", form).await;
    reply.assert_error(400, "Bad Request: message caption is too long");
}
