//! sendMediaGroup, editMessageMedia and editMessageCaption against testdc.

use reqwest::multipart::{Form, Part};
use serde_json::json;
use testdc::ChatRef;

use crate::helpers::{TestApp, chats, spawn_app};
use crate::media_helpers::{fixture, form_with_file, sha256};

fn photo_part(name: &str) -> Part {
    Part::bytes(fixture("photo.jpg"))
        .file_name(name.to_owned())
        .mime_str("image/jpeg")
        .unwrap()
}

fn grouped_id(app: &TestApp, chat_id: i64, message_id: i64) -> Option<i64> {
    let chat = ChatRef::from_bot_api_id(chat_id).unwrap();
    app.dc
        .with_world(|w| w.find(chat, message_id as i32).unwrap().grouped_id)
}

#[tokio::test]
async fn two_attached_photos_become_one_album() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let media = json!([
        { "type": "photo", "media": "attach://first", "caption": "<b>one</b>", "parse_mode": "HTML" },
        { "type": "photo", "media": "attach://second" },
    ]);
    let form = Form::new()
        .text("chat_id", alice.to_string())
        .text("media", media.to_string())
        .part("first", photo_part("a.jpg"))
        .part("second", photo_part("b.jpg"));
    let reply = app.post_multipart("sendMediaGroup", form).await;
    let messages = reply.result().as_array().unwrap().clone();
    assert_eq!(messages.len(), 2, "{:?}", reply.body);
    let group = messages[0]["media_group_id"].as_str().unwrap().to_owned();
    assert!(!group.is_empty());
    assert_eq!(messages[1]["media_group_id"], group.as_str());
    assert!(messages[0]["photo"].is_array() && messages[1]["photo"].is_array());
    assert_eq!(messages[0]["caption"], "one");
    assert_eq!(messages[0]["caption_entities"][0]["type"], "bold");
    assert!(messages[0]["message_id"].as_i64() < messages[1]["message_id"].as_i64());
    let ids: Vec<i64> = messages
        .iter()
        .map(|m| m["message_id"].as_i64().unwrap())
        .collect();
    let stored_group = grouped_id(&app, alice, ids[0]);
    assert!(stored_group.is_some());
    assert_eq!(stored_group, grouped_id(&app, alice, ids[1]));
    assert_eq!(stored_group.unwrap().to_string(), group);
    for id in ids {
        let media = app.stored(alice, id).unwrap().media.unwrap();
        assert_eq!(media.kind, "photo");
        assert_eq!(media.sha256, sha256(&fixture("photo.jpg")));
    }
}

#[tokio::test]
async fn albums_mix_uploads_and_file_ids_and_refuse_bad_mixes() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let form = form_with_file(alice, "document", "document.pdf", "application/pdf");
    let doc = app.post_multipart("sendDocument", form).await;
    let file_id = doc.result()["document"]["file_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let media = json!([
        { "type": "document", "media": file_id },
        { "type": "document", "media": "attach://again" },
    ]);
    let again = Part::bytes(fixture("document.pdf"))
        .file_name("again.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let form = Form::new()
        .text("chat_id", alice.to_string())
        .text("media", media.to_string())
        .part("again", again);
    let reply = app.post_multipart("sendMediaGroup", form).await;
    let messages = reply.result().as_array().unwrap().clone();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m["document"].is_object()));
    let mixed = json!({
        "chat_id": alice,
        "media": [
            { "type": "document", "media": file_id },
            { "type": "photo", "media": file_id },
        ],
    });
    app.post("sendMediaGroup", mixed).await.assert_error(
        400,
        "Bad Request: documents can't be mixed with other media types",
    );
}

#[tokio::test]
async fn edit_message_media_replaces_the_file_and_caption() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let form = form_with_file(alice, "photo", "photo.jpg", "image/jpeg").text("caption", "before");
    let sent = app.post_multipart("sendPhoto", form).await;
    let id = sent.result()["message_id"].as_i64().unwrap();
    let media = json!({ "type": "document", "media": "attach://pdf", "caption": "after" });
    let pdf = Part::bytes(fixture("document.pdf"))
        .file_name("document.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let form = Form::new()
        .text("chat_id", alice.to_string())
        .text("message_id", id.to_string())
        .text("media", media.to_string())
        .part("pdf", pdf);
    let reply = app.post_multipart("editMessageMedia", form).await;
    let edited = reply.result();
    assert_eq!(edited["message_id"], id);
    assert_eq!(edited["caption"], "after");
    assert_eq!(edited["document"]["file_name"], "document.pdf");
    let stored = app.stored(alice, id).unwrap();
    assert_eq!(stored.text, "after");
    let media = stored.media.unwrap();
    assert_eq!(media.sha256, sha256(&fixture("document.pdf")));
    assert!(stored.edit_date.is_some());
}

#[tokio::test]
async fn edit_message_caption_changes_only_the_caption() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let form = form_with_file(alice, "photo", "photo.jpg", "image/jpeg").text("caption", "old");
    let sent = app.post_multipart("sendPhoto", form).await;
    let id = sent.result()["message_id"].as_i64().unwrap();
    let body = json!({ "chat_id": alice, "message_id": id, "caption": "*new*", "parse_mode": "MarkdownV2" });
    let reply = app.post("editMessageCaption", body).await;
    assert_eq!(reply.result()["caption"], "new");
    assert_eq!(reply.result()["caption_entities"][0]["type"], "bold");
    assert!(reply.result()["photo"].is_array());
    let stored = app.stored(alice, id).unwrap();
    assert_eq!(
        (stored.text.as_str(), stored.media.unwrap().kind.as_str()),
        ("new", "photo")
    );
    let text = app.send_text(alice, "plain text").await;
    let body = json!({ "chat_id": alice, "message_id": text["message_id"], "caption": "x" });
    app.post("editMessageCaption", body).await.assert_error(
        400,
        "Bad Request: there is no caption in the message to edit",
    );
    let body = json!({ "chat_id": alice, "message_id": 999_999, "caption": "x" });
    app.post("editMessageCaption", body)
        .await
        .assert_error(400, "Bad Request: message to edit not found");
}
