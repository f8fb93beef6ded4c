//! sender: a REST API shaped like the Telegram Bot API (`/api_v1/<method>` with `x-api-key`,
//! and `/bot<token>/<method>` for Bot API client libraries; the `{"ok":…}` envelope, Telegram's
//! error texts) that acts as one Telegram account — a user, or a bot signed in with its token —
//! over one persistent MTProto connection.
//!
//! Modules:
//! - [`accounts`]: many accounts in one process (`SESSIONS_DIR`): the front that routes by
//!   token, one [`routes::router`] per account, the management API `/admin/accounts`.
//! - [`admin_api`]: the management API's body type and OpenAPI paths.
//! - [`cli`]: [`cli::Cli`] — the settings plus the `healthcheck` subcommand.
//! - [`config`]: [`Config`] from flags / environment (`X_API_TOKEN`, `SENDER_BIND`, `TG_*`,
//!   `ALLOW_PRIVATE_URLS`, `MAX_UPLOAD_BYTES`, `URL_DOWNLOAD_TIMEOUT`, `LOGS_DIR`,
//!   `LOG_MAX_FILES`, `RATE_LIMIT_*`, `CORS_ALLOWED_ORIGINS`, `RESPONSE_FORMAT`, `SEND_*`,
//!   `IDEMPOTENCY_TTL`, `PEER_FLOOD_PAUSE`, `NATS_*`).
//! - [`startup`]: [`App`] — bind, connect (or start signed out), serve, graceful shutdown.
//! - [`connection`]: the session slot — signed in (the connection and the handlers' state
//!   bound to it) or not (a login in progress) — swapped by the headless login without a
//!   restart. It knows nothing of routes: the import graph is acyclic, `routes` → `state` →
//!   `connection`.
//! - [`routes`]: [`routes::router`], the list of every route, and [`routes::table`], the one
//!   case-insensitive method table both URL families dispatch through; one module per family
//!   (`messages`: sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage; `media`: sendPhoto,
//!   sendDocument, sendAudio, sendVoice, sendVideo, sendAnimation, sendVideoNote,
//!   sendSticker; `album`: sendMediaGroup, editMessageMedia; `content`: sendLocation,
//!   sendVenue, sendContact, sendPoll, sendDice, sendChatAction; `forward`: forwardMessage(s),
//!   copyMessage(s); `manage`: editMessageCaption, deleteMessages, pin/unpin, reactions;
//!   `account`: getMe, getChat, getUpdates/webhook methods, bot-only refusals; `bot`:
//!   answerCallbackQuery and the setMy*/getMy*/deleteMyCommands methods of bot sessions; `files`:
//!   getFile and downloads; `history`: getChatHistory, searchChatMessages, readChatHistory,
//!   getChats; `reply`: reply parameters and `reply_markup` shared by the send methods; `login`: the headless
//!   login `/api_v1/auth/*`; `health`: `/healthz`, `/readyz`).
//! - [`auth`]: the constant-time checks of `x-api-key` and of the token in `/bot<token>/…`.
//! - [`openapi`]: the OpenAPI document (`/api_v1/openapi.json`) and Swagger UI (`/docs/`),
//!   built from the method table.
//! - [`extract`]: [`extract::BotRequest`], parameters from JSON, urlencoded and multipart
//!   bodies and the query string, with rejections that name the field.
//! - [`upload`]: files streamed to size-capped temporary files.
//! - [`media`]: file parameters (part, `attach://`, URL, `file_id`, `data:`, base64), the URL
//!   fetcher with its address guard, and metadata probing.
//! - [`error`]: [`error::ApiError`] and the one `TelegramError` → Bot API error mapping.
//! - [`envelope`]: the error envelope for answers no handler wrote (axum's 405s, rejections).
//! - [`listener`]: [`listener::EnvelopeIo`], which gives hyper's own 400/414/431 answers
//!   to unparsable requests the envelope too.
//! - [`text`]: `parse_mode`/`entities` handling shared by every method that sends text.
//! - [`state`]: the router's [`state::ServerState`] and the handlers' [`state::AppState`].
//! - [`limits`]: the rate limit (`RATE_LIMIT_PER_SECOND`, 429) and CORS.
//! - [`queue`]: the durable, paced send queue every sending method goes through (SQLite next
//!   to the session; per-chat FIFO lanes; buckets per chat, group, account and for expensive
//!   calls; FLOOD_WAIT parks a lane, PEER_FLOOD pauses the account; one `random_id` per send
//!   across retries and restarts; idempotency keys; synchronous and asynchronous modes).
//! - [`telemetry`]: one log line and the Prometheus metrics per request; `/metrics`.
//! - [`nats`]: the same methods over NATS request/reply (`<prefix>.<account>.call.<method>`),
//!   through the same router, when `NATS_URL` is set.
//! - [`compat`]: the legacy answer shape (`RESPONSE_FORMAT`, `x-response-format`) of the
//!   Python service this sender replaces, one transform over the method routes.
//!
//! Deliberately absent so far: thumbnails, voice waveforms, forum topics, inline messages,
//! inline mode, payments and games, and every method beyond the above.

pub mod accounts;
pub mod admin_api;
pub mod auth;
pub mod cli;
pub mod compat;
pub mod config;
pub mod connection;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod limits;
pub mod listener;
pub mod media;
pub mod nats;
pub mod openapi;
pub mod queue;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod text;
pub mod updates;
pub mod upload;

pub use config::Config;
pub use startup::App;
