//! The Bot API `ReplyParameters` object (<https://core.telegram.org/bots/api#replyparameters>).

use serde::{Deserialize, Serialize};

use super::MessageEntity;
use crate::ids::ChatIdParam;

/// What a message being sent replies to (Bot API section "ReplyParameters").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReplyParameters {
    /// Identifier of the message replied to, in `chat_id` or the current chat.
    pub message_id: i32,
    /// Chat of the replied message if it differs from the current chat: an id or `@username`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<ChatIdParam>,
    /// Send even if the replied message is not found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_sending_without_reply: Option<bool>,
    /// Quoted part of the replied message, after entity parsing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    /// `parse_mode` for `quote` (see [`crate::formatting::ParseMode`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_parse_mode: Option<String>,
    /// Entities of `quote`, instead of `quote_parse_mode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_entities: Option<Vec<MessageEntity>>,
    /// Position of the quote in the original message, in UTF-16 code units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_position: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_username_chat_id() {
        let params: ReplyParameters =
            serde_json::from_str(r#"{"message_id":5,"chat_id":"@news"}"#).expect("deserialize");
        assert_eq!(params.message_id, 5);
        assert_eq!(params.chat_id, Some(ChatIdParam::Username("news".into())));
        assert_eq!(
            serde_json::to_string(&params).expect("serialize"),
            r#"{"message_id":5,"chat_id":"@news"}"#
        );
    }
}
