//! The receiver: streams the account's Telegram updates and, for every incoming message,
//! downloads its media, prints one line on stdout and POSTs the legacy payload to
//! `WEBHOOK_URL`; serves the downloaded media over HTTP.
//!
//! Modules:
//! - `config`: [`Config`] (environment variables, validated once).
//! - `app`: [`App`] — `build` (media directory, media listener, connect, update stream) and
//!   `run_until_stopped` (update loop, media jobs, delivery worker, media server, sweep;
//!   SIGTERM drains).
//! - `pipeline`: the update loop — hands each message to the dispatcher; never waits.
//! - `dispatch`: per-chat ordering, background media jobs, emitting (stdout, webhook queue).
//! - [`media`]: the media directory ([`media::store`]), downloads under limits
//!   ([`media::fetch`]), the payload's `media` object ([`media::object`]) and the `/media`
//!   server ([`media::server`]).
//! - [`payload`]: `IncomingMessage` → [`botapi::payload::WebhookPayload`] and the stdout line.
//! - [`webhook`]: [`WebhookClient`] (POST, `x-api-key`, backon retries) and the in-order worker.
//!
//! Payload choices: a media message's `text` is its caption (`null` without one), as the
//! legacy consumer reads `text` for whatever the user typed; `media` is the object described
//! in [`media::object::MediaObject`] and `media_url` its public URL, or both `null` for text.
//!
//! Deliberately absent for now: a durable outbox (retries and media jobs are in memory).

mod app;
mod config;
mod dispatch;
pub mod media;
pub mod payload;
mod pipeline;
pub mod webhook;

pub use app::{
    App, DRAIN_DEADLINE, FLOOD_SLEEP_THRESHOLD, UPDATES_CAPACITY, WEBHOOK_QUEUE_CAPACITY,
};
pub use config::Config;
pub use media::store::{MediaStore, SweepReport};
pub use webhook::{RetryPolicy, WebhookClient};
