//! The receiver: streams the account's Telegram updates and, for every incoming message,
//! prints one line on stdout and POSTs the legacy payload to `WEBHOOK_URL`.
//!
//! Modules:
//! - `config`: [`Config`] (environment variables, validated once).
//! - `app`: [`App`] — `build` (connect, open the update stream) and `run_until_stopped`
//!   (update loop + delivery worker, SIGTERM drains).
//! - `pipeline`: the update loop — convert, print, enqueue; never waits on the webhook.
//! - [`payload`]: `IncomingMessage` → [`botapi::payload::WebhookPayload`] and the stdout line.
//! - [`webhook`]: [`WebhookClient`] (POST, `x-api-key`, backon retries) and the in-order worker.
//!
//! Deliberately absent for now: media download and the `/media` server (the `PUBLIC_*`
//! settings are validated but unused), and a durable outbox (retries are in memory).

mod app;
mod config;
pub mod payload;
mod pipeline;
pub mod webhook;

pub use app::{
    App, DRAIN_DEADLINE, FLOOD_SLEEP_THRESHOLD, UPDATES_CAPACITY, WEBHOOK_QUEUE_CAPACITY,
};
pub use config::Config;
pub use webhook::{RetryPolicy, WebhookClient};
