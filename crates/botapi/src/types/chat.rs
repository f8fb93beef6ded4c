//! The Bot API `Chat` object (<https://core.telegram.org/bots/api#chat>).

use serde::{Deserialize, Serialize};

/// Kind of a chat, serialized as Telegram's lowercase strings (Bot API "Chat.type").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChatType {
    /// One-to-one chat with a user; the chat id is the user id.
    Private,
    /// Basic group (MTProto `chat`).
    Group,
    /// Supergroup (MTProto `channel` with the megagroup flag).
    Supergroup,
    /// Broadcast channel (MTProto `channel` without the megagroup flag).
    Channel,
}

impl ChatType {
    /// The Bot API string: `"private"`, `"group"`, `"supergroup"` or `"channel"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Group => "group",
            Self::Supergroup => "supergroup",
            Self::Channel => "channel",
        }
    }
}

/// A chat as embedded in messages (Bot API section "Chat").
///
/// `id` is the Bot API chat id: positive for users,
/// `-id` for basic groups, `-1000000000000 - id` for supergroups and channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Chat {
    /// Bot API chat id.
    pub id: i64,
    /// Kind of chat; serialized under the key `type`.
    #[serde(rename = "type")]
    pub kind: ChatType,
    /// Title, for groups, supergroups and channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Username without `@`, for private chats, supergroups and channels that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// First name of the other party in a private chat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name of the other party in a private chat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// `Some(true)` if the supergroup is a forum (has topics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_forum: Option<bool>,
}

impl Chat {
    /// A chat with only `id` and `type` set.
    pub fn new(id: i64, kind: ChatType) -> Self {
        Self {
            id,
            kind,
            title: None,
            username: None,
            first_name: None,
            last_name: None,
            is_forum: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_type_serializes_under_type_key() {
        let chat = Chat {
            title: Some("Team".into()),
            ..Chat::new(-1001234, ChatType::Supergroup)
        };
        let json = serde_json::to_string(&chat).expect("serialize");
        assert_eq!(
            json,
            r#"{"id":-1001234,"type":"supergroup","title":"Team"}"#
        );
    }

    #[test]
    fn chat_type_strings_match_bot_api() {
        for kind in [
            ChatType::Private,
            ChatType::Group,
            ChatType::Supergroup,
            ChatType::Channel,
        ] {
            let json = serde_json::to_string(&kind).expect("serialize");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }
}
