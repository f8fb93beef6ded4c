//! Bot API object types, one file per concept, shaped exactly as Telegram serializes them.
//!
//! Field names follow <https://core.telegram.org/bots/api#available-types>. Optional fields are
//! `Option<_>` and are omitted from JSON when `None`, as Telegram omits them.

mod chat;
mod entity;
mod link_preview;
mod media;
mod message;
mod message_id;
mod reply_parameters;
mod user;

pub use chat::{Chat, ChatType};
pub use entity::{MessageEntity, MessageEntityType};
pub use link_preview::LinkPreviewOptions;
pub use media::{Animation, Audio, Document, PhotoSize, Sticker, Video, VideoNote, Voice};
pub use message::Message;
pub use message_id::MessageId;
pub use reply_parameters::ReplyParameters;
pub use user::User;
