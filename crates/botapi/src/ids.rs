//! The `chat_id` request parameter. Chat id ↔ MTProto peer is grammers'
//! `PeerId::from_bot_api_dialog_id`/`bot_api_dialog_id`, used inside `telegram`.
//!
//! Source: the Bot API docs for `chat_id` ("Integer or String: unique identifier for the
//! target chat or username of the target channel (in the format @channelusername)").

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::response::ApiError;

/// The `chat_id` request parameter: a Bot API chat id or a public `@username`.
///
/// Deserializes from a JSON integer, a numeric string (`"-100123"`, as form and multipart
/// bodies carry it) or `"@username"`; serializes back as an integer or `"@username"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChatIdParam {
    /// A numeric Bot API chat id.
    Id(i64),
    /// A username, stored without the leading `@`.
    Username(String),
}

/// Why a `chat_id` value was rejected. Display names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatIdError {
    /// The value was an empty string (Telegram: "Bad Request: chat_id is empty").
    #[error("chat_id is empty")]
    Empty,
    /// Neither an integer nor `@username`.
    #[error("chat_id must be an Integer or a String starting with '@', got {0:?}")]
    Invalid(String),
}

impl ChatIdError {
    /// The error Telegram answers with: 400 "chat_id is empty" for an empty value, and
    /// 400 "chat not found" for anything else unparseable (the Bot API server reads such a
    /// value as id 0, which matches no chat).
    pub fn to_api_error(&self) -> ApiError {
        match self {
            Self::Empty => ApiError::bad_request("chat_id is empty"),
            Self::Invalid(_) => ApiError::chat_not_found(),
        }
    }
}

impl ChatIdParam {
    /// Parses the string form of `chat_id`: digits with an optional sign, or `@username`.
    pub fn parse(value: &str) -> Result<Self, ChatIdError> {
        if value.is_empty() {
            return Err(ChatIdError::Empty);
        }
        if let Some(username) = value.strip_prefix('@') {
            let valid = !username.is_empty()
                && username
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            return if valid {
                Ok(Self::Username(username.to_owned()))
            } else {
                Err(ChatIdError::Invalid(value.to_owned()))
            };
        }
        value
            .parse::<i64>()
            .map(Self::Id)
            .map_err(|_| ChatIdError::Invalid(value.to_owned()))
    }
}

impl FromStr for ChatIdParam {
    type Err = ChatIdError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl fmt::Display for ChatIdParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Username(name) => write!(f, "@{name}"),
        }
    }
}

impl Serialize for ChatIdParam {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Id(id) => serializer.serialize_i64(*id),
            Self::Username(_) => serializer.collect_str(self),
        }
    }
}

struct ChatIdVisitor;

impl Visitor<'_> for ChatIdVisitor {
    type Value = ChatIdParam;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("chat_id as an Integer or a String (\"-100123\" or \"@username\")")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<ChatIdParam, E> {
        Ok(ChatIdParam::Id(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<ChatIdParam, E> {
        i64::try_from(value)
            .map(ChatIdParam::Id)
            .map_err(|_| E::custom(format!("chat_id {value} is out of range")))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<ChatIdParam, E> {
        ChatIdParam::parse(value).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for ChatIdParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ChatIdVisitor)
    }
}

/// OpenAPI schema of `chat_id`: an integer or a string (`"-100123"`, `"@username"`).
#[cfg(feature = "utoipa")]
impl utoipa::PartialSchema for ChatIdParam {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Integer))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "Bot API chat id (`-100…` for supergroups and channels) or `@username`",
            ))
            .into()
    }
}

#[cfg(feature = "utoipa")]
impl utoipa::ToSchema for ChatIdParam {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_id_param_accepts_integer_numeric_string_and_username() {
        let from_int: ChatIdParam = serde_json::from_str("-100123").expect("int");
        let from_str: ChatIdParam = serde_json::from_str(r#""-100123""#).expect("str");
        let from_name: ChatIdParam = serde_json::from_str(r#""@durov""#).expect("name");
        assert_eq!(from_int, ChatIdParam::Id(-100123));
        assert_eq!(from_str, ChatIdParam::Id(-100123));
        assert_eq!(from_name, ChatIdParam::Username("durov".into()));
        assert_eq!(
            serde_json::to_string(&from_name).expect("ser"),
            r#""@durov""#
        );
        assert_eq!(serde_json::to_string(&from_str).expect("ser"), "-100123");
    }

    #[test]
    fn chat_id_param_errors_name_the_parameter() {
        let err = serde_json::from_str::<ChatIdParam>(r#""hello""#).expect_err("invalid");
        assert!(err.to_string().contains("chat_id"), "{err}");
        let err = serde_json::from_str::<ChatIdParam>("true").expect_err("bool");
        assert!(err.to_string().contains("chat_id"), "{err}");
        assert_eq!(ChatIdParam::parse(""), Err(ChatIdError::Empty));
        assert_eq!(
            ChatIdError::Empty.to_api_error().description,
            "Bad Request: chat_id is empty"
        );
        assert_eq!(
            ChatIdParam::parse("@").map_err(|e| e.to_api_error().description),
            Err("Bad Request: chat not found".to_owned())
        );
    }
}
