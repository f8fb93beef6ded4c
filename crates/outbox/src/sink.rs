//! The second delivery target's queue (schema version 3, `schema::V3`): with
//! [`super::Mode::sink`] set (the NATS JetStream sink), every fresh update also gets a row in
//! `sink`, written in the same transaction as its `updates` row, holding its own copy of the
//! body until the target acknowledged it. The `updates` row's life (webhook status, pruning,
//! archive) is untouched: the two targets succeed, retry and die independently, each in
//! per-chat `update_id` order.
//!
//! Rows: `state` is [`SinkState`]; a row acknowledged by the target is deleted (the target
//! de-duplicates a re-publish after a crash by the `webhook-id`); a dead one stays until
//! replayed ([`super::Outbox::replay`] revives both kinds of dead letters).

use super::db::Db;
use super::value::{Result, Row, int, text};
use super::{Outbox, now_ms};

/// Where a `sink` row is. The numbers are literals in the statements below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i64)]
pub enum SinkState {
    /// Its media is downloading; holds back its chat.
    Media = 0,
    /// Ready to publish (or being retried).
    Ready = 1,
    /// Failed past the maximum age: a dead letter of the sink.
    Dead = 2,
}

/// How many rows [`Outbox::sink_lane`] reads at once.
pub const SINK_LANE_ROWS: usize = 64;

/// An open `sink` row, as a lane publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkRow {
    /// `update_id`.
    pub id: i64,
    /// The `webhook-id`: the target's de-duplication id.
    pub webhook_id: String,
    /// The ordering lane (Bot API chat id, 0 when unknown).
    pub chat_id: i64,
    /// `message`, `edited_message`, … (the `allowed_updates` name).
    pub kind: String,
    /// `false` while its media is downloading.
    pub ready: bool,
    /// The body, as the webhook gets it.
    pub body: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the update was stored, unix ms.
    pub received_at: i64,
    /// Not before this, unix ms.
    pub next_attempt_at: i64,
}

/// Sink rows pending and dead, for logs and `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Rows not yet acknowledged (media or ready).
    pub pending: u64,
    /// Dead letters of the sink.
    pub dead: u64,
}

/// Queues a freshly stored update for the sink (inside `insert_all`'s transaction).
pub(super) async fn queue(
    db: &mut Db,
    id: i64,
    chat_id: i64,
    kind: &str,
    media: bool,
    body: &str,
    now: i64,
) -> Result<()> {
    let state = if media {
        SinkState::Media
    } else {
        SinkState::Ready
    };
    db.execute(
        "sink_queue",
        "INSERT INTO sink (id, chat_id, kind, state, body, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        params![id, chat_id, kind, state as i64, body, now],
    )
    .await?;
    Ok(())
}

/// The media of row `id` is done: its sink row is ready with the final `body`.
pub(super) async fn media_done(db: &mut Db, id: i64, body: &str) -> Result<()> {
    db.execute(
        "sink_media_done",
        "UPDATE sink SET state = 1, body = ?1 WHERE id = ?2 AND state = 0",
        params![body, id],
    )
    .await?;
    Ok(())
}

/// Dead sink rows (all, or `update_id`) made publishable again with a fresh age.
pub(super) async fn replay(db: &mut Db, update_id: Option<i64>) -> Result<u64> {
    db.execute(
        "sink_replay",
        "UPDATE sink SET state = 1, attempts = 0, next_attempt_at = 0, received_at = ?1
         WHERE state = 2 AND (?2 IS NULL OR id = ?2)",
        params![now_ms(), update_id],
    )
    .await
}

fn sink_row(outbox: &Outbox) -> impl Fn(&Row<'_>) -> Result<SinkRow> + '_ {
    move |r| {
        let id = int(r, 0)?;
        Ok(SinkRow {
            id,
            webhook_id: outbox.webhook_id(id),
            chat_id: int(r, 1)?,
            kind: text(r, 2)?,
            ready: int(r, 3)? == SinkState::Ready as i64,
            body: text(r, 4)?,
            attempts: u32::try_from(int(r, 5)?).unwrap_or(u32::MAX),
            received_at: int(r, 6)?,
            next_attempt_at: int(r, 7)?,
        })
    }
}

impl Outbox {
    /// Every chat's oldest open sink row, as `(chat_id, ready, next_attempt_at)`.
    pub async fn sink_heads(&self) -> Result<Vec<(i64, bool, i64)>> {
        let mut db = self.db().await;
        db.all(
            "sink_heads",
            // Index seeks per lane, as `heads` does for the webhook.
            "WITH RECURSIVE lanes(chat_id) AS (
                 SELECT MIN(chat_id) FROM sink WHERE state IN (0, 1)
                 UNION ALL
                 SELECT (SELECT MIN(chat_id) FROM sink
                         WHERE state IN (0, 1) AND chat_id > lanes.chat_id)
                 FROM lanes WHERE lanes.chat_id IS NOT NULL
             )
             SELECT s.chat_id, s.state, s.next_attempt_at FROM lanes JOIN sink s ON s.id = (
                 SELECT MIN(id) FROM sink WHERE state IN (0, 1) AND chat_id = lanes.chat_id
             )
             ORDER BY s.id",
            [],
            |r| {
                Ok((
                    int(r, 0)?,
                    int(r, 1)? == SinkState::Ready as i64,
                    int(r, 2)?,
                ))
            },
        )
        .await
    }

    /// Up to [`SINK_LANE_ROWS`] of chat `chat_id`'s open sink rows, oldest first.
    pub async fn sink_lane(&self, chat_id: i64) -> Result<Vec<SinkRow>> {
        let mut db = self.db().await;
        db.all(
            "sink_lane",
            // The limit is a literal (see `lane`): a bound LIMIT re-prepares under STAT4.
            "SELECT id, chat_id, kind, state, body, attempts, received_at, next_attempt_at
             FROM sink WHERE chat_id = ?1 AND state IN (0, 1) ORDER BY id LIMIT 64",
            params![chat_id],
            sink_row(self),
        )
        .await
    }

    /// The target acknowledged chat `chat_id`'s ready rows up to `update_id` (a lane publishes
    /// in order and stops at the first failure, so they are a prefix): deleted in one
    /// statement. Returns how many.
    pub async fn sink_acked(&self, chat_id: i64, update_id: i64) -> Result<u64> {
        let mut db = self.db().await;
        db.write("sink_acked", async |db: &mut Db| {
            db.execute(
                "sink_acked",
                "DELETE FROM sink WHERE chat_id = ?1 AND id <= ?2 AND state = 1",
                params![chat_id, update_id],
            )
            .await
        })
        .await
    }

    /// Row `id` failed: retry at `retry_at` (unix ms), or, with `None`, it is dead (its
    /// `next_attempt_at` then keeps when it died, listed as `died_at` by
    /// [`Outbox::dead_letters`]).
    pub async fn sink_failed(&self, id: i64, error: &str, retry_at: Option<i64>) -> Result<()> {
        let mut db = self.db().await;
        let (state, retry_at) = match retry_at {
            Some(at) => (SinkState::Ready, at),
            None => (SinkState::Dead, now_ms()),
        };
        db.write("sink_failed", async |db: &mut Db| {
            db.execute(
                "sink_failed",
                "UPDATE sink SET state = ?1, attempts = attempts + 1, next_attempt_at = ?2,
                     last_error = ?3
                 WHERE id = ?4",
                params![state as i64, retry_at, error, id],
            )
            .await
        })
        .await?;
        Ok(())
    }

    /// Pending and dead sink rows.
    pub async fn sink_stats(&self) -> Result<SinkStats> {
        let mut db = self.db().await;
        let counts = db
            .all(
                "sink_stats",
                "SELECT (SELECT COUNT(*) FROM sink WHERE state IN (0, 1)),
                        (SELECT COUNT(*) FROM sink WHERE state = 2)",
                [],
                |r| Ok((int(r, 0)?, int(r, 1)?)),
            )
            .await?;
        let (pending, dead) = counts.first().copied().unwrap_or_default();
        Ok(SinkStats {
            pending: pending.max(0) as u64,
            dead: dead.max(0) as u64,
        })
    }

    /// Rung after a transaction queued or readied sink rows.
    pub fn sink_wake(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.sink_wake.clone()
    }
}
