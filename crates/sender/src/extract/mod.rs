//! [`BotRequest<T>`]: Bot API parameters from JSON, `application/x-www-form-urlencoded`,
//! `multipart/form-data` (chunked or not) and the query string, merged and deserialized into
//! one typed struct; rejections are Bot API error envelopes that name the offending field.
//!
//! Modules: `lenient` (the string → typed coercions form bodies need), `multipart` (parts to
//! fields and streamed temporary files).

mod lenient;
mod multipart;

use axum::body::HttpBody;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use lenient::Lenient;

use crate::error::ApiError;
use crate::state::AppState;
use crate::upload::Files;

/// Largest body kept in memory (JSON and urlencoded bodies, 50 MiB); larger ones are 413.
/// Multipart bodies are not kept in memory: their files are capped by `MAX_UPLOAD_BYTES`.
pub const MAX_BODY_BYTES: usize = 50 * 1024 * 1024;

/// Largest non-file multipart field (1 MiB; `text` is at most 4096 characters).
pub const MAX_FIELD_BYTES: usize = 1024 * 1024;

/// A request's parameters deserialized into `T`, plus the files of a multipart body.
///
/// Sources, merged, the body winning over the query string: the query string (sync
/// pyTelegramBotAPI sends everything there with an empty body; long URIs are fine), and a
/// body that is JSON (`application/json`, `…+json`), urlencoded or multipart. A body-less
/// request with any or no Content-Type has the query parameters only. In form, multipart and
/// query parameters, scalars are strings (`"123"`, `"true"`/`"True"`) and objects
/// (`reply_parameters`, `entities`, …) JSON strings; [`Lenient`] turns them into `T`'s types.
/// Empty form values count as absent, and so does `null` for anything but a string
/// (`reply_parameters=null`, `entities=null`, `disable_notification=null`, as JSON `null`
/// does); a string parameter keeps the text `null`.
/// Unknown fields are ignored (telegraf adds `method`).
///
/// Multipart parts with a file name, or a Content-Type other than `text/*` or
/// `application/json`, are files: streamed to temporary files ([`crate::upload`]) as they
/// arrive, each at most `MAX_UPLOAD_BYTES`, and put in [`BotRequest::files`] by part name.
///
/// Rejections (all `{"ok":false,…}` with the same HTTP status):
/// - a body with another Content-Type → 400 "Bad Request: unsupported Content-Type …";
/// - unparsable JSON → 400 "Bad Request: can't parse JSON body: …"; a malformed multipart body
///   → 400 "Bad Request: can't parse multipart/form-data body: …";
/// - a missing (or `null`) field → Telegram's wording from
///   [`botapi::ApiError::missing_parameter`] ("message text is empty", "chat_id is empty",
///   `parameter "NAME" is required`);
/// - a value of the wrong type → 400 `Bad Request: field "PATH": invalid type: …`, PATH being
///   the dotted path such as `reply_parameters.message_id`;
/// - a JSON or urlencoded body over [`MAX_BODY_BYTES`], a file over `MAX_UPLOAD_BYTES`, a
///   multipart field over [`MAX_FIELD_BYTES`] → 413 "Request Entity Too Large".
#[derive(Debug)]
pub struct BotRequest<T> {
    pub(crate) params: T,
    /// File parts by name (empty unless the body was multipart).
    pub files: Files,
}

impl<T: DeserializeOwned> FromRequest<AppState> for BotRequest<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let raw = RawParams::read(req, state.max_upload_bytes).await?;
        Ok(Self {
            params: deserialize(Value::Object(raw.fields))?,
            files: raw.files,
        })
    }
}

/// Parameters before typing: every field as JSON (strings for form sources) and the files.
#[derive(Debug, Default)]
pub struct RawParams {
    /// Field name → value.
    pub fields: Map<String, Value>,
    /// File parts by name.
    pub files: Files,
}

enum Encoding {
    Empty,
    Json,
    Form,
    Multipart,
}

impl RawParams {
    /// Reads the query string and the body of `req` (see [`BotRequest`]); files larger than
    /// `max_upload_bytes` are refused with 413.
    pub async fn read(req: Request, max_upload_bytes: u64) -> Result<Self, ApiError> {
        let mut fields = Map::new();
        if let Some(query) = req.uri().query() {
            insert_form_pairs(&mut fields, query.as_bytes());
        }
        let body = match encoding(&req)? {
            Encoding::Empty => Self::default(),
            Encoding::Json => Self {
                fields: json_object(&read_body(req).await?)?,
                files: Files::new(),
            },
            Encoding::Form => {
                let mut form = Map::new();
                insert_form_pairs(&mut form, &read_body(req).await?);
                Self {
                    fields: form,
                    files: Files::new(),
                }
            }
            Encoding::Multipart => multipart::read(req, max_upload_bytes).await?,
        };
        fields.extend(body.fields);
        Ok(Self {
            fields,
            files: body.files,
        })
    }
}

fn encoding(req: &Request) -> Result<Encoding, ApiError> {
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
    match essence.as_str() {
        "application/json" => return Ok(Encoding::Json),
        "application/x-www-form-urlencoded" => return Ok(Encoding::Form),
        "multipart/form-data" => return Ok(Encoding::Multipart),
        e if e.starts_with("application/") && e.ends_with("+json") => return Ok(Encoding::Json),
        _ => {}
    }
    if req.body().size_hint().exact() == Some(0) {
        return Ok(Encoding::Empty);
    }
    let shown = if content_type.is_empty() {
        "(none)"
    } else {
        content_type
    };
    Err(botapi::ApiError::bad_request(format_args!(
        "unsupported Content-Type {shown:?}, send the parameters as application/json, \
         application/x-www-form-urlencoded or multipart/form-data"
    ))
    .into())
}

/// `a=1&b=x` pairs, percent-decoded; empty values are skipped (Telegram treats them as absent).
fn insert_form_pairs(fields: &mut Map<String, Value>, input: &[u8]) {
    for (key, value) in form_urlencoded::parse(input) {
        if !value.is_empty() {
            fields.insert(key.into_owned(), Value::String(value.into_owned()));
        }
    }
}

/// The whole body, at most [`MAX_BODY_BYTES`].
async fn read_body(req: Request) -> Result<Vec<u8>, ApiError> {
    let mut stream = req.into_body().into_data_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| body_error(&e))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// 413 when the outer body limit cut the stream, 400 for anything else (client went away).
pub(crate) fn body_error(error: &(dyn std::error::Error + 'static)) -> ApiError {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return ApiError::too_large();
        }
        cause = e.source();
    }
    botapi::ApiError::bad_request("can't read the request body").into()
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(botapi::ApiError::bad_request("the body must be a JSON object").into()),
        Err(e) => Err(botapi::ApiError::bad_request(format_args!(
            "can't parse JSON body: {}",
            without_position(&e)
        ))
        .into()),
    }
}

/// A JSON body deserialized into `T` with the rejections of [`BotRequest`].
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    deserialize(Value::Object(json_object(body)?))
}

/// Merged parameters deserialized into `T` ([`Lenient`] coercions), errors naming the field.
///
/// A top-level string `"null"` (how forms and query strings say null) where `T` wants no
/// string (an object, an array, a number, a boolean) means the field is absent, as JSON `null`
/// does: the field is dropped and `T` deserialized again. Only the type knows whether `"null"`
/// is text (`caption=null`), hence the retry; it costs a clone only when such a string is
/// present.
pub fn deserialize<T: DeserializeOwned>(fields: Value) -> Result<T, ApiError> {
    let mut fields = fields;
    loop {
        let retry = has_null_string(&fields).then(|| fields.clone());
        let error = match serde_path_to_error::deserialize(Lenient(fields)) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let path = error.path().to_string();
        let error = error.into_inner();
        match retry {
            Some(mut again) if is_type_error(&error) => {
                if !remove_null_string(&mut again, &path) {
                    return Err(describe(&path, error));
                }
                fields = again;
            }
            _ => return Err(describe(&path, error)),
        }
    }
}

fn is_null_string(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.trim() == "null")
}

fn has_null_string(fields: &Value) -> bool {
    fields
        .as_object()
        .is_some_and(|map| map.values().any(is_null_string))
}

/// serde's error for a value of the wrong type: `null` (the JSON inside the string) or the
/// string itself where a number or boolean is wanted.
fn is_type_error(error: &serde_json::Error) -> bool {
    error.to_string().starts_with("invalid type: ")
}

/// Removes the top-level field `name` if it is the string `"null"`; whether it was (a nested
/// path never names a top-level field, so errors inside objects are kept).
fn remove_null_string(fields: &mut Value, name: &str) -> bool {
    let Some(map) = fields.as_object_mut() else {
        return false;
    };
    if map.get(name).is_some_and(is_null_string) {
        map.remove(name);
        true
    } else {
        false
    }
}

fn describe(path: &str, error: serde_json::Error) -> ApiError {
    let message = without_position(&error);
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
mod proptests;
#[cfg(test)]
mod tests;
