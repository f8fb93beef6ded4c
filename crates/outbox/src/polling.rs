//! The Bot API's update methods on the outbox: where updates go (the webhook settings, one
//! source of truth for the receiver and the sender) and `getUpdates` (fetching and confirming
//! open rows).
//!
//! Two records in the `kv` table decide where open rows go:
//! - `webhook_env` ([`EnvWebhook`]): the webhook the receiver was started with
//!   (`WEBHOOK_URL`, …), rewritten by the receiver at every start;
//! - `webhook_runtime` ([`RuntimeWebhook`]): what `setWebhook`/`deleteWebhook` chose, which
//!   wins over the environment until `WEBHOOK_URL` (or its format) changes — the receiver
//!   then drops it at its next start ([`Outbox::sync_env_webhook`]).
//!
//! With neither a runtime URL nor `WEBHOOK_URL`, open rows wait for `getUpdates`, which
//! returns them in `update_id` order and confirms them with its `offset` (Bot API,
//! "getUpdates"). Rows nobody fetches expire after the receiver's `WEBHOOK_MAX_AGE` (Telegram
//! keeps a bot's unfetched updates 24 hours).

use serde::{Deserialize, Serialize};

use super::db::Db;
use super::value::{Result, int, opt_text, text};
use super::{Outbox, OutboxError, Status, now_ms};

/// The `kv` key of [`EnvWebhook`].
const ENV_KEY: &str = "webhook_env";
/// The `kv` key of [`RuntimeWebhook`].
const RUNTIME_KEY: &str = "webhook_runtime";
/// The `kv` key of the `allowed_updates` the last `getUpdates` asked for.
const POLL_ALLOWED_KEY: &str = "poll_allowed_updates";

/// Most rows one [`Outbox::fetch_updates`] reads (the Bot API's largest `limit`).
pub const FETCH_MAX: usize = 100;

/// The webhook the receiver runs with from its environment, as the sender may show it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvWebhook {
    /// `WEBHOOK_URL` without user, password, query or fragment (it may carry credentials);
    /// `None` when unset.
    pub url: Option<String>,
    /// Changes whenever `WEBHOOK_URL` or `WEBHOOK_FORMAT` does (a hash: the URL itself is not
    /// kept whole); a runtime setting made under another fingerprint is dropped.
    pub fingerprint: String,
    /// `WEBHOOK_MAX_CONNECTIONS`.
    pub max_connections: u32,
    /// `ALLOWED_UPDATES` (empty: every kind).
    pub allowed_updates: Vec<String>,
}

/// A webhook set with `setWebhook`, or removed with `deleteWebhook` (`url` empty).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeWebhook {
    /// The HTTPS (or HTTP) URL updates are POSTed to, as a Bot API `Update`; empty: none, the
    /// updates wait for `getUpdates`.
    pub url: String,
    /// `secret_token`: sent as `X-Telegram-Bot-Api-Secret-Token` with every POST.
    pub secret_token: Option<String>,
    /// `max_connections` (1–100).
    pub max_connections: u32,
    /// `allowed_updates`; `None`: every kind but `message_reaction_count` and the gateway's
    /// `deleted_messages` (the Bot API's default leaves reaction updates out).
    pub allowed_updates: Option<Vec<String>>,
    /// [`EnvWebhook::fingerprint`] when this was set.
    pub env_fingerprint: String,
    /// When it was set, unix seconds.
    pub set_at: i64,
}

impl std::fmt::Debug for RuntimeWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry credentials, the secret token is one.
        f.debug_struct("RuntimeWebhook")
            .field("url_set", &!self.url.is_empty())
            .field("max_connections", &self.max_connections)
            .field("allowed_updates", &self.allowed_updates)
            .finish_non_exhaustive()
    }
}

/// Both records: where updates go now ([`WebhookState::target`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookState {
    /// The receiver's environment (absent until a receiver started on this outbox).
    pub env: Option<EnvWebhook>,
    /// The runtime setting, if one is in force.
    pub runtime: Option<RuntimeWebhook>,
}

/// Where open rows go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// Nowhere yet: they wait for `getUpdates`.
    Polling,
    /// The receiver's `WEBHOOK_URL`, in `WEBHOOK_FORMAT`.
    Env(&'a EnvWebhook),
    /// The URL of `setWebhook`, as Bot API `Update`s.
    Runtime(&'a RuntimeWebhook),
}

impl WebhookState {
    /// The runtime setting when there is one, else the environment's webhook, else polling.
    pub fn target(&self) -> Target<'_> {
        match (&self.runtime, &self.env) {
            (Some(runtime), _) if runtime.url.is_empty() => Target::Polling,
            (Some(runtime), _) => Target::Runtime(runtime),
            (None, Some(env)) if env.url.is_some() => Target::Env(env),
            _ => Target::Polling,
        }
    }

    /// The fingerprint a runtime setting made now records.
    pub fn env_fingerprint(&self) -> String {
        self.env
            .as_ref()
            .map(|e| e.fingerprint.clone())
            .unwrap_or_default()
    }
}

/// Kinds delivered when no `allowed_updates` was given: all but the reaction counts (left out
/// by the Bot API's default) and `deleted_messages` (a gateway extension no Bot API client
/// knows).
pub fn default_kind(kind: &str) -> bool {
    !matches!(kind, "message_reaction_count" | "deleted_messages")
}

/// Whether `kind` passes `allowed` (`None` or empty: [`default_kind`]).
pub fn allowed(allowed: Option<&[String]>, kind: &str) -> bool {
    match allowed {
        Some(list) if !list.is_empty() => list.iter().any(|k| k == kind),
        _ => default_kind(kind),
    }
}

/// One update `getUpdates` hands out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Polled {
    /// `update_id`.
    pub id: i64,
    /// `message`, `edited_message`, … (the `allowed_updates` name).
    pub kind: String,
    /// The Bot API `Update`, JSON text.
    pub json: String,
}

fn to_json(op: &'static str, value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| OutboxError::Corrupt(format!("{op}: {e}")))
}

async fn read_kv(db: &mut Db, key: &str) -> Result<Option<String>> {
    Ok(db
        .all(
            "read_kv",
            "SELECT value FROM kv WHERE key = ?1",
            params![key],
            |r| text(r, 0),
        )
        .await?
        .into_iter()
        .next())
}

async fn write_kv(db: &mut Db, key: &str, value: Option<String>) -> Result<()> {
    match value {
        Some(value) => {
            db.execute(
                "write_kv",
                "INSERT INTO kv (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, &value],
            )
            .await?
        }
        None => {
            db.execute("write_kv", "DELETE FROM kv WHERE key = ?1", params![key])
                .await?
        }
    };
    Ok(())
}

fn parse<T: for<'de> Deserialize<'de>>(key: &str, text: Option<String>) -> Result<Option<T>> {
    text.map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|e| OutboxError::Corrupt(format!("{key}: {e}")))
}

impl Outbox {
    /// Both webhook records.
    pub async fn webhook_state(&self) -> Result<WebhookState> {
        let mut db = self.db().await;
        let env = read_kv(&mut db, ENV_KEY).await?;
        let runtime = read_kv(&mut db, RUNTIME_KEY).await?;
        Ok(WebhookState {
            env: parse(ENV_KEY, env)?,
            runtime: parse(RUNTIME_KEY, runtime)?,
        })
    }

    /// Records the receiver's environment webhook and drops a runtime setting made under
    /// another environment (a changed `WEBHOOK_URL` wins again). Returns the dropped setting.
    pub async fn sync_env_webhook(&self, env: &EnvWebhook) -> Result<Option<RuntimeWebhook>> {
        let value = to_json("webhook_env", env)?;
        let mut db = self.db().await;
        db.transaction("sync_env_webhook", async |db: &mut Db| {
            write_kv(db, ENV_KEY, Some(value)).await?;
            let runtime: Option<RuntimeWebhook> =
                parse(RUNTIME_KEY, read_kv(db, RUNTIME_KEY).await?)?;
            match runtime {
                Some(r) if r.env_fingerprint != env.fingerprint => {
                    write_kv(db, RUNTIME_KEY, None).await?;
                    Ok(Some(r))
                }
                _ => Ok(None),
            }
        })
        .await
    }

    /// Stores the runtime setting (`setWebhook`, or `deleteWebhook` with an empty URL); with
    /// `drop_pending`, every open row is confirmed in the same transaction first.
    pub async fn set_runtime_webhook(
        &self,
        setting: &RuntimeWebhook,
        drop_pending: bool,
    ) -> Result<()> {
        let value = to_json("webhook_runtime", setting)?;
        let mut db = self.db().await;
        db.transaction("set_runtime_webhook", async |db: &mut Db| {
            if drop_pending {
                confirm_below(db, i64::MAX).await?;
            }
            write_kv(db, RUNTIME_KEY, Some(value)).await
        })
        .await
    }

    /// The `allowed_updates` the last `getUpdates` that gave one asked for.
    pub async fn poll_allowed_updates(&self) -> Result<Option<Vec<String>>> {
        let mut db = self.db().await;
        let text = read_kv(&mut db, POLL_ALLOWED_KEY).await?;
        parse(POLL_ALLOWED_KEY, text)
    }

    /// Remembers `allowed_updates` for later `getUpdates` calls without one (Bot API: "If not
    /// specified, the previous setting will be used").
    pub async fn set_poll_allowed_updates(&self, kinds: &[String]) -> Result<()> {
        let value = to_json(POLL_ALLOWED_KEY, &kinds)?;
        let mut db = self.db().await;
        db.write("set_poll_allowed_updates", async |db: &mut Db| {
            write_kv(db, POLL_ALLOWED_KEY, Some(value)).await
        })
        .await
    }

    /// Confirms (as delivered) every open row with an `update_id` below `offset`; returns how
    /// many.
    pub async fn confirm_below(&self, offset: i64) -> Result<u64> {
        let mut db = self.db().await;
        db.write("confirm_below", async |db: &mut Db| {
            confirm_below(db, offset).await
        })
        .await
    }

    /// Confirms every open row but the newest `keep` (a negative `getUpdates` offset);
    /// returns how many.
    pub async fn confirm_all_but_last(&self, keep: u64) -> Result<u64> {
        let mut db = self.db().await;
        let newest = db
            .all(
                "confirm_all_but_last",
                sql!("SELECT id FROM updates WHERE status IN ({open}) ORDER BY id DESC"),
                [],
                |r| int(r, 0),
            )
            .await?;
        let below = match usize::try_from(keep)
            .ok()
            .and_then(|k| newest.get(k.checked_sub(1)?))
        {
            Some(&oldest_kept) => oldest_kept,
            None if keep == 0 => i64::MAX,
            None => return Ok(0),
        };
        db.write("confirm_all_but_last", async |db: &mut Db| {
            confirm_below(db, below).await
        })
        .await
    }

    /// Up to [`FETCH_MAX`] open rows from `offset` on (media finished or not: the Bot API
    /// `Update` carries `file_id`s), oldest first, as Bot API `Update`s. Rows of kinds
    /// `allowed` leaves out are confirmed on the way (Telegram would not have queued them).
    /// Rows stored before the `Update` was kept beside a legacy body (schema version 1) are
    /// confirmed likewise: they have none to hand out.
    pub async fn fetch_updates(
        &self,
        offset: i64,
        allowed_kinds: Option<&[String]>,
    ) -> Result<Vec<Polled>> {
        let mut db = self.db().await;
        let rows = db
            .all(
                "fetch_updates",
                sql!(
                    "SELECT id, kind, COALESCE(update_json, body) FROM updates
                     WHERE status IN ({open}) AND id >= ?1 ORDER BY id LIMIT 100"
                ),
                params![offset],
                |r| Ok((int(r, 0)?, text(r, 1)?, opt_text(r, 2)?.unwrap_or_default())),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut skipped = Vec::new();
        for (id, kind, json) in rows {
            // Empty: stored before version 2 kept the `Update` beside a legacy body.
            if allowed(allowed_kinds, &kind) && !json.is_empty() {
                out.push(Polled { id, kind, json });
            } else {
                skipped.push(id);
            }
        }
        if !skipped.is_empty() {
            db.write("fetch_updates", async |db: &mut Db| {
                for id in skipped {
                    confirm_one(db, id).await?;
                }
                Ok(())
            })
            .await?;
        }
        Ok(out)
    }

    /// A number that changes whenever another connection (the receiver storing updates, the
    /// sender confirming them) commits to the file (`PRAGMA data_version`); a long poll reads
    /// it to know when to look again. In Postgres, a counter every write transaction
    /// increments: it changes with this handle's own commits too (a poll then looks once
    /// more and finds nothing new).
    pub async fn data_version(&self) -> Result<i64> {
        self.db().await.data_version().await
    }

    /// Expires open rows stored before `before` (unix ms) while nothing fetches them (no
    /// webhook, no `getUpdates`): they count as delivered. Returns how many.
    pub async fn expire_unfetched(&self, before: i64) -> Result<u64> {
        let mut db = self.db().await;
        db.write("expire_unfetched", async |db: &mut Db| {
            db.execute(
                "expire_unfetched",
                sql!(
                    "UPDATE updates SET status = {delivered}, done_at = ?2, update_json = NULL,
                         downloads = NULL, body = CASE WHEN archived = 1 THEN '' ELSE body END
                     WHERE status IN ({open}) AND received_at < ?1"
                ),
                params![before, now_ms()],
            )
            .await
        })
        .await
    }
}

async fn confirm_below(db: &mut Db, offset: i64) -> Result<u64> {
    db.execute(
        "confirm_below",
        sql!(
            "UPDATE updates SET status = {delivered}, done_at = ?2, update_json = NULL,
                 downloads = NULL, body = CASE WHEN archived = 1 THEN '' ELSE body END
             WHERE status IN ({open}) AND id < ?1"
        ),
        params![offset, now_ms()],
    )
    .await
}

async fn confirm_one(db: &mut Db, id: i64) -> Result<u64> {
    db.execute(
        "confirm_one",
        sql!(
            "UPDATE updates SET status = {delivered}, done_at = ?2, update_json = NULL,
                 downloads = NULL, body = CASE WHEN archived = 1 THEN '' ELSE body END
             WHERE status IN ({open}) AND id = ?1"
        ),
        params![id, now_ms()],
    )
    .await
}
