//! sender: a REST API shaped like the Telegram Bot API (`POST /api_v1/<method>`, the
//! `{"ok":…}` envelope, Telegram's error texts) that acts as a Telegram *user* account over one
//! persistent MTProto connection.
//!
//! Modules:
//! - [`config`]: [`Config`] from flags / environment (`X_API_TOKEN`, `SENDER_BIND`, `TG_*`,
//!   `ALLOW_PRIVATE_URLS`, `MAX_UPLOAD_BYTES`, `URL_DOWNLOAD_TIMEOUT`).
//! - [`startup`]: [`App`] — bind, connect, serve, graceful shutdown.
//! - [`routes`]: [`routes::router`], the list of every route; one module per method family
//!   (`messages`: sendMessage, editMessageText, deleteMessage; `media`: sendPhoto,
//!   sendDocument, sendAudio, sendVoice, sendVideo, sendAnimation, sendVideoNote,
//!   sendSticker; `album`: sendMediaGroup, editMessageMedia; `content`: sendLocation,
//!   sendVenue, sendContact, sendPoll, sendDice, sendChatAction; `forward`: forwardMessage(s),
//!   copyMessage(s); `manage`: editMessageCaption, deleteMessages, pin/unpin, reactions;
//!   `account`: getMe, getChat, getUpdates/webhook methods, bot-only refusals; `files`:
//!   getFile and downloads; `history`: getChatHistory, searchChatMessages, readChatHistory,
//!   getChats; `reply`: reply parameters shared by the send methods).
//! - [`auth`]: the constant-time `x-api-key` check.
//! - [`extract`]: [`extract::BotRequest`], parameters from JSON, urlencoded and multipart
//!   bodies and the query string, with rejections that name the field.
//! - [`upload`]: files streamed to size-capped temporary files.
//! - [`media`]: file parameters (part, `attach://`, URL, `file_id`, `data:`, base64), the URL
//!   fetcher with its address guard, and metadata probing.
//! - [`error`]: [`error::ApiError`] and the one `TelegramError` → Bot API error mapping.
//! - [`text`]: `parse_mode`/`entities` handling shared by every method that sends text.
//! - [`state`]: the shared [`state::AppState`].
//!
//! Deliberately absent so far: the `/bot<TOKEN>/<method>` URL layout (only file downloads use
//! `/file/bot<TOKEN>/…`), case-insensitive method names, thumbnails, voice waveforms,
//! `reply_markup`, forum topics, inline messages, and every method beyond the above.

pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod media;
pub mod routes;
pub mod startup;
pub mod state;
pub mod text;
pub mod upload;

pub use config::Config;
pub use startup::App;
