//! The Bot API `MessageEntity` object (<https://core.telegram.org/bots/api#messageentity>).

use serde::{Deserialize, Serialize};

use super::User;

/// Kind of a message entity, serialized as the Bot API's snake_case strings
/// (Bot API "MessageEntity.type").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageEntityType {
    /// `@username`
    Mention,
    /// `#hashtag` or `#hashtag@chatusername`
    Hashtag,
    /// `$USD` or `$USD@chatusername`
    Cashtag,
    /// `/start@jobs_bot`
    BotCommand,
    /// `https://telegram.org`
    Url,
    /// `do-not-reply@telegram.org`
    Email,
    /// `+1-212-555-0123`
    PhoneNumber,
    /// Bold text.
    Bold,
    /// Italic text.
    Italic,
    /// Underlined text.
    Underline,
    /// Strikethrough text.
    Strikethrough,
    /// Spoiler message.
    Spoiler,
    /// Block quotation.
    Blockquote,
    /// Collapsed-by-default block quotation.
    ExpandableBlockquote,
    /// Monowidth string.
    Code,
    /// Monowidth block; `language` may be set.
    Pre,
    /// Clickable text URL; `url` is set.
    TextLink,
    /// Mention of a user without a username; `user` is set.
    TextMention,
    /// Inline custom emoji sticker; `custom_emoji_id` is set.
    CustomEmoji,
}

impl MessageEntityType {
    /// The Bot API string for this kind, e.g. `"text_link"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mention => "mention",
            Self::Hashtag => "hashtag",
            Self::Cashtag => "cashtag",
            Self::BotCommand => "bot_command",
            Self::Url => "url",
            Self::Email => "email",
            Self::PhoneNumber => "phone_number",
            Self::Bold => "bold",
            Self::Italic => "italic",
            Self::Underline => "underline",
            Self::Strikethrough => "strikethrough",
            Self::Spoiler => "spoiler",
            Self::Blockquote => "blockquote",
            Self::ExpandableBlockquote => "expandable_blockquote",
            Self::Code => "code",
            Self::Pre => "pre",
            Self::TextLink => "text_link",
            Self::TextMention => "text_mention",
            Self::CustomEmoji => "custom_emoji",
        }
    }
}

/// One special entity in a text (Bot API section "MessageEntity").
///
/// `offset` and `length` count UTF-16 code units, as the Bot API specifies, so an emoji outside
/// the BMP counts 2 and a CJK ideograph counts 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MessageEntity {
    /// Kind of entity; serialized under the key `type`.
    #[serde(rename = "type")]
    pub kind: MessageEntityType,
    /// Start, in UTF-16 code units from the start of the text.
    pub offset: u32,
    /// Length in UTF-16 code units.
    pub length: u32,
    /// For `text_link` only: the URL opened on tap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For `text_mention` only: the mentioned user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// For `pre` only: the programming language of the block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// For `custom_emoji` only: the custom emoji's sticker id, as a decimal string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_emoji_id: Option<String>,
}

impl MessageEntity {
    /// An entity of `kind` with no extra fields.
    pub fn new(kind: MessageEntityType, offset: u32, length: u32) -> Self {
        Self {
            kind,
            offset,
            length,
            url: None,
            user: None,
            language: None,
            custom_emoji_id: None,
        }
    }

    /// A `text_link` entity pointing at `url`.
    pub fn text_link(offset: u32, length: u32, url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::new(MessageEntityType::TextLink, offset, length)
        }
    }

    /// A `pre` entity with an optional `language`.
    pub fn pre(offset: u32, length: u32, language: Option<String>) -> Self {
        Self {
            language,
            ..Self::new(MessageEntityType::Pre, offset, length)
        }
    }

    /// A `custom_emoji` entity for the sticker `custom_emoji_id`.
    pub fn custom_emoji(offset: u32, length: u32, custom_emoji_id: impl Into<String>) -> Self {
        Self {
            custom_emoji_id: Some(custom_emoji_id.into()),
            ..Self::new(MessageEntityType::CustomEmoji, offset, length)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_kinds_serialize_as_bot_api_strings() {
        for kind in [
            MessageEntityType::BotCommand,
            MessageEntityType::ExpandableBlockquote,
            MessageEntityType::CustomEmoji,
            MessageEntityType::TextMention,
            MessageEntityType::PhoneNumber,
        ] {
            let json = serde_json::to_string(&kind).expect("serialize");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn text_link_serializes_with_url_only() {
        let json = serde_json::to_string(&MessageEntity::text_link(0, 4, "https://t.me/"))
            .expect("serialize");
        assert_eq!(
            json,
            r#"{"type":"text_link","offset":0,"length":4,"url":"https://t.me/"}"#
        );
    }

    #[test]
    fn deserializes_client_supplied_entities() {
        let entity: MessageEntity =
            serde_json::from_str(r#"{"type":"custom_emoji","offset":1,"length":2,"custom_emoji_id":"5368324170671202286"}"#)
                .expect("deserialize");
        assert_eq!(
            entity,
            MessageEntity::custom_emoji(1, 2, "5368324170671202286")
        );
    }
}
