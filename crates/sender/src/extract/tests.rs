//! Unit tests of the parameter extractor: JSON rejections, form and query sources.

use super::*;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Probe {
    chat_id: botapi::ids::ChatIdParam,
    text: String,
    message_id: Option<i32>,
    reply_parameters: Option<botapi::types::ReplyParameters>,
}

fn error_of(body: &str) -> String {
    parse::<Probe>(body.as_bytes())
        .expect_err("rejected")
        .0
        .description
}

#[test]
fn rejections_name_the_field() {
    let cases = [
        (
            r#"{"chat_id":1,"text":"a","message_id":"x"}"#,
            r#"Bad Request: field "message_id": invalid type: string "x", expected i32"#,
        ),
        (r#"{"text":"a"}"#, "Bad Request: chat_id is empty"),
        (
            r#"{"chat_id":"","text":"a"}"#,
            "Bad Request: chat_id is empty",
        ),
        (r#"{"chat_id":1}"#, "Bad Request: message text is empty"),
        (
            r#"{"chat_id":1,"text":null}"#,
            "Bad Request: message text is empty",
        ),
        (
            r#"{"chat_id":1,"text":"a","reply_parameters":{}}"#,
            r#"Bad Request: parameter "reply_parameters.message_id" is required"#,
        ),
        (
            r#"{"chat_id":1,"text":"a","reply_parameters":{"message_id":true}}"#,
            r#"Bad Request: field "reply_parameters.message_id": invalid type: boolean `true`, expected i32"#,
        ),
    ];
    for (body, description) in cases {
        assert_eq!(error_of(body), description, "{body}");
    }
}

#[test]
fn malformed_json_and_non_objects_are_bad_requests() {
    assert!(error_of("{\"chat_id\":").starts_with("Bad Request: can't parse JSON body: "));
    assert!(
        error_of(r#"{"chat_id":1,"text":"a"} x"#)
            .starts_with("Bad Request: can't parse JSON body: trailing")
    );
    assert!(error_of("[1]").starts_with("Bad Request: the body must be a JSON object"));
}

#[test]
fn unknown_fields_are_ignored() {
    let probe: Probe =
        parse(br#"{"chat_id":"@alice","text":"hi","method":"sendMessage"}"#).expect("parse");
    assert_eq!(probe.text, "hi");
}

async fn raw(
    uri: &str,
    content_type: Option<&str>,
    body: impl Into<axum::body::Body>,
) -> RawParams {
    let mut builder = axum::http::Request::builder().method("POST").uri(uri);
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    let request = builder.body(body.into()).expect("request");
    RawParams::read(request, 1024).await.expect("read")
}

#[tokio::test]
async fn query_and_form_fields_merge_with_the_body_winning() {
    let params = raw(
        "/api_v1/sendMessage?chat_id=1&text=from%20query&empty=",
        Some("application/x-www-form-urlencoded"),
        "text=from+body&reply_parameters=%7B%22message_id%22%3A3%7D",
    )
    .await;
    let probe: Probe = deserialize(Value::Object(params.fields)).expect("typed");
    assert_eq!(probe.chat_id, botapi::ids::ChatIdParam::Id(1));
    assert_eq!(probe.text, "from body");
    assert_eq!(probe.reply_parameters.expect("reply").message_id, 3);
}

#[tokio::test]
async fn empty_body_without_content_type_uses_the_query_only() {
    let params = raw("/x?chat_id=%40alice&text=hi&message_id=4", None, "").await;
    let probe: Probe = deserialize(Value::Object(params.fields)).expect("typed");
    assert_eq!(probe.message_id, Some(4));
}

#[tokio::test]
async fn multipart_text_fields_and_files_are_separated() {
    let body = "--B\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n\
                --B\r\nContent-Disposition: form-data; name=\"voice\"; filename=\"v.ogg\"\r\n\
                Content-Type: audio/ogg\r\n\r\nOggS-bytes\r\n--B--\r\n";
    let params = raw("/x", Some("multipart/form-data; boundary=B"), body).await;
    assert_eq!(params.fields["chat_id"], "42");
    let voice = &params.files["voice"];
    assert_eq!(
        (
            voice.file_name.as_deref(),
            voice.content_type.as_deref(),
            voice.size
        ),
        (Some("v.ogg"), Some("audio/ogg"), 10)
    );
    assert_eq!(std::fs::read(voice.path()).expect("read"), b"OggS-bytes");
}

#[tokio::test]
async fn oversized_multipart_file_is_413() {
    let body = "--B\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"d\"\r\n\r\n";
    let body = format!("{body}{}\r\n--B--\r\n", "x".repeat(2000));
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/x")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=B")
        .body(axum::body::Body::from(body))
        .expect("request");
    let error = RawParams::read(request, 1024).await.expect_err("too big");
    assert_eq!(error, ApiError::too_large());
}

#[test]
fn null_strings_are_absent_unless_a_string_is_wanted() {
    let probe: Probe =
        parse(br#"{"chat_id":1,"text":"null","reply_parameters":"null","message_id":" null"}"#)
            .expect("parsed");
    assert_eq!(probe.text, "null");
    assert!(probe.reply_parameters.is_none() && probe.message_id.is_none());
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Required {
        message_id: i32,
    }
    let error = parse::<Required>(br#"{"message_id":"null"}"#).expect_err("required");
    assert_eq!(
        error.0.description,
        r#"Bad Request: parameter "message_id" is required"#
    );
    assert_eq!(
        error_of(r#"{"chat_id":1,"text":"a","reply_parameters":{"message_id":"null"}}"#),
        r#"Bad Request: field "reply_parameters.message_id": invalid type: string "null", expected i32"#
    );
}
