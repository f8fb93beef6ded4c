//! `BotJson<T>`: the JSON body extractor whose rejections are Bot API error envelopes that name
//! the offending field, never a 422/500 or a panic.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body deserialized into `T`. Unknown fields are ignored (telegraf adds stray
/// ones), as Telegram ignores them.
///
/// Rejections (all `{"ok":false,…}` with the same HTTP status):
/// - Content-Type not `application/json` (or `…+json`) → 400 "Bad Request: unsupported
///   Content-Type …";
/// - unparsable JSON → 400 "Bad Request: can't parse JSON body: …";
/// - a missing (or `null`) top-level field → Telegram's wording from
///   [`botapi::ApiError::missing_parameter`] ("message text is empty", "chat_id is empty",
///   `parameter "NAME" is required`);
/// - a value of the wrong type → 400 `Bad Request: field "PATH": invalid type: …`, PATH being
///   the dotted path such as `reply_parameters.message_id`;
/// - a body over the size limit → 413 "Request Entity Too Large".
#[derive(Debug, Clone, Copy, Default)]
pub struct BotJson<T>(pub T);

impl<S, T> FromRequest<S> for BotJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_content_type(&req)?;
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::with_status(413, "Request Entity Too Large")
            } else {
                botapi::ApiError::bad_request("can't read the request body").into()
            }
        })?;
        parse(&body).map(Self)
    }
}

fn check_content_type(req: &Request) -> Result<(), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        return Ok(());
    }
    let shown = if content_type.is_empty() {
        "(none)"
    } else {
        content_type
    };
    Err(botapi::ApiError::bad_request(format_args!(
        "unsupported Content-Type {shown:?}, send the parameters as application/json"
    ))
    .into())
}

/// Deserializes `body`, turning serde errors into Bot API errors that name the field.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        describe(&path, e.into_inner())
    })?;
    deserializer.end().map_err(|e| describe(".", e))?;
    Ok(value)
}

fn describe(path: &str, error: serde_json::Error) -> ApiError {
    let message = without_position(&error);
    if !error.is_data() {
        return botapi::ApiError::bad_request(format_args!("can't parse JSON body: {message}"))
            .into();
    }
    // `path` is the parent for a missing field; serde names the field in the message.
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return missing(&join(path, field));
    }
    // Telegram treats `null` like an absent parameter.
    if message.starts_with("invalid type: null") {
        return missing(path);
    }
    if path == "chat_id" && message == botapi::ids::ChatIdError::Empty.to_string() {
        return missing("chat_id");
    }
    if path == "." {
        return botapi::ApiError::bad_request(format_args!(
            "the body must be a JSON object: {message}"
        ))
        .into();
    }
    botapi::ApiError::bad_request(format_args!("field \"{path}\": {message}")).into()
}

fn missing(path: &str) -> ApiError {
    botapi::ApiError::missing_parameter(path).into()
}

fn join(parent: &str, field: &str) -> String {
    if parent == "." || parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

/// serde_json's message without its " at line L column C" suffix (meaningless to the caller).
fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    message
        .strip_suffix(&suffix)
        .map(str::to_owned)
        .unwrap_or(message)
}

#[cfg(test)]
mod tests {
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
}
