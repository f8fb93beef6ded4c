//! What the control API takes and shows: simulated users' messages in, messages and media out
//! (Bot API ids, unix seconds).

use serde::{Deserialize, Serialize};

use crate::world::media::{FileKind, StoredFile};
use crate::world::media_kind::{MediaKind, MediaMeta};
use crate::world::{ChatRef, StoredMessage, World};

/// A simulated user's text message (control API input). Ids are Bot API ids.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SendText {
    /// Sender: a user id, or the chat's own (negative) id for an anonymous admin; ignored for
    /// private chats (the other user) and broadcast channels (the channel).
    pub from: Option<i64>,
    /// Chat: a user id for a private chat with the account, `-id` for a basic group,
    /// `-100…` for a supergroup or channel.
    pub chat_id: i64,
    /// UTF-8 text.
    pub text: String,
    /// Reply to this message id of the same chat.
    pub reply_to_message_id: Option<i32>,
}

/// A simulated user's media message (control API input). Ids are Bot API ids.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SendMedia {
    /// Sender, as in [`SendText::from`].
    pub from: Option<i64>,
    /// Chat, as in [`SendText::chat_id`].
    pub chat_id: i64,
    /// What kind of media the client sends.
    pub kind: MediaKind,
    /// Caption (UTF-8, may be empty).
    #[serde(default)]
    pub caption: String,
    /// Reply to this message id of the same chat.
    pub reply_to_message_id: Option<i32>,
    /// File name, MIME type, duration, dimensions, title, performer.
    #[serde(flatten)]
    pub meta: MediaMeta,
}

/// A message as the control API shows it (Bot API ids, unix seconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// Id within its chat's box.
    pub message_id: i32,
    /// Bot API chat id.
    pub chat_id: i64,
    /// Bot API id of the sender (user, or chat for anonymous/channel posts).
    pub from_id: Option<i64>,
    /// Sent by the account.
    pub out: bool,
    /// Unix seconds.
    pub date: i32,
    /// Text.
    pub text: String,
    /// Replied-to message id.
    pub reply_to_message_id: Option<i32>,
    /// Unix seconds of the last edit.
    pub edit_date: Option<i32>,
    /// The attached file, if any.
    pub media: Option<MediaView>,
}

/// An attached file as the control API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaView {
    /// `photo` or `document`.
    pub kind: String,
    /// MIME type (`image/jpeg` for photos).
    pub mime_type: String,
    /// Size in bytes.
    pub size: usize,
    /// Voice note duration, audio duration or video duration in whole seconds.
    pub duration: Option<i32>,
    /// Whether Telegram clients show it as a voice note.
    pub voice: bool,
    /// File name attribute.
    pub file_name: Option<String>,
    /// SHA-256 of the bytes, hex, so tests can compare contents without shipping them.
    pub sha256: String,
}

impl From<&StoredMessage> for MessageView {
    fn from(m: &StoredMessage) -> Self {
        Self {
            message_id: m.id,
            chat_id: m.chat.bot_api_id(),
            from_id: m.from.map(ChatRef::bot_api_id),
            out: m.out,
            date: m.date,
            text: m.text.clone(),
            reply_to_message_id: m.reply_to,
            edit_date: m.edit_date,
            media: None,
        }
    }
}

impl MediaView {
    fn of(file: &StoredFile) -> Self {
        use grammers_tl_types::enums::DocumentAttribute as A;
        use sha2::Digest as _;
        let attributes = file.attributes();
        let duration = attributes.iter().find_map(|a| match a {
            A::Audio(a) => Some(a.duration),
            A::Video(v) => Some(v.duration.round() as i32),
            _ => None,
        });
        let (kind, mime_type) = match &file.kind {
            FileKind::Photo { .. } => ("photo", "image/jpeg".to_owned()),
            FileKind::Document { mime_type, .. } => ("document", mime_type.clone()),
        };
        Self {
            kind: kind.into(),
            mime_type,
            size: file.bytes.len(),
            duration,
            voice: attributes
                .iter()
                .any(|a| matches!(a, A::Audio(a) if a.voice)),
            file_name: attributes.iter().find_map(|a| match a {
                A::Filename(f) => Some(f.file_name.clone()),
                _ => None,
            }),
            sha256: sha2::Sha256::digest(file.bytes.as_slice())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        }
    }
}

pub(crate) fn view(world: &World, m: &StoredMessage) -> MessageView {
    let mut view = MessageView::from(m);
    view.media = m
        .media
        .as_ref()
        .and_then(|r| world.media.files.get(&r.file_id()?))
        .map(MediaView::of);
    view
}
