//! Changing existing messages: `editMessageCaption`, `deleteMessages`, `pinChatMessage`,
//! `unpinChatMessage`, `unpinAllChatMessages`, `setMessageReaction` (Bot API "Updating
//! messages" and "Available methods").

use axum::extract::State;
use botapi::RpcContext;
use botapi::ids::ChatIdParam;
use botapi::types::{InlineKeyboardMarkup, Message, MessageEntity, ReactionType};
use serde::Deserialize;

use crate::error::{ApiResult, TelegramResultExt, ok};
use crate::extract::BotRequest;
use crate::state::AppState;
use crate::text;

/// Parameters of `editMessageCaption` (chat messages only; no `inline_message_id`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct EditMessageCaption {
    /// Chat of the message: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// A media message sent by the account.
    pub message_id: i32,
    /// New caption, 0–1024 characters after entity parsing; absent or empty removes it.
    pub caption: Option<String>,
    /// `parse_mode` of the caption.
    pub parse_mode: Option<String>,
    /// Explicit caption entities.
    pub caption_entities: Option<Vec<MessageEntity>>,
    /// The message's new inline keyboard (bot sessions; absent: none, as in the Bot API).
    pub reply_markup: Option<InlineKeyboardMarkup>,
}

/// `POST /api_v1/editMessageCaption` → the edited Message.
///
/// Errors: 400 "message to edit not found", "there is no caption in the message to edit"
/// (a text message), "message is not modified: …", "message can't be edited".
pub async fn edit_message_caption(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<EditMessageCaption>,
) -> ApiResult<Message> {
    let ctx = RpcContext::Edit;
    let caption = text::caption(
        req.caption.as_deref(),
        req.parse_mode.as_deref(),
        req.caption_entities,
    )?;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    let Some(current) = tg.get_message(peer, req.message_id).await.or_api(ctx)? else {
        return Err(botapi::ApiError::message_to_edit_not_found().into());
    };
    if current.text.is_some() {
        return Err(
            botapi::ApiError::bad_request("there is no caption in the message to edit").into(),
        );
    }
    let edited = tg
        .edit_text(
            peer,
            req.message_id,
            caption.text,
            &caption.entities,
            false,
            super::messages::inline_markup(req.reply_markup)?.as_ref(),
        )
        .await
        .or_api(ctx)?;
    ok(edited)
}

/// Parameters of `deleteMessages`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DeleteMessages {
    /// Chat of the messages: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// 1–100 message ids.
    pub message_ids: Option<Vec<i32>>,
}

/// `POST /api_v1/deleteMessages` → `true`. Ids that do not exist in the chat are skipped, as
/// the Bot API does.
///
/// Errors: 400 "message identifiers are not specified", "too many message identifiers
/// specified", "message can't be deleted"; 403 without admin rights.
pub async fn delete_messages(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<DeleteMessages>,
) -> ApiResult<bool> {
    let ctx = RpcContext::Delete;
    let ids = req.message_ids.unwrap_or_default();
    if ids.is_empty() {
        return Err(botapi::ApiError::bad_request("message identifiers are not specified").into());
    }
    if ids.len() > super::forward::MAX_MESSAGES {
        return Err(botapi::ApiError::bad_request("too many message identifiers specified").into());
    }
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    tg.delete_messages(peer, &ids).await.or_api(ctx)?;
    ok(true)
}

/// Parameters of `pinChatMessage` and `unpinChatMessage`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PinParams {
    /// Chat: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// pinChatMessage: required; unpinChatMessage: the newest pinned message when absent.
    pub message_id: Option<i32>,
    /// pinChatMessage: pin without notifying members.
    pub disable_notification: Option<bool>,
}

/// `POST /api_v1/pinChatMessage` → `true`.
///
/// Errors: 400 `parameter "message_id" is required`, "message to pin not found";
/// 403 "need administrator rights in the chat".
pub async fn pin_chat_message(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<PinParams>,
) -> ApiResult<bool> {
    let ctx = RpcContext::Pin;
    let Some(message_id) = req.message_id else {
        return Err(botapi::ApiError::missing_parameter("message_id").into());
    };
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    let silent = req.disable_notification.unwrap_or(false);
    tg.set_pinned(peer, message_id, true, silent)
        .await
        .or_api(ctx)?;
    ok(true)
}

/// `POST /api_v1/unpinChatMessage` → `true`.
///
/// Errors: 400 "message to unpin not found" (also when nothing is pinned and no
/// `message_id` is given).
pub async fn unpin_chat_message(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<PinParams>,
) -> ApiResult<bool> {
    let ctx = RpcContext::Unpin;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    let message_id = match req.message_id {
        Some(id) => Some(id),
        None => tg.latest_pinned(peer).await.or_api(ctx)?,
    };
    let Some(message_id) = message_id else {
        return Err(botapi::ApiError::bad_request("message to unpin not found").into());
    };
    tg.set_pinned(peer, message_id, false, false)
        .await
        .or_api(ctx)?;
    ok(true)
}

/// Parameters of `unpinAllChatMessages`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct UnpinAll {
    /// Chat: id or `"@username"`.
    pub chat_id: ChatIdParam,
}

/// `POST /api_v1/unpinAllChatMessages` → `true`.
pub async fn unpin_all_chat_messages(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<UnpinAll>,
) -> ApiResult<bool> {
    let ctx = RpcContext::Other;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    tg.unpin_all(peer).await.or_api(ctx)?;
    ok(true)
}

/// Parameters of `setMessageReaction`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SetMessageReaction {
    /// Chat: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// The message to react to.
    pub message_id: i32,
    /// New reactions (`ReactionTypeEmoji` …); absent or empty removes the account's.
    pub reaction: Option<Vec<ReactionType>>,
    /// Play the big animation.
    pub is_big: Option<bool>,
}

/// `POST /api_v1/setMessageReaction` → `true`.
///
/// Errors: 400 "message to react not found", "REACTION_INVALID" (an emoji the chat does not
/// allow), "chat not found".
pub async fn set_message_reaction(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<SetMessageReaction>,
) -> ApiResult<bool> {
    let ctx = RpcContext::React;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    let reactions = req.reaction.unwrap_or_default();
    tg.set_reaction(
        peer,
        req.message_id,
        &reactions,
        req.is_big.unwrap_or(false),
    )
    .await
    .or_api(ctx)?;
    ok(true)
}
