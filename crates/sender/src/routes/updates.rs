//! The Bot API's update methods on the receiver's outbox ([`crate::updates`]): `getUpdates`
//! (long polling, `offset` confirms), `setWebhook`, `deleteWebhook` and `getWebhookInfo`.
//! The receiver stores every update in the outbox and POSTs it to the webhook in force
//! (`setWebhook`'s, else `WEBHOOK_URL`); without one, the updates wait there for
//! `getUpdates`, with the same `update_id`s either way.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use outbox::{OutboxError, RuntimeWebhook, Target, WebhookState};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{ApiError, ApiResult};
use crate::extract::BotRequest;
use crate::state::AppState;
use crate::updates::Polling;

/// Longest `getUpdates` `timeout` honoured, seconds (Telegram's own cap is 50).
pub const MAX_POLL_TIMEOUT: i64 = 50;
/// `max_connections` when `setWebhook` names none (the Bot API's default).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 40;

/// Parameters of `getUpdates` (Bot API, "getUpdates").
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GetUpdates {
    /// The first `update_id` wanted; every update below it is confirmed and never returned
    /// again. Negative: the last `-offset` updates, all earlier ones confirmed.
    pub offset: Option<i64>,
    /// At most this many updates, 1–100 (default 100; out-of-range values are clamped).
    pub limit: Option<i64>,
    /// Seconds to wait for the first update (long polling); default 0, capped at
    /// [`MAX_POLL_TIMEOUT`].
    pub timeout: Option<i64>,
    /// Kinds to receive (`message`, `edited_message`, `channel_post`, `edited_channel_post`,
    /// `callback_query`, `message_reaction_count`, `deleted_messages`); remembered for later
    /// calls that give none. Default: all but `message_reaction_count` and `deleted_messages`.
    pub allowed_updates: Option<Vec<String>>,
}

fn outbox_error(e: OutboxError) -> ApiError {
    tracing::error!(error = %e, "the receiver's outbox cannot be used");
    botapi::ApiError::internal("the update store (OUTBOX_PATH) cannot be read").into()
}

fn in_memory(state: &AppState) -> Result<(), ApiError> {
    if state.updates.shares_nothing() {
        return Err(botapi::ApiError::bad_request(
            "updates are not shared with the sender: OUTBOX_PATH=:memory: keeps them in the \
             receiver's memory; set OUTBOX_PATH to a file both can open",
        )
        .into());
    }
    Ok(())
}

/// Answers `result` with a `description`, as Telegram's webhook methods do.
fn ok_described<T>(result: T, description: &str) -> ApiResult<T> {
    let mut response = botapi::Response::ok(result);
    response.description = Some(description.to_owned());
    Ok(Json(response))
}

/// `GET|POST /api_v1/getUpdates` → `Update[]`: the receiver's stored updates from `offset`
/// on, oldest first, the moment one is there (or `[]` after `timeout`).
///
/// Errors: 409 "Conflict: can't use getUpdates method while webhook is active; use
/// deleteWebhook to delete the webhook first"; 409 "Conflict: terminated by other getUpdates
/// request; make sure that only one bot instance is running" for the older of two concurrent
/// polls; 400 when `OUTBOX_PATH` is `:memory:`.
pub async fn get_updates(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<GetUpdates>,
) -> ApiResult<Vec<Box<RawValue>>> {
    in_memory(&state)?;
    let hub = &state.updates;
    let generation = hub.begin();
    let outbox = hub.outbox().await.map_err(outbox_error)?;
    let settings = outbox.webhook_state().await.map_err(outbox_error)?;
    if settings.target() != Target::Polling {
        return Err(botapi::ApiError::conflict(
            "can't use getUpdates method while webhook is active; use deleteWebhook to delete \
             the webhook first",
        )
        .into());
    }
    let offset = req.offset.unwrap_or(0);
    if offset > 0 {
        outbox.confirm_below(offset).await.map_err(outbox_error)?;
    } else if offset < 0 {
        outbox
            .confirm_all_but_last(offset.unsigned_abs())
            .await
            .map_err(outbox_error)?;
    }
    let allowed = match req.allowed_updates {
        Some(kinds) => {
            outbox
                .set_poll_allowed_updates(&kinds)
                .await
                .map_err(outbox_error)?;
            Some(kinds)
        }
        None => outbox.poll_allowed_updates().await.map_err(outbox_error)?,
    };
    let limit = req.limit.unwrap_or(100).clamp(1, 100) as usize;
    let timeout = Duration::from_secs(req.timeout.unwrap_or(0).clamp(0, MAX_POLL_TIMEOUT) as u64);
    let polled = hub
        .poll(
            generation,
            offset.max(0),
            limit,
            allowed.as_deref(),
            timeout,
        )
        .await
        .map_err(outbox_error)?;
    match polled {
        Polling::Superseded => Err(botapi::ApiError::conflict(
            "terminated by other getUpdates request; make sure that only one bot instance is \
             running",
        )
        .into()),
        Polling::Updates(updates) => {
            let mut out = Vec::with_capacity(updates.len());
            for update in updates {
                out.push(RawValue::from_string(update.json).map_err(|e| {
                    outbox_error(OutboxError::Corrupt(format!(
                        "update {} is not JSON: {e}",
                        update.id
                    )))
                })?);
            }
            crate::error::ok(out)
        }
    }
}

/// Parameters of `setWebhook` (Bot API, "setWebhook"). `certificate` and `ip_address` are
/// accepted and ignored (the receiver connects as any HTTP client does).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SetWebhook {
    /// The http(s) URL to POST Bot API `Update`s to; empty removes the webhook.
    pub url: String,
    /// Ignored (a self-signed certificate to trust).
    pub certificate: Option<serde_json::Value>,
    /// Ignored (the IP address to connect to instead of resolving the host).
    pub ip_address: Option<String>,
    /// Connections at once, 1–100 (default 40).
    pub max_connections: Option<i64>,
    /// Kinds to POST; default: all but `message_reaction_count` and `deleted_messages`.
    pub allowed_updates: Option<Vec<String>>,
    /// Confirm every pending update first, so none is POSTed.
    pub drop_pending_updates: Option<bool>,
    /// Sent as `X-Telegram-Bot-Api-Secret-Token` with every POST: 1–256 characters of
    /// `A-Z`, `a-z`, `0-9`, `_` and `-`.
    pub secret_token: Option<String>,
}

fn bad_webhook(why: &str) -> ApiError {
    botapi::ApiError::bad_request(format_args!("bad webhook: {why}")).into()
}

async fn store(
    state: &AppState,
    setting: RuntimeWebhook,
    drop_pending: bool,
) -> Result<(), ApiError> {
    in_memory(state)?;
    let outbox = state.updates.outbox().await.map_err(outbox_error)?;
    let current = outbox.webhook_state().await.map_err(outbox_error)?;
    let setting = RuntimeWebhook {
        env_fingerprint: current.env_fingerprint(),
        set_at: outbox::now_ms() / 1000,
        ..setting
    };
    outbox
        .set_runtime_webhook(&setting, drop_pending)
        .await
        .map_err(outbox_error)
}

/// `POST /api_v1/setWebhook` → `true`: the receiver POSTs every update to `url` from now on
/// (within half a second), as Bot API `Update`s, instead of `WEBHOOK_URL`; the setting is
/// kept in the outbox across restarts of both binaries until `deleteWebhook`, or until
/// `WEBHOOK_URL` (or `WEBHOOK_FORMAT`) changes.
///
/// Errors: 400 "Bad Request: bad webhook: …" for a URL that is not absolute http(s) or a
/// secret token of other characters or length.
pub async fn set_webhook(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<SetWebhook>,
) -> ApiResult<bool> {
    let url = req.url.trim();
    if !url.is_empty() {
        let parsed = url::Url::parse(url)
            .map_err(|_| bad_webhook("an absolute http or https URL must be provided"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(bad_webhook(
                "an absolute http or https URL must be provided",
            ));
        }
    }
    if let Some(token) = &req.secret_token
        && (token.is_empty()
            || token.len() > 256
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return Err(bad_webhook("secret token contains unallowed characters"));
    }
    let max_connections = req
        .max_connections
        .map_or(DEFAULT_MAX_CONNECTIONS, |n| n.clamp(1, 100) as u32);
    let setting = RuntimeWebhook {
        url: url.to_owned(),
        secret_token: req.secret_token.filter(|_| !url.is_empty()),
        max_connections,
        allowed_updates: req.allowed_updates,
        ..RuntimeWebhook::default()
    };
    store(&state, setting, req.drop_pending_updates.unwrap_or(false)).await?;
    if url.is_empty() {
        ok_described(true, "Webhook was deleted")
    } else {
        ok_described(true, "Webhook was set")
    }
}

/// Parameters of `deleteWebhook`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DeleteWebhook {
    /// Confirm every pending update, so neither `getUpdates` nor a later webhook sees it.
    pub drop_pending_updates: Option<bool>,
}

/// `POST /api_v1/deleteWebhook` → `true`: no webhook from now on (also not `WEBHOOK_URL`,
/// until it changes); the updates wait for `getUpdates`.
pub async fn delete_webhook(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<DeleteWebhook>,
) -> ApiResult<bool> {
    let drop_pending = req.drop_pending_updates.unwrap_or(false);
    store(&state, RuntimeWebhook::default(), drop_pending).await?;
    ok_described(true, "Webhook was deleted")
}

/// Bot API `WebhookInfo`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookInfo {
    /// The webhook in force (`WEBHOOK_URL` without credentials or query, or `setWebhook`'s);
    /// empty when updates wait for `getUpdates`.
    pub url: String,
    /// Always `false`.
    pub has_custom_certificate: bool,
    /// Updates stored and not yet delivered or fetched.
    pub pending_update_count: u64,
    /// Unix time of the last failed delivery attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_date: Option<i64>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_message: Option<String>,
    /// Connections at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// The kinds delivered, when limited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_updates: Option<Vec<String>>,
}

fn webhook_info(settings: &WebhookState) -> WebhookInfo {
    let (url, max_connections, allowed_updates) = match settings.target() {
        Target::Polling => (String::new(), None, None),
        Target::Env(env) => (
            env.url.clone().unwrap_or_default(),
            Some(env.max_connections),
            Some(env.allowed_updates.clone()).filter(|a| !a.is_empty()),
        ),
        Target::Runtime(runtime) => (
            runtime.url.clone(),
            Some(runtime.max_connections),
            runtime.allowed_updates.clone(),
        ),
    };
    WebhookInfo {
        url,
        has_custom_certificate: false,
        pending_update_count: 0,
        last_error_date: None,
        last_error_message: None,
        max_connections,
        allowed_updates,
    }
}

/// `GET|POST /api_v1/getWebhookInfo` → WebhookInfo: the webhook in force, the pending
/// count and the last delivery error (from the outbox the receiver writes).
pub async fn get_webhook_info(State(state): State<AppState>) -> ApiResult<WebhookInfo> {
    in_memory(&state)?;
    let outbox = state.updates.outbox().await.map_err(outbox_error)?;
    let settings = outbox.webhook_state().await.map_err(outbox_error)?;
    let stats = outbox.stats().await.map_err(outbox_error)?;
    let mut info = webhook_info(&settings);
    info.pending_update_count = stats.pending;
    if !info.url.is_empty() {
        info.last_error_date = stats.last_error_at.map(|ms| ms / 1000);
        info.last_error_message = stats.last_error;
    }
    crate::error::ok(info)
}
