//! The receiver: streams the account's Telegram updates, stores each one in a durable outbox
//! before it counts as received, downloads its media, and delivers it to `WEBHOOK_URL` at
//! least once, in order per chat, with a stable id (`update_id`, `webhook-id`) to de-duplicate.
//! Also archives updates as JSON files and serves media and status over HTTP.
//!
//! Pipeline: update stream → [`normalize`] (kind, filters, body, natural key) → [`outbox`]
//! (stored; only then is the update position saved) → media jobs → ready → [`deliver`]
//! (per-chat order, retries with backoff, dead letters) → [`webhook`] (headers, signature).
//!
//! Modules:
//! - `config`: [`Config`] (environment variables, validated once).
//! - `app`: [`App`] — `build` (outbox, media directory, HTTP listener, connect, update stream
//!   with catch-up) and `run_until_stopped` (everything below; SIGTERM drains).
//! - `pipeline`: the update loop — store, then save the position.
//! - [`normalize`]: `telegram::Event` → outbox row, in the `legacy` or `bot_api` format.
//! - [`outbox`]: the SQLite outbox (rows, ids, heads per chat, dead letters).
//! - `dispatch`: media jobs for stored rows, announcing ready rows (stdout, subscribers).
//! - [`deliver`]: the delivery scheduler and [`RetryPolicy`].
//! - [`webhook`]: one POST with its headers; [`webhook::signing`] (Standard Webhooks).
//! - [`nats`]: the JetStream sink (`NATS_URL`): the same bodies, per-chat order, publish
//!   acknowledgements, the webhook's retries, from the outbox's own sink queue.
//! - [`archive`]: `ARCHIVE_DIR` JSON files.
//! - [`accounts`]: many accounts in one process (`SESSIONS_DIR`): an [`App`] per account, one
//!   HTTP server with each account's routes under `/accounts/<name>/`.
//! - [`cluster`]: several instances (`DATABASE_URL`): the same front, serving the accounts this
//!   instance owns, with sessions and outboxes in Postgres.
//! - [`status`]: `/readyz`, `/status`, `/metrics`, `/dead-letters`.
//! - [`media`]: the media directory, downloads under limits, the `media` object, `/media`.
//! - [`login`]: the interactive sign-in on a terminal (phone code, 2FA password, bot token).
//! - [`signin_wait`]: no session and no terminal: healthy, not ready, waiting for the login.
//! - [`payload`]: `IncomingMessage` → the legacy payload, and its stdout line.
//! - [`handlers`]: in-process handlers ([`App::with_handlers`]): commands, patterns and
//!   conversations answered through the receiver's own Telegram connection.
//!
//! Deliberately absent: exactly-once delivery (a consumer de-duplicates by `webhook-id`), and
//! media downloads in the `bot_api` format (its messages carry `file_id`s instead of URLs).

pub mod accounts;
mod app;
pub mod archive;
pub mod cli;
pub mod cluster;
mod config;
pub mod deliver;
mod dispatch;
pub mod handlers;
pub mod login;
pub mod media;
pub mod nats;
pub mod normalize;
pub use ::outbox;
pub mod payload;
mod pipeline;
pub mod signin_wait;
pub mod status;
pub mod webhook;

pub use app::{App, DRAIN_DEADLINE, FLOOD_SLEEP_THRESHOLD, Mount, UPDATES_CAPACITY};
pub use config::Config;
pub use deliver::RetryPolicy;
pub use dispatch::Handled;
pub use media::store::{MediaStore, SweepReport};
pub use normalize::{UpdateKind, WebhookFormat};
pub use outbox::Outbox;
pub use pipeline::Health;
pub use webhook::{SigningSecret, WebhookClient};
