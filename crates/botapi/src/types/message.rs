//! The Bot API `Message` object (<https://core.telegram.org/bots/api#message>).

use serde::{Deserialize, Serialize};

use super::{
    Animation, Audio, Chat, Contact, Dice, Document, InlineKeyboardMarkup, Location, MessageEntity,
    MessageOrigin, PhotoSize, Poll, Sticker, User, Venue, Video, VideoNote, Voice,
};

/// A message (Bot API section "Message"): text, one kind of media with a caption, or a
/// location, venue, contact, poll or dice.
///
/// `date` and `edit_date` are unix timestamps in seconds. In channels `from` is `None` and
/// `sender_chat` is the channel; for anonymous group admins `sender_chat` is the group itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Message {
    /// Unique message identifier inside its chat.
    pub message_id: i32,
    /// Forum topic (message thread) the message belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_thread_id: Option<i32>,
    /// Sender; `None` for channel posts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<User>,
    /// Sender when the message was sent on behalf of a chat (channel posts, anonymous admins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_chat: Option<Chat>,
    /// Send time, unix seconds.
    pub date: i64,
    /// Chat the message belongs to.
    pub chat: Chat,
    /// Where a forwarded message came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_origin: Option<MessageOrigin>,
    /// Last edit time, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_date: Option<i64>,
    /// Album this message belongs to (decimal string of the MTProto `grouped_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_group_id: Option<String>,
    /// Text of a text message, UTF-8, at most 4096 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Entities of `text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<MessageEntity>>,
    /// A photo: every available size, largest last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<Vec<PhotoSize>>,
    /// A music file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<Audio>,
    /// A general file; also set next to `animation`, as the Bot API does for compatibility.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Document>,
    /// A video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<Video>,
    /// A round video message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_note: Option<VideoNote>,
    /// A voice note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<Voice>,
    /// An animation (GIF or silent H.264 video).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub animation: Option<Animation>,
    /// A sticker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticker: Option<Sticker>,
    /// Caption of a media message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Entities of `caption`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption_entities: Option<Vec<MessageEntity>>,
    /// A contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// A dice with a random value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dice: Option<Dice>,
    /// A poll.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll: Option<Poll>,
    /// A venue; `location` is set too, as the Bot API does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue: Option<Venue>,
    /// A location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The message this one replies to; Telegram does not nest a further `reply_to_message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(no_recursion))]
    pub reply_to_message: Option<Box<Message>>,
    /// The inline keyboard attached to the message (buttons the Bot API has no form for, such
    /// as user-profile buttons, are left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
}

impl Message {
    /// A message with only the fields every Message has: `message_id`, `date` (unix seconds)
    /// and `chat`.
    pub fn new(message_id: i32, date: i64, chat: Chat) -> Self {
        Self {
            message_id,
            message_thread_id: None,
            from: None,
            sender_chat: None,
            date,
            chat,
            forward_origin: None,
            edit_date: None,
            media_group_id: None,
            text: None,
            entities: None,
            photo: None,
            audio: None,
            document: None,
            video: None,
            video_note: None,
            voice: None,
            animation: None,
            sticker: None,
            caption: None,
            caption_entities: None,
            contact: None,
            dice: None,
            poll: None,
            venue: None,
            location: None,
            reply_to_message: None,
            reply_markup: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ChatType, MessageEntityType};

    #[test]
    fn minimal_message_has_only_required_keys() {
        let message = Message::new(1, 1_700_000_000, Chat::new(5, ChatType::Private));
        let json = serde_json::to_string(&message).expect("serialize");
        assert_eq!(
            json,
            r#"{"message_id":1,"date":1700000000,"chat":{"id":5,"type":"private"}}"#
        );
    }

    #[test]
    fn text_reply_round_trips() {
        let chat = Chat::new(-100500, ChatType::Group);
        let original = Message {
            text: Some("first".into()),
            ..Message::new(1, 10, chat.clone())
        };
        let reply = Message {
            from: Some(User::new(7, "Bo")),
            text: Some("hi there".into()),
            entities: Some(vec![MessageEntity::new(MessageEntityType::Bold, 0, 2)]),
            reply_to_message: Some(Box::new(original)),
            ..Message::new(2, 11, chat)
        };
        let json = serde_json::to_string(&reply).expect("serialize");
        let back: Message = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, reply);
        assert!(json.contains(r#""reply_to_message":{"message_id":1"#));
    }
}
