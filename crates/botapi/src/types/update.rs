//! The Bot API `Update` object (<https://core.telegram.org/bots/api#update>) and the update
//! payloads the gateway forwards: reaction counts and callback queries, plus one extension for
//! deleted messages (the Bot API has no such update for ordinary chats).

use serde::{Deserialize, Serialize};

use super::{Chat, Message, ReactionType, User};

/// An incoming update: `update_id` and exactly one of the optional fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Update {
    /// Monotonic identifier per account; lets a handler ignore repeats and restore order.
    pub update_id: i64,
    /// A new incoming message (or outgoing, when the gateway forwards those).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// A new version of a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_message: Option<Message>,
    /// A new post in a broadcast channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_post: Option<Message>,
    /// A new version of a channel post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_channel_post: Option<Message>,
    /// Reactions on a message changed (anonymous counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_reaction_count: Option<MessageReactionCountUpdated>,
    /// A press on an inline button.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_query: Option<CallbackQuery>,
    /// Gateway extension, not in the Bot API: messages deleted for everyone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_messages: Option<DeletedMessages>,
}

/// Bot API "MessageReactionCountUpdated".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReactionCountUpdated {
    /// The chat of the message.
    pub chat: Chat,
    /// The message.
    pub message_id: i32,
    /// When the change happened (unix seconds).
    pub date: i64,
    /// Every reaction present on the message.
    pub reactions: Vec<ReactionCount>,
}

/// Bot API "ReactionCount".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionCount {
    /// The reaction.
    #[serde(rename = "type")]
    pub kind: ReactionType,
    /// How many chose it.
    pub total_count: i32,
}

/// Bot API "CallbackQuery".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackQuery {
    /// Unique identifier (decimal).
    pub id: String,
    /// Who pressed the button.
    pub from: User,
    /// The message with the button; the gateway knows only its chat and id, so it sends
    /// Bot API "InaccessibleMessage" (`date` 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<InaccessibleMessage>,
    /// Identifier of the inline message with the button.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_message_id: Option<String>,
    /// Global identifier of the chat (decimal).
    pub chat_instance: String,
    /// The button's `callback_data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Short name of a game.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub game_short_name: Option<String>,
}

/// Bot API "InaccessibleMessage": a message known only by chat and id (`date` is always 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InaccessibleMessage {
    /// The chat.
    pub chat: Chat,
    /// The message id.
    pub message_id: i32,
    /// Always 0.
    pub date: i64,
}

/// Gateway extension: messages deleted for everyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedMessages {
    /// Bot API id of the supergroup or channel; `null` for private chats and basic groups,
    /// where Telegram does not say (message ids there are unique per account).
    pub chat_id: Option<i64>,
    /// The deleted ids.
    pub message_ids: Vec<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ChatType;

    #[test]
    fn only_the_set_field_is_serialized() {
        let update = Update {
            update_id: 7,
            message: Some(Message::new(1, 2, Chat::new(5, ChatType::Private))),
            ..Update::default()
        };
        assert_eq!(
            serde_json::to_string(&update).expect("json"),
            r#"{"update_id":7,"message":{"message_id":1,"date":2,"chat":{"id":5,"type":"private"}}}"#
        );
    }

    #[test]
    fn reaction_count_uses_type_key() {
        let count = ReactionCount {
            kind: ReactionType::Emoji {
                emoji: "👍".into()
            },
            total_count: 2,
        };
        assert_eq!(
            serde_json::to_string(&count).expect("json"),
            r#"{"type":{"type":"emoji","emoji":"👍"},"total_count":2}"#
        );
    }
}
