//! Reading what the queue needs from a send request before it is stored: the whole body (to
//! replay it), the destination `chat_id` (the lane), the idempotency key, whether it is a
//! reply and whether the caller asked for the asynchronous mode. The method's own handler
//! parses the request again when the send is tried; this reads only those few fields.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart};
use axum::http::{HeaderMap, Request, header};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The header carrying an idempotency key (IETF draft "The Idempotency-Key HTTP Header
/// Field", as Stripe and others use it).
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The parameter carrying an idempotency key, for Bot API clients that cannot set headers.
pub const IDEMPOTENCY_FIELD: &str = "idempotency_key";

/// The parameter asking for the asynchronous mode (or `Prefer: respond-async`, RFC 7240).
pub const ASYNC_FIELD: &str = "respond_async";

/// Longest idempotency key accepted, bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// What the queue read from a request.
#[derive(Debug)]
pub struct Intake {
    /// The lane: the destination chat, normalised (`"-100123"`, `"@name"`); `None` when the
    /// request names none (it then runs at once and its handler answers the error).
    pub lane: Option<String>,
    /// A group, supergroup or channel (negative id): the group bucket applies.
    pub group: bool,
    /// An `@username` destination: resolving it is an expensive call.
    pub by_username: bool,
    /// A reply (`reply_parameters` or `reply_to_message_id`): may go before bulk sends.
    pub reply: bool,
    /// The idempotency key, from the header or the parameter.
    pub key: Option<String>,
    /// The asynchronous mode was asked for.
    pub is_async: bool,
    /// The request's Content-Type.
    pub content_type: Option<String>,
    /// The query string.
    pub query: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// Reads `request` (its body up to `limit` bytes).
///
/// Errors: 413 when the body is larger, 400 for an idempotency key that is empty or longer
/// than [`MAX_KEY_BYTES`].
pub async fn read(request: Request<Body>, limit: usize) -> Result<Intake, ApiError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large())?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let query = parts.uri.query().map(str::to_owned);
    let mut fields = Map::new();
    if let Some(query) = &query {
        form_pairs(&mut fields, query.as_bytes());
    }
    let mime = content_type
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if mime.starts_with("application/json") || mime.contains("+json") {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&body) {
            fields.extend(map);
        }
    } else if mime.starts_with("application/x-www-form-urlencoded") {
        form_pairs(&mut fields, &body);
    } else if mime.starts_with("multipart/form-data") {
        multipart_fields(&mut fields, &parts.headers, body.clone()).await;
    }
    let key = idempotency_key(&parts.headers, &fields)?;
    let prefer_async = parts
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
        });
    let (lane, group, by_username) = lane(fields.get("chat_id"));
    Ok(Intake {
        lane,
        group,
        by_username,
        reply: present(&fields, "reply_parameters") || present(&fields, "reply_to_message_id"),
        key,
        is_async: prefer_async || truthy(fields.get(ASYNC_FIELD)),
        content_type,
        query,
        body,
    })
}

fn form_pairs(fields: &mut Map<String, Value>, bytes: &[u8]) {
    for (k, v) in form_urlencoded::parse(bytes) {
        fields.insert(k.into_owned(), Value::String(v.into_owned()));
    }
}

/// The text fields of a multipart body (files are skipped unread).
async fn multipart_fields(fields: &mut Map<String, Value>, headers: &HeaderMap, body: Bytes) {
    let mut request = Request::new(Body::from(body));
    *request.headers_mut() = headers.clone();
    let Ok(mut multipart) = Multipart::from_request(request, &()).await else {
        return;
    };
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().map(str::to_owned);
        if field.file_name().is_some() {
            continue;
        }
        if let (Some(name), Ok(text)) = (name, field.text().await) {
            fields.insert(name, Value::String(text));
        }
    }
}

fn present(fields: &Map<String, Value>, name: &str) -> bool {
    match fields.get(name) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty() && s != "null",
        Some(_) => true,
    }
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1"),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn idempotency_key(
    headers: &HeaderMap,
    fields: &Map<String, Value>,
) -> Result<Option<String>, ApiError> {
    let from_header = headers
        .get(IDEMPOTENCY_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned());
    let from_field = match fields.get(IDEMPOTENCY_FIELD) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(other) => Some(other.to_string()),
    };
    match from_header.or(from_field) {
        None => Ok(None),
        Some(key) if key.is_empty() || key.len() > MAX_KEY_BYTES => {
            Err(botapi::ApiError::bad_request(
                "idempotency key must be 1-255 bytes (Idempotency-Key header or idempotency_key)",
            )
            .into())
        }
        Some(key) => Ok(Some(key)),
    }
}

/// The lane of a `chat_id` value, whether it is a group, and whether it is a username.
fn lane(chat_id: Option<&Value>) -> (Option<String>, bool, bool) {
    let text = match chat_id {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => return (None, false, false),
    };
    if text.is_empty() {
        return (None, false, false);
    }
    if text.starts_with('@') {
        return (Some(text.to_ascii_lowercase()), false, true);
    }
    let group = text.parse::<i64>().is_ok_and(|id| id < 0);
    (Some(text), group, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn intake(content_type: &str, body: &str, headers: &[(&str, &str)]) -> Intake {
        let mut builder =
            Request::post("/api_v1/sendMessage?x=1").header("content-type", content_type);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        read(builder.body(Body::from(body.to_owned())).unwrap(), 1 << 20)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn json_and_form_bodies_give_lane_key_and_mode() {
        let i = intake(
            "application/json",
            r#"{"chat_id":-100123,"text":"hi","idempotency_key":"k1","reply_parameters":{"message_id":3}}"#,
            &[],
        )
        .await;
        assert_eq!(
            (i.lane.as_deref(), i.group, i.reply),
            (Some("-100123"), true, true)
        );
        assert_eq!((i.key.as_deref(), i.is_async), (Some("k1"), false));
        let i = intake(
            "application/x-www-form-urlencoded",
            "chat_id=%40Alice&text=hi",
            &[("idempotency-key", "h"), ("prefer", "respond-async")],
        )
        .await;
        assert_eq!((i.lane.as_deref(), i.by_username), (Some("@alice"), true));
        assert_eq!(
            (i.key.as_deref(), i.is_async, i.reply),
            (Some("h"), true, false)
        );
    }

    #[tokio::test]
    async fn an_empty_key_is_refused() {
        let request = Request::post("/api_v1/sendMessage")
            .header("idempotency-key", " ")
            .body(Body::empty())
            .unwrap();
        let error = read(request, 1024).await.unwrap_err();
        assert_eq!(error.0.error_code, 400);
    }
}
