//! Bot API object types, one file per concept, shaped exactly as Telegram serializes them.
//!
//! Field names follow <https://core.telegram.org/bots/api#available-types>. Optional fields are
//! `Option<_>` and are omitted from JSON when `None`, as Telegram omits them.

mod bot_command;
mod chat;
mod chat_action;
mod chat_full_info;
mod entity;
mod file;
mod input_media;
mod link_preview;
mod location;
mod media;
mod message;
mod message_id;
mod origin;
mod poll;
mod reaction;
mod reply_markup;
mod reply_parameters;
mod update;
mod user;

pub use bot_command::{BotCommand, BotCommandScope, BotDescription, BotName, BotShortDescription};
pub use chat::{Chat, ChatType};
pub use chat_action::{ChatAction, UnknownChatAction};
pub use chat_full_info::{AcceptedGiftTypes, ChatFullInfo, ChatListItem};
pub use entity::{MessageEntity, MessageEntityType};
pub use file::File;
pub use input_media::{InputMedia, InputMediaType};
pub use link_preview::LinkPreviewOptions;
pub use location::{Contact, Dice, Location, Venue};
pub use media::{Animation, Audio, Document, PhotoSize, Sticker, Video, VideoNote, Voice};
pub use message::Message;
pub use message_id::MessageId;
pub use origin::MessageOrigin;
pub use poll::{InputPollOption, InputPollOptionParam, Poll, PollOption};
pub use reaction::ReactionType;
pub use reply_markup::{
    CALLBACK_DATA_MAX_BYTES, CallbackGame, CopyTextButton, DisabledButton, ForceReply,
    InlineButtonAction, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton,
    KeyboardButtonPollType, KeyboardButtonRequestChat, KeyboardButtonRequestUsers, LoginUrl,
    PLACEHOLDER_MAX_CHARS, ReplyKeyboardMarkup, ReplyKeyboardRemove, ReplyMarkup,
    SwitchInlineQueryChosenChat, WebAppInfo,
};
pub use reply_parameters::ReplyParameters;
pub use update::{
    CallbackQuery, DeletedMessages, InaccessibleMessage, MessageReactionCountUpdated,
    ReactionCount, Update,
};
pub use user::User;
