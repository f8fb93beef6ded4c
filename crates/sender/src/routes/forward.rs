//! Forwarding and copying: `forwardMessage`, `forwardMessages`, `copyMessage`, `copyMessages`
//! (Bot API sections of the same names), all through `messages.forwardMessages` — copies with
//! `drop_author`, so they carry no `forward_origin`.

use axum::extract::State;
use botapi::RpcContext;
use botapi::ids::ChatIdParam;
use botapi::types::{Message, MessageEntity, MessageId, ReplyMarkup};
use serde::Deserialize;
use telegram::{Forward, Peer, SendOptions, Telegram};

use crate::error::{ApiError, ApiResult, TelegramResultExt, ok};
use crate::extract::BotRequest;
use crate::state::AppState;
use crate::text;

/// Most messages one forwardMessages/copyMessages call takes.
pub const MAX_MESSAGES: usize = 100;

/// Parameters of `forwardMessage` and `forwardMessages`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ForwardParams {
    /// Target chat: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// Chat the message(s) are in.
    pub from_chat_id: ChatIdParam,
    /// forwardMessage: the message.
    pub message_id: Option<i32>,
    /// forwardMessages: 1–100 ids, increasing.
    pub message_ids: Option<Vec<i32>>,
    /// Forum topic. Accepted and ignored.
    pub message_thread_id: Option<i32>,
    /// Send silently.
    pub disable_notification: Option<bool>,
    /// Forbid forwarding and saving the result.
    pub protect_content: Option<bool>,
}

/// Parameters of `copyMessage` and `copyMessages`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CopyParams {
    /// Target chat: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// Chat the message(s) are in.
    pub from_chat_id: ChatIdParam,
    /// copyMessage: the message.
    pub message_id: Option<i32>,
    /// copyMessages: 1–100 ids, increasing.
    pub message_ids: Option<Vec<i32>>,
    /// copyMessage: new caption for a media message (the original is kept when absent).
    pub caption: Option<String>,
    /// `parse_mode` of `caption`.
    pub parse_mode: Option<String>,
    /// Explicit caption entities.
    pub caption_entities: Option<Vec<MessageEntity>>,
    /// copyMessages: copy media without their captions.
    pub remove_caption: Option<bool>,
    /// copyMessage: keyboard for the copy (bot sessions only; a user account's copy is made
    /// without it, as Telegram drops a user's markup). Set by editing the copy right after.
    pub reply_markup: Option<ReplyMarkup>,
    /// Forum topic. Accepted and ignored.
    pub message_thread_id: Option<i32>,
    /// Send silently.
    pub disable_notification: Option<bool>,
    /// Forbid forwarding and saving the result.
    pub protect_content: Option<bool>,
}

fn one_id(message_id: Option<i32>) -> Result<Vec<i32>, ApiError> {
    message_id
        .map(|id| vec![id])
        .ok_or_else(|| botapi::ApiError::missing_parameter("message_id").into())
}

/// The ids of a *Messages call: 1–100, sorted and deduplicated.
fn many_ids(ids: Option<Vec<i32>>) -> Result<Vec<i32>, ApiError> {
    let mut ids = ids.unwrap_or_default();
    if ids.is_empty() {
        return Err(botapi::ApiError::bad_request("message identifiers are not specified").into());
    }
    if ids.len() > MAX_MESSAGES {
        return Err(botapi::ApiError::bad_request("too many message identifiers specified").into());
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

async fn peers(
    tg: &Telegram,
    to: &ChatIdParam,
    from: &ChatIdParam,
    ctx: RpcContext,
) -> Result<(Peer, Peer), ApiError> {
    Ok((
        tg.resolve_chat(to).await.or_api(ctx)?,
        tg.resolve_chat(from).await.or_api(ctx)?,
    ))
}

async fn forward(
    state: &AppState,
    req: ForwardParams,
    ids: Vec<i32>,
) -> Result<Vec<Message>, ApiError> {
    let ctx = RpcContext::Forward;
    let tg = &state.telegram;
    let (to, from) = peers(tg, &req.chat_id, &req.from_chat_id, ctx).await?;
    let f = Forward {
        from,
        to,
        ids,
        drop_author: false,
        drop_captions: false,
        options: SendOptions {
            reply_to: None,
            silent: req.disable_notification.unwrap_or(false),
            noforwards: req.protect_content.unwrap_or(false),
            reply_markup: None,
        },
    };
    tg.forward_messages(f).await.or_api(ctx)
}

/// `POST /api_v1/forwardMessage` → the forwarded Message, with `forward_origin`.
///
/// Errors: 400 "chat not found", "message to forward not found", "message has protected
/// content and can't be forwarded"; 403 without the right to write in `chat_id`.
pub async fn forward_message(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<ForwardParams>,
) -> ApiResult<Message> {
    let ids = one_id(req.message_id)?;
    let sent = forward(&state, req, ids).await?;
    match sent.into_iter().next() {
        Some(message) => ok(message),
        None => Err(botapi::ApiError::message_to_forward_not_found().into()),
    }
}

/// `POST /api_v1/forwardMessages` → array of MessageId of the forwards, in order. Ids that
/// do not exist are skipped; none existing is "message to forward not found".
pub async fn forward_messages(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<ForwardParams>,
) -> ApiResult<Vec<MessageId>> {
    let ids = many_ids(req.message_ids.clone())?;
    let sent = forward(&state, req, ids).await?;
    ok(message_ids(&sent))
}

fn message_ids(messages: &[Message]) -> Vec<MessageId> {
    messages
        .iter()
        .map(|m| MessageId {
            message_id: m.message_id,
        })
        .collect()
}

async fn copy(
    state: &AppState,
    req: &CopyParams,
    ids: Vec<i32>,
    drop_captions: bool,
) -> Result<(Peer, Vec<Message>), ApiError> {
    let ctx = RpcContext::Copy;
    let tg = &state.telegram;
    let (to, from) = peers(tg, &req.chat_id, &req.from_chat_id, ctx).await?;
    let f = Forward {
        from,
        to,
        ids,
        drop_author: true,
        drop_captions,
        options: SendOptions {
            reply_to: None,
            silent: req.disable_notification.unwrap_or(false),
            noforwards: req.protect_content.unwrap_or(false),
            reply_markup: None,
        },
    };
    Ok((to, tg.forward_messages(f).await.or_api(ctx)?))
}

/// `POST /api_v1/copyMessage` → the copy's MessageId. The copy has no forward header.
///
/// A `caption` replaces a media message's caption: the copy is sent without its caption and
/// then edited (two calls; other clients briefly see the bare media). Text messages ignore
/// `caption`, as the Bot API does. An inline keyboard (`reply_markup`, bot sessions) is set
/// by that edit too; other markup kinds can't be attached to an existing message and are
/// refused with 400. `reply_parameters` is not supported.
///
/// Errors: 400 "chat not found", "message to copy not found", "can't parse entities: …".
pub async fn copy_message(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<CopyParams>,
) -> ApiResult<MessageId> {
    let ids = one_id(req.message_id)?;
    let caption = match &req.caption {
        Some(c) => Some(text::caption(
            Some(c),
            req.parse_mode.as_deref(),
            req.caption_entities.clone(),
        )?),
        None => None,
    };
    // Telegram drops a user's markup; only a bot's copy gets its keyboard.
    let markup = req
        .reply_markup
        .clone()
        .filter(|_| state.telegram.account().user.is_bot);
    if markup
        .as_ref()
        .is_some_and(|m| m.inline_keyboard().is_none())
    {
        return Err(botapi::ApiError::bad_request(
            "copyMessage supports only an inline keyboard as reply_markup",
        )
        .into());
    }
    let (to, sent) = copy(&state, &req, ids, caption.is_some()).await?;
    let Some(copy) = sent.into_iter().next() else {
        return Err(botapi::ApiError::bad_request("message to copy not found").into());
    };
    let tg = &state.telegram;
    if let Some(caption) = caption.filter(|c| !c.text.is_empty())
        && copy.text.is_none()
    {
        tg.edit_text(
            to,
            copy.message_id,
            caption.text,
            &caption.entities,
            false,
            markup.as_ref(),
        )
        .await
        .or_api(RpcContext::Edit)?;
    } else if let Some(markup) = &markup {
        tg.edit_reply_markup(to, copy.message_id, Some(markup))
            .await
            .or_api(RpcContext::Edit)?;
    }
    ok(MessageId {
        message_id: copy.message_id,
    })
}

/// `POST /api_v1/copyMessages` → array of MessageId of the copies, in order
/// (`remove_caption` drops media captions). Missing ids are skipped.
pub async fn copy_messages(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<CopyParams>,
) -> ApiResult<Vec<MessageId>> {
    let ids = many_ids(req.message_ids.clone())?;
    let remove = req.remove_caption.unwrap_or(false);
    let (_, sent) = copy(&state, &req, ids, remove).await?;
    ok(message_ids(&sent))
}
