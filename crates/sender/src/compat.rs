//! The legacy answer shape: successful answers as the Python service (Telethon + FastAPI) this
//! sender replaces gave them, for consumers written against it (issue #14). One response
//! transform ([`layer`]) over every method route, so no handler knows about it.
//!
//! Which shape: `RESPONSE_FORMAT` ([`ResponseFormat`], default `bot_api`), overridden per
//! request by the header [`HEADER`] (`x-response-format: legacy` or `bot_api`; any other value
//! is 400). In the `legacy` shape, only `{"ok":true,"result":…}` answers change, and only their
//! `result` ([`legacy_result`]); errors keep the Bot API envelope. Keys of a transformed answer
//! come out in alphabetical order (the JSON is re-serialized).

use axum::body::{Body, Bytes, HttpBody as _, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use botapi::payload::format_unix_date;
use clap::ValueEnum;
use serde_json::{Map, Value};

pub use crate::config::ResponseFormat;
use crate::error::ApiError;
use crate::extract::MAX_BODY_BYTES;

/// The request header choosing the shape of one answer: `bot_api` or `legacy`.
pub const HEADER: &str = "x-response-format";

/// Longest answer body transformed (bytes); a longer one, or one of unknown size, is passed
/// on unchanged.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// The send methods whose answer is a media Message (lowercase, as the table matches them),
/// with the parameter naming the file.
const MEDIA_METHODS: &[(&str, &str)] = &[
    ("sendphoto", "photo"),
    ("senddocument", "document"),
    ("sendaudio", "audio"),
    ("sendvoice", "voice"),
    ("sendvideo", "video"),
    ("sendanimation", "animation"),
    ("sendvideonote", "video_note"),
    ("sendsticker", "sticker"),
];

/// File kinds of a Message, in the order they are looked for (animation before document: the
/// Bot API fills both for an animation).
const FILE_KINDS: &[&str] = &[
    "animation",
    "photo",
    "voice",
    "audio",
    "video",
    "video_note",
    "sticker",
    "document",
];

/// Middleware (`from_fn_with_state`, state: the `RESPONSE_FORMAT` default) that rewrites
/// successful answers into the legacy shape when the request asks for it, and answers 400
/// "Bad Request: x-response-format must be bot_api or legacy" to an unknown header value.
///
/// For a media method (sendPhoto, …) in a JSON or urlencoded body or the query string, the
/// request's file parameter is read here first (the body buffered, within [`MAX_BODY_BYTES`]:
/// 413 beyond, 400 when it cannot be read), so the answer's `file_url` can name the URL the
/// file came from.
pub async fn layer(
    State(default): State<ResponseFormat>,
    request: Request,
    next: Next,
) -> Response {
    let format = match requested(request.headers()) {
        Ok(format) => format.unwrap_or(default),
        Err(error) => return error.into_response(),
    };
    if format == ResponseFormat::BotApi {
        return next.run(request).await;
    }
    let method = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (request, file_url) = match MEDIA_METHODS.iter().find(|(m, _)| *m == method) {
        Some((_, param)) => match file_url_of(request, param).await {
            Ok(found) => found,
            Err(error) => return error.into_response(),
        },
        None => (request, None),
    };
    let response = next.run(request).await;
    rewrite(response, &method, file_url.as_deref()).await
}

/// The format the [`HEADER`] asks for, `None` without one. Errors: 400 for another value.
fn requested(headers: &HeaderMap) -> Result<Option<ResponseFormat>, ApiError> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default().trim();
    ResponseFormat::from_str(value, true)
        .map(Some)
        .map_err(|_| {
            botapi::ApiError::bad_request(format_args!("{HEADER} must be bot_api or legacy")).into()
        })
}

/// The http(s) URL given as the file parameter `param`, from the query string or a JSON or
/// urlencoded body (buffered and put back); `None` for other bodies (multipart: uploads).
async fn file_url_of(request: Request, param: &str) -> Result<(Request, Option<String>), ApiError> {
    let from_query = request
        .uri()
        .query()
        .and_then(|q| form_value(q.as_bytes(), param));
    let kind = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let json = kind == "application/json";
    if !json && kind != "application/x-www-form-urlencoded" {
        return Ok((request, from_query.filter(|v| is_http_url(v))));
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|error| {
        if over_limit(&error) {
            ApiError::too_large()
        } else {
            botapi::ApiError::bad_request("cannot read the request body").into()
        }
    })?;
    let from_body = if json {
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get(param).and_then(Value::as_str).map(str::to_owned))
    } else {
        form_value(&bytes, param)
    };
    let url = from_body.or(from_query).filter(|v| is_http_url(v));
    Ok((Request::from_parts(parts, Body::from(bytes)), url))
}

/// Whether reading a body failed on a size limit (ours or `RequestBodyLimitLayer`'s).
fn over_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

fn form_value(form: &[u8], param: &str) -> Option<String> {
    form_urlencoded::parse(form)
        .find(|(key, _)| key == param)
        .map(|(_, value)| value.into_owned())
}

fn is_http_url(value: &str) -> bool {
    let lower = value.trim().get(..8).unwrap_or(value).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `response` with its `result` in the legacy shape when it is a JSON `{"ok":true,…}` answer;
/// anything else is passed on as it is.
async fn rewrite(response: Response, method: &str, file_url: Option<&str>) -> Response {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // A body of unknown or large size is passed on untouched rather than cut: the method's
    // side effect has happened, and an error would invite a duplicate on retry.
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= MAX_ANSWER_BYTES as u64);
    if !response.status().is_success() || !is_json || !small {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_ANSWER_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "cannot read an answer to transform it");
            return ApiError::from(botapi::ApiError::internal("cannot read the answer"))
                .into_response();
        }
    };
    let mut answer = match serde_json::from_slice::<Value>(&bytes) {
        Ok(answer) if answer["ok"] == Value::Bool(true) && answer.get("result").is_some() => answer,
        _ => return Response::from_parts(parts, Body::from(bytes)),
    };
    if let Some(result) = answer.get_mut("result") {
        legacy_result(method, result, file_url);
    }
    let body = serde_json::to_vec(&answer).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(CONTENT_LENGTH);
    if let Ok(length) = HeaderValue::from_str(&body.len().to_string()) {
        parts.headers.insert(CONTENT_LENGTH, length);
    }
    Response::from_parts(parts, Body::from(body))
}

/// Rewrites the `result` of `method` (lowercase) into the Python service's shape:
///
/// - `deleteMessage`: `true` → `"Message deleted"`;
/// - every Message in it (the result, the items of a Message array, a `reply_to_message`,
///   …): `date` and `edit_date` as ISO 8601 text in UTC with `+00:00`
///   ([`format_unix_date`]) instead of unix seconds. A Message is an object with an integer
///   `message_id`, an integer `date`, a `chat` object and no `type` key (which tells it from a
///   channel `forward_origin`, whose `date` stays unix seconds);
/// - the Message of a media method (sendPhoto, sendDocument, sendAudio, sendVoice, sendVideo,
///   sendAnimation, sendVideoNote, sendSticker) gets `file_type` (`"photo"`, `"voice"`, …),
///   `file_name` (the file's name when Telegram keeps one — documents, audio, video,
///   animations — else the last path segment of `file_url`, else `null`) and `file_url` (the
///   http(s) URL the request gave for the file, `null` for an upload, a `file_id` or inline
///   base64: then the sender has no URL of its own to give).
pub fn legacy_result(method: &str, result: &mut Value, file_url: Option<&str>) {
    if method == "deletemessage" && *result == Value::Bool(true) {
        *result = Value::String("Message deleted".into());
        return;
    }
    iso_dates(result);
    if MEDIA_METHODS.iter().any(|(m, _)| *m == method)
        && let Value::Object(message) = result
    {
        add_file_fields(message, file_url);
    }
}

/// Turns the unix dates of every Message inside `value` into ISO 8601 text.
fn iso_dates(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if is_message(object) {
                for key in ["date", "edit_date"] {
                    let iso = object
                        .get(key)
                        .and_then(Value::as_i64)
                        .and_then(format_unix_date);
                    if let Some(iso) = iso {
                        object.insert(key.to_owned(), Value::String(iso));
                    }
                }
            }
            object.values_mut().for_each(iso_dates);
        }
        Value::Array(items) => items.iter_mut().for_each(iso_dates),
        _ => {}
    }
}

fn is_message(object: &Map<String, Value>) -> bool {
    object.get("message_id").is_some_and(Value::is_i64)
        && object.get("date").is_some_and(Value::is_i64)
        && object.get("chat").is_some_and(Value::is_object)
        && !object.contains_key("type")
}

fn add_file_fields(message: &mut Map<String, Value>, file_url: Option<&str>) {
    let Some(kind) = FILE_KINDS.iter().find(|k| message.contains_key(**k)) else {
        return;
    };
    let own_name = message
        .get(*kind)
        .and_then(|file| file.get("file_name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let url_name = file_url
        .and_then(|url| url::Url::parse(url).ok())
        .and_then(|url| url.path_segments()?.next_back().map(str::to_owned))
        .filter(|name| !name.is_empty());
    message.insert("file_type".into(), Value::String((*kind).to_owned()));
    message.insert("file_name".into(), own_name.or(url_name).into());
    message.insert("file_url".into(), file_url.map(str::to_owned).into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn photo_message() -> Value {
        json!({"message_id": 5, "date": 1_672_574_400, "chat": {"id": 1, "type": "private"},
               "photo": [{"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1}],
               "reply_to_message": {"message_id": 4, "date": 1_672_574_340,
                                    "chat": {"id": 1, "type": "private"}, "text": "hi"},
               "forward_origin": {"type": "channel", "date": 1_672_574_000,
                                  "chat": {"id": -100, "type": "channel"}, "message_id": 3}})
    }

    #[test]
    fn messages_get_iso_dates_and_media_answers_file_fields() {
        let mut result = photo_message();
        legacy_result(
            "sendphoto",
            &mut result,
            Some("https://example.com/img/cat.jpg?x=1"),
        );
        assert_eq!(result["date"], "2023-01-01T12:00:00+00:00");
        assert_eq!(
            result["reply_to_message"]["date"],
            "2023-01-01T11:59:00+00:00"
        );
        assert_eq!(
            result["forward_origin"]["date"], 1_672_574_000,
            "not a Message"
        );
        assert_eq!(result["file_type"], "photo");
        assert_eq!(result["file_name"], "cat.jpg");
        assert_eq!(result["file_url"], "https://example.com/img/cat.jpg?x=1");

        let mut text = photo_message();
        legacy_result("sendmessage", &mut text, None);
        assert!(text.get("file_type").is_none(), "not a media method");
        let mut uploaded = photo_message();
        legacy_result("sendphoto", &mut uploaded, None);
        assert_eq!(
            (&uploaded["file_name"], &uploaded["file_url"]),
            (&Value::Null, &Value::Null)
        );
    }

    #[test]
    fn documents_keep_their_name_and_arrays_of_messages_are_converted() {
        let mut document = json!({"message_id": 5, "date": 0, "chat": {"id": 1},
            "animation": {"file_id": "a", "file_name": "cat.gif"},
            "document": {"file_id": "a", "file_name": "cat.gif"}});
        legacy_result("senddocument", &mut document, Some("http://h/x.mp4"));
        assert_eq!(document["file_type"], "animation");
        assert_eq!(document["file_name"], "cat.gif");
        assert_eq!(document["date"], "1970-01-01T00:00:00+00:00");

        let mut history =
            json!([{"message_id": 1, "date": 60, "chat": {"id": 1}}, {"message_id": 7}]);
        legacy_result("getchathistory", &mut history, None);
        assert_eq!(history[0]["date"], "1970-01-01T00:01:00+00:00");
        assert_eq!(history[1], json!({"message_id": 7}));
    }

    #[test]
    fn delete_message_answers_with_text_and_other_booleans_stay() {
        let mut deleted = Value::Bool(true);
        legacy_result("deletemessage", &mut deleted, None);
        assert_eq!(deleted, "Message deleted");
        let mut pinned = Value::Bool(true);
        legacy_result("pinchatmessage", &mut pinned, None);
        assert_eq!(pinned, true);
    }

    #[test]
    fn the_header_chooses_a_format_or_is_refused() {
        let mut headers = HeaderMap::new();
        assert_eq!(requested(&headers).ok(), Some(None));
        headers.insert(HEADER, HeaderValue::from_static("Legacy"));
        assert_eq!(requested(&headers).ok(), Some(Some(ResponseFormat::Legacy)));
        headers.insert(HEADER, HeaderValue::from_static("bot_api"));
        assert_eq!(requested(&headers).ok(), Some(Some(ResponseFormat::BotApi)));
        headers.insert(HEADER, HeaderValue::from_static("python"));
        let error = requested(&headers).expect_err("unknown");
        assert_eq!(
            error.0.description,
            "Bad Request: x-response-format must be bot_api or legacy"
        );
    }
}
