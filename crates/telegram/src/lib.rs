//! The only crate that talks to grammers-client: connecting with the shared session, resolving
//! Bot API chat ids to MTProto peers, sending/editing/deleting messages, streaming updates,
//! and converting MTProto objects into `botapi` types.
//!
//! Modules: `client` ([`Telegram`], [`TelegramConfig`], [`Account`],
//! [`DEFAULT_UPLOAD_CONCURRENCY`]), `resolve` (`chat_id` → peer), `messages`
//! (send/edit/get/delete), `updates` ([`UpdateStream`]),
//! `position` ([`Position`]: how far the update stream got), `stale` (channels Telegram no
//! longer answers for leave the update state), `pool_session` (the session as grammers sees
//! it), `convert` and `peers` (MTProto → Bot API), `entities` (Bot API ↔ MTProto formatting),
//! [`login`] (phone code, 2FA, bot token, log out), [`media`] (media kinds, `file_id`,
//! Bot API media objects, uploads and downloads),
//! `actions` (forward/copy, pins, reactions, chat actions, bulk delete), `content` (location,
//! venue, contact, poll, dice), `chats` (getChat, the chat list), `history` (history, search,
//! read marks), `outgoing` ([`with_random_id`]: one `random_id` per send across retries, and
//! finding a send's messages when Telegram answers `RANDOM_ID_DUPLICATE`), `results` (unpacking multi-message results), `error` ([`TelegramError`], [`watch_floods`]),
//! `markup` (Bot API `reply_markup` ↔ MTProto), `bots` (callback answers, commands, the
//! bot's name and descriptions: bot sessions only).

mod actions;
mod bots;
mod chats;
mod client;
mod content;
pub mod convert;
mod entities;
mod error;
mod events;
mod history;
pub mod login;
mod markup;
pub mod media;
mod messages;
mod outgoing;
pub mod peers;
mod pool_session;
mod position;
mod resolve;
mod results;
mod stale;
mod updates;

pub use actions::Forward;
pub use bots::{BotInfo, BotInfoField, CallbackAnswer};
pub use client::{Account, DEFAULT_UPLOAD_CONCURRENCY, SharedSession, Telegram, TelegramConfig};
pub use content::{InlineMedia, OutgoingPoll};
pub use error::{Flood, TelegramError, watch_floods};
pub use events::{CallbackQueryEvent, DeletedMessages, Event, ReactionCounts};
pub use messages::{OutgoingText, SendOptions};
pub use outgoing::with_random_id;
pub use position::Position;
pub use resolve::Peer;
pub use resolve::USERNAME_TTL;
pub use updates::{IncomingMessage, UpdateStream};
