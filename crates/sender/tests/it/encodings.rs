//! The same parameters in every encoding real clients use: urlencoded body, query string with
//! an empty body, multipart (chunked too), JSON.

use reqwest::multipart::{Form, Part};

use crate::helpers::{API_KEY, chats, spawn_app};
use crate::media_helpers::{fixture, sha256};

#[tokio::test]
async fn form_urlencoded_send_message_works_with_json_string_objects() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let first = app.send_text(alice, "question").await;
    let first_id = first["message_id"].as_i64().unwrap();
    let reply_parameters = format!("{{\"message_id\":{first_id}}}");
    let entities = r#"[{"type":"italic","offset":0,"length":6}]"#;
    let request = app
        .client
        .post(app.url("/api_v1/sendMessage"))
        .header("x-api-key", API_KEY)
        .form(&[
            ("chat_id", alice.to_string().as_str()),
            ("text", "answer & more"),
            ("entities", entities),
            ("reply_parameters", &reply_parameters),
            ("disable_notification", "True"),
            ("method", "sendMessage"),
        ]);
    let reply = app.send(request).await;
    let msg = reply.result();
    assert_eq!(msg["text"], "answer & more");
    assert_eq!(msg["entities"][0]["type"], "italic");
    assert_eq!(msg["reply_to_message"]["message_id"], first_id);
}

#[tokio::test]
async fn query_string_with_empty_body_works_even_when_long() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let reply = app
        .post_query("sendMessage", &format!("chat_id={alice}&text=hi%20there"))
        .await;
    assert_eq!(reply.result()["text"], "hi there");
    let text = "ж".repeat(4000);
    let encoded: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
    let query = format!("chat_id={alice}&text={encoded}");
    assert!(query.len() > 20_000);
    let reply = app.post_query("sendMessage", &query).await;
    assert_eq!(reply.result()["text"], text);
}

#[tokio::test]
async fn form_values_of_the_wrong_type_name_the_field() {
    let app = spawn_app().await;
    let reply = app
        .post_raw(
            "deleteMessage",
            "application/x-www-form-urlencoded",
            &format!("chat_id={}&message_id=x", chats().alice),
        )
        .await;
    reply.assert_error(
        400,
        r#"Bad Request: field "message_id": invalid type: string "x", expected i32"#,
    );
    let reply = app
        .post_raw(
            "sendMessage",
            "application/x-www-form-urlencoded",
            "text=hi",
        )
        .await;
    reply.assert_error(400, "Bad Request: chat_id is empty");
}

#[tokio::test]
async fn multipart_send_message_works() {
    let app = spawn_app().await;
    let form = Form::new()
        .text("chat_id", chats().alice.to_string())
        .text("text", "<b>multi</b>")
        .text("parse_mode", "HTML");
    let reply = app.post_multipart("sendMessage", form).await;
    assert_eq!(reply.result()["text"], "multi");
}

#[tokio::test]
async fn chunked_multipart_upload_is_streamed() {
    let app = spawn_app().await;
    let bytes = fixture("document.pdf");
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(100).map(|c| Ok(c.to_vec())).collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let part = Part::stream(body)
        .file_name("chunked.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let form = Form::new()
        .text("chat_id", chats().alice.to_string())
        .part("document", part);
    let request = app
        .client
        .post(app.url("/api_v1/sendDocument"))
        .header("x-api-key", API_KEY)
        .multipart(form);
    // A streamed part has no known length, so reqwest sends the body chunked.
    let msg = app.send(request).await.result().clone();
    assert_eq!(msg["document"]["file_name"], "chunked.pdf");
    let stored = app.dc.history(chats().alice).unwrap()[0]
        .media
        .clone()
        .unwrap();
    assert_eq!(stored.sha256, sha256(&bytes));
}

#[tokio::test]
async fn post_without_body_or_content_type_reads_the_query() {
    let app = spawn_app().await;
    let reply = app
        .post_query("deleteMessage", &format!("chat_id={}", chats().alice))
        .await;
    reply.assert_error(400, r#"Bad Request: parameter "message_id" is required"#);
}

#[tokio::test]
async fn null_object_parameters_mean_absent_in_every_encoding() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let nulls = [
        ("reply_parameters", "null"),
        ("entities", "null"),
        ("link_preview_options", "null"),
        ("reply_markup", "null"),
        ("disable_notification", "null"),
        ("message_thread_id", "null"),
    ];
    let mut form = Form::new()
        .text("chat_id", alice.to_string())
        .text("text", "multipart");
    for (name, value) in nulls {
        form = form.text(name, value);
    }
    let sent = app
        .post_multipart("sendMessage", form)
        .await
        .result()
        .clone();
    assert_eq!(sent["text"], "multipart");
    assert!(sent.get("reply_to_message").is_none(), "{sent}");
    let mut body = format!("chat_id={alice}&text=form");
    for (name, value) in nulls {
        body.push_str(&format!("&{name}={value}"));
    }
    let reply = app
        .post_raw("sendMessage", "application/x-www-form-urlencoded", &body)
        .await;
    assert_eq!(reply.result()["text"], "form");
    let query = body.replace("text=form", "text=query");
    assert_eq!(
        app.post_query("sendMessage", &query).await.result()["text"],
        "query"
    );
    let json = serde_json::json!({
        "chat_id": alice, "text": "json", "reply_parameters": null, "entities": null,
        "link_preview_options": null, "reply_markup": null,
    });
    assert_eq!(app.post("sendMessage", json).await.result()["text"], "json");
    // A caption's entities likewise; a string parameter keeps the text "null".
    let photo = Part::bytes(fixture("photo.jpg"))
        .file_name("photo.jpg")
        .mime_str("image/jpeg")
        .unwrap();
    let form = Form::new()
        .text("chat_id", alice.to_string())
        .text("caption", "null")
        .text("caption_entities", "null")
        .text("reply_parameters", "null")
        .part("photo", photo);
    let msg = app.post_multipart("sendPhoto", form).await.result().clone();
    assert_eq!(msg["caption"], "null");
    let reply = app
        .post_raw(
            "editMessageText",
            "application/x-www-form-urlencoded",
            &format!(
                "chat_id={alice}&message_id={}&text=edited&entities=null&link_preview_options=null",
                sent["message_id"]
            ),
        )
        .await;
    assert_eq!(reply.result()["text"], "edited");
}
