//! The Bot API `MessageOrigin` object (<https://core.telegram.org/bots/api#messageorigin>):
//! where a forwarded message came from.

use serde::{Deserialize, Serialize};

use super::{Chat, User};

/// The origin of a forwarded message, serialized with its `type` key: `user`, `hidden_user`,
/// `chat` or `channel`. `date` is the original message's send time, unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageOrigin {
    /// Originally sent by a known user (Bot API "MessageOriginUser").
    User {
        /// Original send time, unix seconds.
        date: i64,
        /// The user who sent it.
        sender_user: User,
    },
    /// Originally sent by a user who hides their account (Bot API "MessageOriginHiddenUser").
    HiddenUser {
        /// Original send time, unix seconds.
        date: i64,
        /// The name the user chose to show.
        sender_user_name: String,
    },
    /// Originally sent on behalf of a chat, e.g. an anonymous admin (Bot API "MessageOriginChat").
    Chat {
        /// Original send time, unix seconds.
        date: i64,
        /// The chat that sent it.
        sender_chat: Chat,
        /// The anonymous admin's signature, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        author_signature: Option<String>,
    },
    /// Originally a channel post (Bot API "MessageOriginChannel").
    Channel {
        /// Original send time, unix seconds.
        date: i64,
        /// The channel.
        chat: Chat,
        /// The post's id in the channel.
        message_id: i32,
        /// The author's signature, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        author_signature: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ChatType;

    #[test]
    fn origins_carry_their_type_tag() {
        let user = MessageOrigin::User {
            date: 5,
            sender_user: User::new(7, "Ann"),
        };
        assert_eq!(
            serde_json::to_string(&user).expect("serialize"),
            r#"{"type":"user","date":5,"sender_user":{"id":7,"is_bot":false,"first_name":"Ann"}}"#
        );
        let channel = MessageOrigin::Channel {
            date: 5,
            chat: Chat::new(-1001, ChatType::Channel),
            message_id: 3,
            author_signature: None,
        };
        let json = serde_json::to_value(&channel).expect("serialize");
        assert_eq!(json["type"], "channel");
        assert_eq!(json["message_id"], 3);
        let back: MessageOrigin = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, channel);
    }
}
