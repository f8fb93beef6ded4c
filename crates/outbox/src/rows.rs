//! What goes into the outbox and what comes out of it.

use serde::{Deserialize, Serialize};

/// An update to store.
#[derive(Clone, Debug)]
pub struct NewUpdate {
    /// Unique name of the update itself (see the module docs); a second insert with the same
    /// key returns the first row.
    pub natural_key: String,
    /// `message`, `edited_message`, … (the `allowed_updates` name).
    pub kind: &'static str,
    /// The ordering lane: the Bot API chat id (0 when unknown).
    pub chat_id: i64,
    /// The JSON body; its top-level `update_id` is filled in on insert.
    pub body: serde_json::Value,
    /// Files to download before the body is ready; empty: ready at once.
    pub downloads: Vec<Download>,
    /// The Bot API `Update` when `body` is in another format (the legacy payload), for
    /// `getUpdates` and webhooks set with `setWebhook`; `None` when `body` is that `Update`.
    /// Its top-level `update_id` is filled in on insert too.
    pub update_json: Option<serde_json::Value>,
}

/// One file to download, and where its outcome goes in the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Download {
    /// Bot API `file_id` (decoded again after a restart).
    pub file_id: String,
    /// Announced size in bytes.
    pub size: Option<u64>,
    /// MIME type, for the extension.
    pub mime_type: Option<String>,
    /// Original file name.
    pub file_name: Option<String>,
    /// JSON pointer that receives the media URL (or stays `null`).
    pub url_at: String,
    /// JSON pointer that receives why the file was skipped, if anywhere.
    pub skipped_at: Option<String>,
}

/// The result of an insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inserted {
    /// The row's `update_id`.
    pub id: i64,
    /// `false` when the natural key was already stored (a replay): nothing was written.
    pub fresh: bool,
    /// Whether the row waits for downloads.
    pub media: bool,
}

/// A row waiting for its media.
#[derive(Clone, Debug)]
pub struct PendingMedia {
    /// `update_id`.
    pub id: i64,
    /// `message`, `edited_message`, … (the `allowed_updates` name).
    pub kind: String,
    /// The ordering lane (Bot API chat id), announced when the row becomes ready.
    pub chat_id: i64,
    /// The JSON body (its `update_id` filled in).
    pub body: serde_json::Value,
    /// The files still to download.
    pub downloads: Vec<Download>,
}

/// An open row as the scheduler sees it (a chat's head, or one of a lane's rows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    /// `update_id`.
    pub id: i64,
    /// The `webhook-id`.
    pub webhook_id: String,
    /// The ordering lane (Bot API chat id).
    pub chat_id: i64,
    /// `message`, `edited_message`, … (the `allowed_updates` name).
    pub kind: String,
    /// `false` while its media is downloading.
    pub ready: bool,
    /// The JSON body as stored.
    pub body: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it was stored, unix ms.
    pub received_at: i64,
    /// Not before this, unix ms.
    pub next_attempt_at: i64,
    /// The Bot API `Update` when `body` is in another format ([`NewUpdate::update_json`]).
    pub update_json: Option<String>,
}

/// How one delivery attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered,
    /// Anything else; retry at `retry_at` (unix ms).
    Retry {
        /// What went wrong.
        error: String,
        /// Next attempt, unix ms.
        retry_at: i64,
    },
    /// Failed and past the maximum age.
    Dead {
        /// What went wrong last.
        error: String,
    },
}

/// A dead letter as `/dead-letters` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// `update_id`.
    pub update_id: i64,
    /// The `webhook-id` header.
    pub webhook_id: String,
    /// `message`, `edited_message`, … (the `allowed_updates` name).
    pub kind: String,
    /// The ordering lane (Bot API chat id, 0 when unknown).
    pub chat_id: i64,
    /// Attempts made.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was stored, unix ms.
    pub received_at: i64,
    /// When it was given up, unix ms.
    pub died_at: Option<i64>,
    /// Where it failed to go: `webhook` (the webhook, the row of `updates`) or `nats` (the
    /// JetStream sink, the row of `sink`). One update can be a dead letter of both.
    pub target: String,
}

/// Numbers for `/status` and the pending gauge.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Rows not yet delivered (media or ready).
    pub pending: u64,
    /// When the oldest pending row was stored, unix ms.
    pub oldest_pending_at: Option<i64>,
    /// Dead letters.
    pub dead_letters: u64,
    /// The most recent delivery error.
    pub last_error: Option<String>,
    /// When it happened, unix ms.
    pub last_error_at: Option<i64>,
}
