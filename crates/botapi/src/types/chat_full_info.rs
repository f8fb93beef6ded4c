//! `getChat`'s result, the Bot API `ChatFullInfo` object
//! (<https://core.telegram.org/bots/api#chatfullinfo>), and `getChats`' list items.

use serde::{Deserialize, Serialize};

use super::{Chat, Message};

/// Full information about a chat, as far as this gateway knows it: the [`Chat`] fields plus the
/// two keys the Bot API always sends (`accent_color_id`, `max_reaction_count`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ChatFullInfo {
    /// `id`, `type`, `title`, `username`, `first_name`, `last_name`, `is_forum`.
    #[serde(flatten)]
    pub chat: Chat,
    /// Accent color of the chat's name (0–6 are the built-in colors; Telegram's default is
    /// derived from the id).
    pub accent_color_id: i32,
    /// Most reactions one message may have (11 by default).
    pub max_reaction_count: i32,
}

impl ChatFullInfo {
    /// Wraps `chat` with the defaults Telegram shows for a chat without customizations.
    pub fn new(chat: Chat) -> Self {
        let accent_color_id = (chat.id.unsigned_abs() % 7) as i32;
        Self {
            chat,
            accent_color_id,
            max_reaction_count: 11,
        }
    }
}

/// One chat of the account's chat list (`getChats`, not part of the Bot API): the [`Chat`] with
/// its newest message and unread count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ChatListItem {
    /// The chat's fields.
    #[serde(flatten)]
    pub chat: Chat,
    /// The newest message, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_message: Option<Message>,
    /// Messages not read yet.
    pub unread_count: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ChatType;

    #[test]
    fn full_info_flattens_the_chat() {
        let info = ChatFullInfo::new(Chat::new(14, ChatType::Private));
        assert_eq!(
            serde_json::to_string(&info).expect("serialize"),
            r#"{"id":14,"type":"private","accent_color_id":0,"max_reaction_count":11}"#
        );
    }
}
