//! The Bot API error object and constructors for Telegram's exact wordings.

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

/// Extra data of an error (Bot API section "ResponseParameters"); omitted keys when `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ResponseParameters {
    /// Seconds to wait before repeating the request (429 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
    /// The supergroup a basic group was migrated to (Bot API chat id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_to_chat_id: Option<i64>,
}

/// A failed Bot API answer, serialized as
/// `{"ok":false,"error_code":N,"description":"…","parameters":{…}}` (`parameters` only when set).
///
/// The HTTP status must equal `error_code` (python-telegram-bot breaks on 200 + ok:false), and
/// `description` starts with the status phrase ("Bad Request: …"), as Telegram's does; teloxide
/// matches descriptions verbatim, so the constructors below reproduce Telegram's texts exactly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, thiserror::Error)]
#[error("{description}")]
pub struct ApiError {
    /// HTTP status and Bot API `error_code`: 400, 401, 403, 404, 409, 429 or 500.
    pub error_code: u16,
    /// Telegram's human-readable text, e.g. "Bad Request: chat not found".
    pub description: String,
    /// Retry/migration hints.
    #[serde(default)]
    pub parameters: Option<ResponseParameters>,
}

impl Serialize for ApiError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = if self.parameters.is_some() { 4 } else { 3 };
        let mut state = serializer.serialize_struct("ApiError", len)?;
        state.serialize_field("ok", &false)?;
        state.serialize_field("error_code", &self.error_code)?;
        state.serialize_field("description", &self.description)?;
        if let Some(parameters) = &self.parameters {
            state.serialize_field("parameters", parameters)?;
        }
        state.end()
    }
}

impl ApiError {
    fn new(error_code: u16, description: String) -> Self {
        Self {
            error_code,
            description,
            parameters: None,
        }
    }

    /// 400 "Bad Request: {detail}".
    pub fn bad_request(detail: impl std::fmt::Display) -> Self {
        Self::new(400, format!("Bad Request: {detail}"))
    }

    /// 401 "Unauthorized" (wrong or unknown token).
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized".to_owned())
    }

    /// 403 "Forbidden: {detail}".
    pub fn forbidden(detail: impl std::fmt::Display) -> Self {
        Self::new(403, format!("Forbidden: {detail}"))
    }

    /// 409 "Conflict: {detail}": two `getUpdates` at once, or `getUpdates` while a webhook is
    /// set (Bot API, "getUpdates": "will not work if an outgoing webhook is set up").
    pub fn conflict(detail: impl std::fmt::Display) -> Self {
        Self::new(409, format!("Conflict: {detail}"))
    }

    /// 404 "Not Found: method not found" — only for unknown methods: python-telegram-bot
    /// treats any 404 as an invalid token, so missing chats/messages are 400s.
    pub fn not_found_method() -> Self {
        Self::new(404, "Not Found: method not found".to_owned())
    }

    /// 429 "Too Many Requests: retry after N" with `parameters.retry_after = N` seconds
    /// (aiogram needs the parameter; the sender also sets a `Retry-After` header).
    pub fn too_many_requests(retry_after_secs: u32) -> Self {
        Self {
            parameters: Some(ResponseParameters {
                retry_after: Some(retry_after_secs),
                migrate_to_chat_id: None,
            }),
            ..Self::new(
                429,
                format!("Too Many Requests: retry after {retry_after_secs}"),
            )
        }
    }

    /// 500 "Internal Server Error: {detail}". teloxide sleeps 10 s on any 5xx.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(500, format!("Internal Server Error: {detail}"))
    }

    /// 400 "Bad Request: group chat was upgraded to a supergroup chat" with
    /// `parameters.migrate_to_chat_id` (a Bot API chat id).
    pub fn migrated(to_chat_id: i64) -> Self {
        Self {
            parameters: Some(ResponseParameters {
                retry_after: None,
                migrate_to_chat_id: Some(to_chat_id),
            }),
            ..Self::bad_request("group chat was upgraded to a supergroup chat")
        }
    }

    /// 400 "Bad Request: chat not found".
    pub fn chat_not_found() -> Self {
        Self::bad_request("chat not found")
    }

    /// 400 "Bad Request: message to edit not found".
    pub fn message_to_edit_not_found() -> Self {
        Self::bad_request("message to edit not found")
    }

    /// 400 "Bad Request: message to delete not found".
    pub fn message_to_delete_not_found() -> Self {
        Self::bad_request("message to delete not found")
    }

    /// 400 "Bad Request: message to forward not found".
    pub fn message_to_forward_not_found() -> Self {
        Self::bad_request("message to forward not found")
    }

    /// 400 "Bad Request: message to be replied not found".
    pub fn message_to_reply_not_found() -> Self {
        Self::bad_request("message to be replied not found")
    }

    /// 400 "Bad Request: message is not modified: specified new message content and reply
    /// markup are exactly the same as a current content and reply markup of the message".
    pub fn message_not_modified() -> Self {
        Self::bad_request(
            "message is not modified: specified new message content and reply markup are \
             exactly the same as a current content and reply markup of the message",
        )
    }

    /// 400 "Bad Request: message text is empty".
    pub fn message_text_empty() -> Self {
        Self::bad_request("message text is empty")
    }

    /// 400 "Bad Request: message is too long".
    pub fn message_too_long() -> Self {
        Self::bad_request("message is too long")
    }

    /// 400 for a required parameter that is absent or empty, in Telegram's words:
    /// `text` -> "message text is empty", `chat_id` -> "chat_id is empty", anything else ->
    /// `parameter "NAME" is required` (the server's `get_required_string_arg`).
    pub fn missing_parameter(name: &str) -> Self {
        match name {
            "text" => Self::message_text_empty(),
            "chat_id" => Self::bad_request("chat_id is empty"),
            _ => Self::bad_request(format_args!("parameter \"{name}\" is required")),
        }
    }

    /// 400 "Bad Request: {name} {why}", in the style of Telegram's
    /// "sender_chat_id is not a valid Integer"; `why` starts with a verb ("is not a valid Integer").
    pub fn wrong_parameter(name: &str, why: &str) -> Self {
        Self::bad_request(format_args!("{name} {why}"))
    }

    /// 400 "Bad Request: can't parse {what} JSON object", e.g. `what` = "reply parameters".
    pub fn unparsable_json_object(what: &str) -> Self {
        Self::bad_request(format_args!("can't parse {what} JSON object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelope_without_parameters() {
        let json = serde_json::to_string(&ApiError::chat_not_found()).expect("serialize");
        assert_eq!(
            json,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#
        );
    }

    #[test]
    fn too_many_requests_carries_retry_after() {
        let json = serde_json::to_string(&ApiError::too_many_requests(31)).expect("serialize");
        assert_eq!(
            json,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 31","parameters":{"retry_after":31}}"#
        );
    }

    #[test]
    fn constructors_use_telegram_wordings() {
        let cases = [
            (ApiError::unauthorized(), 401, "Unauthorized"),
            (
                ApiError::forbidden("user is deactivated"),
                403,
                "Forbidden: user is deactivated",
            ),
            (
                ApiError::not_found_method(),
                404,
                "Not Found: method not found",
            ),
            (
                ApiError::internal("boom"),
                500,
                "Internal Server Error: boom",
            ),
            (
                ApiError::message_to_edit_not_found(),
                400,
                "Bad Request: message to edit not found",
            ),
            (
                ApiError::message_to_delete_not_found(),
                400,
                "Bad Request: message to delete not found",
            ),
            (
                ApiError::message_text_empty(),
                400,
                "Bad Request: message text is empty",
            ),
            (
                ApiError::message_too_long(),
                400,
                "Bad Request: message is too long",
            ),
            (
                ApiError::missing_parameter("text"),
                400,
                "Bad Request: message text is empty",
            ),
            (
                ApiError::missing_parameter("chat_id"),
                400,
                "Bad Request: chat_id is empty",
            ),
            (
                ApiError::missing_parameter("message_id"),
                400,
                "Bad Request: parameter \"message_id\" is required",
            ),
            (
                ApiError::wrong_parameter("message_id", "is not a valid Integer"),
                400,
                "Bad Request: message_id is not a valid Integer",
            ),
            (
                ApiError::unparsable_json_object("reply parameters"),
                400,
                "Bad Request: can't parse reply parameters JSON object",
            ),
        ];
        for (error, code, description) in cases {
            assert_eq!(
                (error.error_code, error.description.as_str()),
                (code, description)
            );
        }
        assert!(
            ApiError::message_not_modified()
                .description
                .ends_with("exactly the same as a current content and reply markup of the message")
        );
    }

    #[test]
    fn migrated_error_carries_new_chat_id() {
        let value = serde_json::to_value(ApiError::migrated(-1001234)).expect("serialize");
        assert_eq!(value["parameters"]["migrate_to_chat_id"], -1001234);
        let back: ApiError = serde_json::from_value(value).expect("deserialize");
        assert_eq!(back, ApiError::migrated(-1001234));
    }
}
