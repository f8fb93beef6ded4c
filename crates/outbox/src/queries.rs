//! The outbox's statements. Every write is one short transaction on the one connection, and
//! every statement is a constant text prepared once (see `db`): a literal, or one built once
//! from a template naming statuses ([`sql!`]).

use serde_json::json;
use telegram::Position;

use super::db::Db;
use super::rows::{DeadLetter, Due, Inserted, NewUpdate, Outcome, PendingMedia, Stats};
use super::value::{Result, Row, int, opt_int, opt_text, text};
use super::{Outbox, OutboxError, Status, now_ms};

/// The columns [`due`] reads, prefixed `u.` (a macro so statements stay `'static` literals).
macro_rules! due_columns {
    () => {
        "u.id, u.webhook_id, u.chat_id, u.kind, u.status, u.body, u.attempts, u.received_at, \
         u.next_attempt_at, u.update_json"
    };
}

/// [`LANE_ROWS`] as a literal, for the statement text.
macro_rules! lane_rows {
    () => {
        32
    };
}

/// [`PRUNE_BATCH`] as a literal, for the statement text.
macro_rules! prune_batch {
    () => {
        1000
    };
}

/// Rows [`Outbox::prune_delivered`] deletes per statement.
pub const PRUNE_BATCH: u64 = prune_batch!();

/// How many rows [`Outbox::lane`] reads at once.
pub const LANE_ROWS: usize = lane_rows!();

fn due(row: &Row<'_>) -> Result<Due> {
    Ok(Due {
        id: int(row, 0)?,
        webhook_id: text(row, 1)?,
        chat_id: int(row, 2)?,
        kind: text(row, 3)?,
        ready: int(row, 4)? == Status::Ready as i64,
        body: text(row, 5)?,
        attempts: u32::try_from(int(row, 6)?).unwrap_or(u32::MAX),
        received_at: int(row, 7)?,
        next_attempt_at: int(row, 8)?,
        update_json: opt_text(row, 9)?,
    })
}

/// `value` as JSON text with its top-level `update_id` set to `id`, written straight from the
/// borrowed value: cloning the whole tree to change one field (twice per update in the legacy
/// format, the body and the Bot API `Update`) showed up in the receiver's profile under load.
fn with_update_id(value: &serde_json::Value, id: i64) -> String {
    struct WithId<'a>(&'a serde_json::Map<String, serde_json::Value>, i64);
    impl serde::Serialize for WithId<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (key, value) in self.0 {
                if key == "update_id" {
                    map.serialize_entry(key, &self.1)?;
                } else {
                    map.serialize_entry(key, value)?;
                }
            }
            map.end()
        }
    }
    match value {
        // In place, so the text is the one a clone with the field set would give.
        serde_json::Value::Object(map) if map.contains_key("update_id") => {
            serde_json::to_string(&WithId(map, id)).unwrap_or_default()
        }
        other => {
            let mut other = other.clone();
            other["update_id"] = id.into();
            other.to_string()
        }
    }
}

impl Outbox {
    /// Stores `update` under the next `update_id` (written into its body) — or, when its
    /// natural key is already stored, returns that row untouched. A row without downloads is
    /// stored ready (delivered at once when there is no webhook).
    pub async fn insert(&self, update: NewUpdate) -> Result<Inserted> {
        let mut inserted = self.insert_all(std::slice::from_ref(&update)).await?;
        inserted
            .pop()
            .ok_or_else(|| OutboxError::Corrupt("an insert returned no row".into()))
    }

    /// [`Outbox::insert`] for several updates in one transaction (one commit for a burst):
    /// all are stored, in order, or none. One [`Inserted`] per update, in the same order.
    pub async fn insert_all(&self, updates: &[NewUpdate]) -> Result<Vec<Inserted>> {
        let mut db = self.db().await;
        db.transaction("insert", async |db: &mut Db| {
            let mut next_id = db
                .all(
                    "insert",
                    "SELECT value FROM meta WHERE key = 'next_update_id'",
                    [],
                    |r| int(r, 0),
                )
                .await?
                .first()
                .copied()
                .ok_or_else(|| OutboxError::Corrupt("next_update_id is missing".into()))?;
            let first_id = next_id;
            let mut out = Vec::with_capacity(updates.len());
            for update in updates {
                let existing = db
                    .all(
                        "insert",
                        "SELECT id, status FROM updates WHERE natural_key = ?1",
                        params![update.natural_key.as_str()],
                        |r| Ok((int(r, 0)?, int(r, 1)?)),
                    )
                    .await?;
                if let Some((id, status)) = existing.first() {
                    out.push(Inserted {
                        id: *id,
                        fresh: false,
                        media: *status == Status::Media as i64,
                    });
                    continue;
                }
                let id = next_id;
                next_id += 1;
                let mut body = with_update_id(&update.body, id);
                let update_json = update.update_json.as_ref().map(|u| with_update_id(u, id));
                let media = !update.downloads.is_empty();
                let status = if media {
                    Status::Media
                } else {
                    self.ready_status()
                };
                let downloads =
                    media.then(|| serde_json::to_string(&update.downloads).unwrap_or_default());
                let now = now_ms();
                db.execute(
                    "insert",
                    "INSERT INTO updates (id, webhook_id, natural_key, kind, chat_id, status, body,
                                          downloads, received_at, archived, done_at, update_json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        id,
                        self.webhook_id(id),
                        update.natural_key.as_str(),
                        update.kind,
                        update.chat_id,
                        status as i64,
                        // Stored delivered (no webhook) and not archived: only the natural
                        // key is needed from now on.
                        if status == Status::Delivered && !self.mode.archive {
                            String::new()
                        } else if self.mode.sink {
                            body.clone()
                        } else {
                            std::mem::take(&mut body)
                        },
                        downloads,
                        now,
                        i64::from(!self.mode.archive),
                        (status == Status::Delivered).then_some(now),
                        update_json.filter(|_| status != Status::Delivered),
                    ],
                )
                .await?;
                if self.mode.sink {
                    super::sink::queue(db, id, update.chat_id, update.kind, media, &body, now)
                        .await?;
                    // The sink reads through this same connection, so not before the commit.
                    self.sink_wake.notify_one();
                }
                out.push(Inserted {
                    id,
                    fresh: true,
                    media,
                });
            }
            if next_id != first_id {
                db.execute(
                    "insert",
                    "UPDATE meta SET value = ?1 WHERE key = 'next_update_id'",
                    params![next_id],
                )
                .await?;
            }
            Ok(out)
        })
        .await
    }

    /// Rows still waiting for their media (after a restart: every one not finished).
    pub async fn pending_media(&self) -> Result<Vec<PendingMedia>> {
        let mut db = self.db().await;
        db.all(
            "pending_media",
            sql!("SELECT id, body, downloads, kind, chat_id FROM updates WHERE status = {media} ORDER BY id"),
            [],
            |r| {
                let corrupt = |e: serde_json::Error| OutboxError::Corrupt(e.to_string());
                let downloads = opt_text(r, 2)?.unwrap_or_else(|| "[]".into());
                Ok(PendingMedia {
                    id: int(r, 0)?,
                    kind: text(r, 3)?,
                    chat_id: int(r, 4)?,
                    body: serde_json::from_str(&text(r, 1)?).map_err(corrupt)?,
                    downloads: serde_json::from_str(&downloads).map_err(corrupt)?,
                })
            },
        )
        .await
    }

    /// The media of row `id` is done: `body` is final and the row is ready (or delivered, and
    /// then kept without its body unless the archive needs it).
    pub async fn media_done(&self, id: i64, body: &serde_json::Value) -> Result<()> {
        let body = body.to_string();
        let mut db = self.db().await;
        db.write("media_done", async |db: &mut Db| {
            db.execute(
                "media_done",
                sql!(
                    "UPDATE updates SET downloads = NULL, status = ?2,
                         body = CASE WHEN ?2 = {delivered} AND archived = 1 THEN '' ELSE ?1 END,
                         done_at = CASE WHEN ?2 = {delivered} THEN ?4 END
                     WHERE id = ?3 AND status = {media}"
                ),
                params![&body, self.ready_status() as i64, id, now_ms()],
            )
            .await?;
            if self.mode.sink {
                super::sink::media_done(db, id, &body).await?;
            }
            Ok(())
        })
        .await?;
        if self.mode.sink {
            self.sink_wake.notify_one();
        }
        Ok(())
    }

    /// Every chat's oldest open row (media or ready), oldest chats first.
    pub async fn heads(&self) -> Result<Vec<Due>> {
        let mut db = self.db().await;
        db.all(
            "heads",
            // Walks the open lanes with index seeks (O(lanes · log n)): a GROUP BY over every
            // open row made each scheduling round linear in the backlog, which with tens of
            // thousands of pending rows took the whole CPU.
            sql!(concat!(
                "WITH RECURSIVE lanes(chat_id) AS (
                     SELECT MIN(chat_id) FROM updates WHERE status IN ({open})
                     UNION ALL
                     SELECT (SELECT MIN(chat_id) FROM updates
                             WHERE status IN ({open}) AND chat_id > lanes.chat_id)
                     FROM lanes WHERE lanes.chat_id IS NOT NULL
                 )
                 SELECT ",
                due_columns!(),
                " FROM lanes JOIN updates u ON u.id = (
                     SELECT MIN(id) FROM updates WHERE status IN ({open}) AND chat_id = lanes.chat_id
                 )
                 ORDER BY u.id"
            )),
            [],
            due,
        )
        .await
    }

    /// Up to [`LANE_ROWS`] of chat `chat_id`'s open rows (media or ready), oldest first: the
    /// rows a lane delivers in order without going back to the scheduler.
    pub async fn lane(&self, chat_id: i64) -> Result<Vec<Due>> {
        let mut db = self.db().await;
        db.all(
            "lane",
            // The limit is a literal: SQLite (built with STAT4, as libsql is) re-prepares a
            // statement whenever a parameter it planned with, such as a LIMIT, is bound again.
            sql!(concat!(
                "SELECT ",
                due_columns!(),
                " FROM updates u WHERE u.chat_id = ?1 AND u.status IN ({open})
                  ORDER BY u.id LIMIT ",
                lane_rows!()
            )),
            params![chat_id],
            due,
        )
        .await
    }

    /// Records the outcome of an attempt on row `id`.
    pub async fn record(&self, id: i64, outcome: &Outcome) -> Result<()> {
        self.record_all(&[(id, outcome.clone())]).await
    }

    /// [`Outbox::record`] for several attempts in one transaction (all are written or none):
    /// delivering a burst costs one commit, not one per update.
    pub async fn record_all(&self, outcomes: &[(i64, Outcome)]) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let mut db = self.db().await;
        let now = now_ms();
        db.transaction("record", async |db: &mut Db| {
            for (id, outcome) in outcomes {
                let (status, error, retry_at, done_at) = match outcome {
                    Outcome::Delivered => (Status::Delivered, None, 0, Some(now)),
                    Outcome::Retry { error, retry_at } => {
                        (Status::Ready, Some(error), *retry_at, None)
                    }
                    Outcome::Dead { error } => (Status::Dead, Some(error), 0, Some(now)),
                };
                db.execute(
                    "record",
                    // A delivered row keeps its natural key (de-duplication) but not its body,
                    // unless the archive still needs it: kept bodies made the file grow by
                    // every update of the last KEEP_DELIVERED.
                    sql!(
                        "UPDATE updates SET status = ?1, attempts = attempts + 1, last_attempt_at = ?2,
                             last_error = COALESCE(?3, last_error), next_attempt_at = ?4, done_at = ?5,
                             body = CASE WHEN ?1 = {delivered} AND archived = 1 THEN '' ELSE body END,
                             update_json = CASE WHEN ?1 = {delivered} THEN NULL ELSE update_json END
                         WHERE id = ?6"
                    ),
                    params![status as i64, now, error.map(String::as_str), retry_at, done_at, *id],
                )
                .await?;
            }
            Ok(())
        })
        .await
    }

    /// Pending count, oldest pending time, dead letters, last error.
    pub async fn stats(&self) -> Result<Stats> {
        let mut db = self.db().await;
        let counts = db
            .all(
                "stats",
                // Ids grow with arrival, so the oldest open row is the smallest open id: an index
                // seek instead of a scan over every pending body.
                sql!(
                    "SELECT (SELECT COUNT(*) FROM updates WHERE status IN ({open})),
                        (SELECT received_at FROM updates WHERE id =
                            (SELECT MIN(id) FROM updates WHERE status IN ({open}))),
                        (SELECT COUNT(*) FROM updates WHERE status = {dead})"
                ),
                [],
                |r| Ok((int(r, 0)?, opt_int(r, 1)?, int(r, 2)?)),
            )
            .await?;
        let last = db
            .all(
                "stats",
                "SELECT last_error, last_attempt_at FROM updates WHERE last_error IS NOT NULL
             ORDER BY last_attempt_at DESC LIMIT 1",
                [],
                |r| Ok((opt_text(r, 0)?, opt_int(r, 1)?)),
            )
            .await?;
        let (pending, oldest, dead) = counts.first().copied().unwrap_or_default();
        let (last_error, last_error_at) = last.into_iter().next().unwrap_or_default();
        Ok(Stats {
            pending: pending.max(0) as u64,
            oldest_pending_at: oldest,
            dead_letters: dead.max(0) as u64,
            last_error,
            last_error_at,
        })
    }

    /// Up to `limit` dead letters, oldest first.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>> {
        let mut db = self.db().await;
        db.all(
            "dead_letters",
            // The sink's dead rows (state 2) beside the webhook's; a sink row's `webhook-id` is
            // derived from its id, as when it was published.
            "SELECT update_id, webhook_id, kind, chat_id, attempts, last_error, received_at,
                    died_at, 'webhook' AS target FROM dead_letter
             UNION ALL
             SELECT id, '', kind, chat_id, attempts, last_error, received_at,
                    NULLIF(next_attempt_at, 0), 'nats' FROM sink WHERE state = 2
             ORDER BY update_id, target LIMIT ?1",
            params![i64::from(limit)],
            |r| {
                let update_id = int(r, 0)?;
                let target = text(r, 8)?;
                Ok(DeadLetter {
                    update_id,
                    webhook_id: match target.as_str() {
                        "webhook" => text(r, 1)?,
                        _ => self.webhook_id(update_id),
                    },
                    kind: text(r, 2)?,
                    chat_id: int(r, 3)?,
                    attempts: u32::try_from(int(r, 4)?).unwrap_or(u32::MAX),
                    last_error: opt_text(r, 5)?,
                    received_at: int(r, 6)?,
                    died_at: opt_int(r, 7)?,
                    target,
                })
            },
        )
        .await
    }

    /// Makes dead letters deliverable again (all, or the one with `update_id`), with a fresh
    /// age and attempt count; same `update_id` and `webhook-id`. Returns how many (the sink's
    /// dead rows are revived too, and counted).
    pub async fn replay(&self, update_id: Option<i64>) -> Result<u64> {
        let mut db = self.db().await;
        let (webhook, sink) = db
            .write("replay", async |db: &mut Db| {
                let sink = super::sink::replay(db, update_id).await?;
                let webhook = db
                    .execute(
                        "replay",
                        sql!(
                            "UPDATE updates SET status = {ready}, attempts = 0, next_attempt_at = 0,
                                 received_at = ?1, done_at = NULL
                             WHERE status = {dead} AND (?2 IS NULL OR id = ?2)"
                        ),
                        params![now_ms(), update_id],
                    )
                    .await?;
                Ok((webhook, sink))
            })
            .await?;
        if sink > 0 {
            self.sink_wake.notify_one();
        }
        Ok(webhook + sink)
    }

    /// Up to `limit` final rows not yet written to `ARCHIVE_DIR`: `(id, received_at, body)`.
    pub async fn unarchived(&self, limit: u32) -> Result<Vec<(i64, i64, String)>> {
        let mut db = self.db().await;
        db.all(
            "unarchived",
            sql!(
                "SELECT id, received_at, body FROM updates WHERE archived = 0 AND status != {media}
                 ORDER BY id LIMIT ?1"
            ),
            params![i64::from(limit)],
            |r| Ok((int(r, 0)?, int(r, 1)?, text(r, 2)?)),
        )
        .await
    }

    /// Row `id` is in the archive.
    pub async fn mark_archived(&self, id: i64) -> Result<()> {
        let mut db = self.db().await;
        db.write("mark_archived", async |db: &mut Db| {
            db.execute(
                "mark_archived",
                sql!(
                    "UPDATE updates SET archived = 1,
                         body = CASE WHEN status = {delivered} THEN '' ELSE body END WHERE id = ?1"
                ),
                params![id],
            )
            .await
        })
        .await?;
        Ok(())
    }

    /// Saves the update position (after the updates it covers are stored).
    pub async fn save_position(&self, position: &Position) -> Result<()> {
        let value = json!({
            "common": position.common,
            "qts": position.qts,
            "channels": position.channels.iter().map(|(id, pts)| [*id, i64::from(*pts)]).collect::<Vec<_>>(),
        });
        let value = value.to_string();
        let mut db = self.db().await;
        db.write("save_position", async |db: &mut Db| {
            db.execute(
                "save_position",
                "INSERT INTO kv (key, value) VALUES ('position', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![&value],
            )
            .await
        })
        .await?;
        Ok(())
    }

    /// The saved update position, if any.
    pub async fn load_position(&self) -> Result<Option<Position>> {
        let mut db = self.db().await;
        let rows = db
            .all(
                "load_position",
                "SELECT value FROM kv WHERE key = 'position'",
                [],
                |r| text(r, 0),
            )
            .await?;
        let Some(text) = rows.first() else {
            return Ok(None);
        };
        let corrupt = |what: &str| OutboxError::Corrupt(format!("saved position: {what}"));
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|_| corrupt("not JSON"))?;
        let common =
            serde_json::from_value(value["common"].clone()).map_err(|_| corrupt("common"))?;
        let qts = serde_json::from_value(value["qts"].clone()).map_err(|_| corrupt("qts"))?;
        let pairs: Vec<(i64, i32)> =
            serde_json::from_value(value["channels"].clone()).map_err(|_| corrupt("channels"))?;
        Ok(Some(Position {
            common,
            qts,
            channels: pairs.into_iter().collect(),
        }))
    }

    /// Deletes delivered rows finished before `before` (unix ms); returns how many. Their
    /// natural keys stop de-duplicating replays then, long after the position moved on.
    ///
    /// Works in batches of [`PRUNE_BATCH`] rows, oldest ids first, taking the connection for
    /// one batch at a time: one statement over a week of rows would hold up storing and
    /// delivering for as long as it scans.
    pub async fn prune_delivered(&self, before: i64) -> Result<u64> {
        let mut total = 0;
        loop {
            let deleted = {
                let mut db = self.db().await;
                db.write("prune", async |db: &mut Db| {
                    db.execute(
                        "prune",
                        sql!(concat!(
                            "DELETE FROM updates WHERE id IN (
                                 SELECT id FROM updates
                                 WHERE status = {delivered} AND archived = 1 AND done_at < ?1
                                 ORDER BY id LIMIT ",
                            prune_batch!(),
                            ")"
                        )),
                        params![before],
                    )
                    .await
                })
                .await?
            };
            total += deleted;
            if deleted < PRUNE_BATCH {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}
