//! `getChat`'s result, the Bot API `ChatFullInfo` object
//! (<https://core.telegram.org/bots/api#chatfullinfo>), and `getChats`' list items.

use serde::{Deserialize, Serialize};

use super::{Chat, ChatType, Message};

/// Full information about a chat, as far as this gateway knows it: the [`Chat`] fields plus the
/// keys Bot API 10.1 always sends (`accent_color_id`, `max_reaction_count`,
/// `accepted_gift_types`).
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
    /// The kinds of gifts the chat (the user, for private chats) accepts.
    pub accepted_gift_types: AcceptedGiftTypes,
}

/// Which gifts a user or chat accepts (Bot API "AcceptedGiftTypes", all fields required).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AcceptedGiftTypes {
    /// Regular gifts that can be bought an unlimited number of times.
    pub unlimited_gifts: bool,
    /// Limited-edition regular gifts.
    pub limited_gifts: bool,
    /// Unique (upgraded) gifts or gifts that can be upgraded for free.
    pub unique_gifts: bool,
    /// A Telegram Premium subscription as a gift.
    pub premium_subscription: bool,
    /// Gifts sent by channels.
    pub gifts_from_channels: bool,
}

impl AcceptedGiftTypes {
    /// What a chat of `kind` accepts when nothing more is known (the gateway reads no privacy
    /// settings): a user everything (Telegram's default setting), a channel everything but a
    /// Premium subscription, basic groups and supergroups nothing (gifts go to users and
    /// channels only).
    pub fn default_for(kind: ChatType) -> Self {
        let (any, premium) = match kind {
            ChatType::Private => (true, true),
            ChatType::Channel => (true, false),
            ChatType::Group | ChatType::Supergroup => (false, false),
        };
        Self {
            unlimited_gifts: any,
            limited_gifts: any,
            unique_gifts: any,
            premium_subscription: premium,
            gifts_from_channels: any,
        }
    }
}

impl ChatFullInfo {
    /// Wraps `chat` with the defaults Telegram shows for a chat without customizations.
    pub fn new(chat: Chat) -> Self {
        let accent_color_id = (chat.id.unsigned_abs() % 7) as i32;
        let accepted_gift_types = AcceptedGiftTypes::default_for(chat.kind);
        Self {
            chat,
            accent_color_id,
            max_reaction_count: 11,
            accepted_gift_types,
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
            concat!(
                r#"{"id":14,"type":"private","accent_color_id":0,"max_reaction_count":11,"#,
                r#""accepted_gift_types":{"unlimited_gifts":true,"limited_gifts":true,"#,
                r#""unique_gifts":true,"premium_subscription":true,"gifts_from_channels":true}}"#
            )
        );
    }
}
