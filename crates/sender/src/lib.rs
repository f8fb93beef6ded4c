//! sender: a REST API shaped like the Telegram Bot API (`POST /api_v1/<method>`, the
//! `{"ok":…}` envelope, Telegram's error texts) that acts as a Telegram *user* account over one
//! persistent MTProto connection.
//!
//! Modules:
//! - [`config`]: [`Config`] from flags / environment (`X_API_TOKEN`, `SENDER_BIND`, `TG_*`).
//! - [`startup`]: [`App`] — bind, connect, serve, graceful shutdown.
//! - [`routes`]: [`routes::router`], the list of every route; one module per method family
//!   (`messages`: sendMessage, editMessageText, deleteMessage).
//! - [`auth`]: the constant-time `x-api-key` check.
//! - [`extract`]: [`extract::BotJson`], the JSON extractor whose rejections name the field.
//! - [`error`]: [`error::ApiError`] and the one `TelegramError` → Bot API error mapping.
//! - [`text`]: `parse_mode`/`entities` handling shared by every method that sends text.
//! - [`state`]: the shared [`state::AppState`].
//!
//! Deliberately absent so far: the `/bot<TOKEN>/<method>` URL layout, form and multipart
//! bodies, media, and every method beyond the three above.

pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod routes;
pub mod startup;
pub mod state;
pub mod text;

pub use config::Config;
pub use startup::App;
