//! Text messages: `sendMessage`, `editMessageText`, `deleteMessage`
//! (Bot API sections "sendMessage", "Updating messages").

use axum::extract::State;
use botapi::RpcContext;
use botapi::ids::ChatIdParam;
use botapi::types::{LinkPreviewOptions, Message, MessageEntity, ReplyParameters};
use serde::Deserialize;
use telegram::OutgoingText;

use crate::error::{ApiResult, TelegramResultExt, ok};
use crate::extract::BotJson;
use crate::state::AppState;
use crate::text;

/// Body of `POST /api_v1/sendMessage`. Unknown fields (reply_markup, message_thread_id, …) are
/// accepted and ignored for now.
#[derive(Debug, Clone, Deserialize)]
pub struct SendMessage {
    /// Target chat: Bot API id (`-100…` for supergroups/channels, `-id` for basic groups) or
    /// `"@username"`.
    pub chat_id: ChatIdParam,
    /// 1–4096 characters after entity parsing.
    pub text: String,
    /// `HTML`, `MarkdownV2` or `Markdown` (case-insensitive).
    pub parse_mode: Option<String>,
    /// Explicit entities (UTF-16 offsets), used when `parse_mode` is absent.
    pub entities: Option<Vec<MessageEntity>>,
    /// Legacy form of `reply_parameters.message_id`.
    pub reply_to_message_id: Option<i32>,
    /// The message to reply to; wins over `reply_to_message_id`.
    pub reply_parameters: Option<ReplyParameters>,
    /// Legacy form of `reply_parameters.allow_sending_without_reply`.
    pub allow_sending_without_reply: Option<bool>,
    /// Send silently.
    pub disable_notification: Option<bool>,
    /// Forbid forwarding and saving.
    pub protect_content: Option<bool>,
    /// Link preview switches; only `is_disabled` has an effect so far.
    pub link_preview_options: Option<LinkPreviewOptions>,
    /// Legacy form of `link_preview_options.is_disabled`.
    pub disable_web_page_preview: Option<bool>,
}

/// `POST /api_v1/sendMessage` → `{"ok":true,"result":Message}`, the sent message as the Bot
/// API shows it (`reply_to_message` filled when replying).
///
/// Errors: 400 "chat not found", "message text is empty", "can't parse entities: …",
/// "message to be replied not found" (unless `allow_sending_without_reply`); 403 when the
/// account may not write there; 429 on a long flood wait; 500 on internal faults.
pub async fn send_message(
    State(state): State<AppState>,
    BotJson(req): BotJson<SendMessage>,
) -> ApiResult<Message> {
    let ctx = RpcContext::Send;
    let formatted = text::formatted(&req.text, req.parse_mode.as_deref(), req.entities)?;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    let reply = req.reply_parameters.as_ref();
    if let Some(reply_chat) = reply.and_then(|r| r.chat_id.as_ref()) {
        // Replies across chats need a different MTProto reply header; not supported yet.
        if tg.resolve_chat(reply_chat).await.or_api(ctx)?.id != peer.id {
            return Err(botapi::ApiError::bad_request(
                "replying to a message of another chat is not supported",
            )
            .into());
        }
    }
    let allow_without_reply = reply
        .and_then(|r| r.allow_sending_without_reply)
        .or(req.allow_sending_without_reply)
        .unwrap_or(false);
    let mut reply_to = reply.map(|r| r.message_id).or(req.reply_to_message_id);
    if let Some(id) = reply_to {
        // Telegram silently drops a reply to a missing message; the Bot API refuses instead
        // unless asked to send anyway.
        if tg.get_message(peer, id).await.or_api(ctx)?.is_none() {
            if !allow_without_reply {
                return Err(botapi::ApiError::message_to_reply_not_found().into());
            }
            reply_to = None;
        }
    }
    let out = OutgoingText {
        text: formatted.text,
        entities: telegram::entities::to_tl(&formatted.entities),
        reply_to,
        silent: req.disable_notification.unwrap_or(false),
        no_webpage: text::no_webpage(
            req.link_preview_options.as_ref(),
            req.disable_web_page_preview,
        ),
        noforwards: req.protect_content.unwrap_or(false),
    };
    ok(tg.send_text(peer, out).await.or_api(ctx)?)
}

/// Body of `POST /api_v1/editMessageText` (chat messages only; `inline_message_id` is not
/// supported).
#[derive(Debug, Clone, Deserialize)]
pub struct EditMessageText {
    /// Chat of the message: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// The message to edit, sent by the account.
    pub message_id: i32,
    /// New text, 1–4096 characters after entity parsing.
    pub text: String,
    /// `HTML`, `MarkdownV2` or `Markdown`.
    pub parse_mode: Option<String>,
    /// Explicit entities, used when `parse_mode` is absent.
    pub entities: Option<Vec<MessageEntity>>,
    /// Link preview switches; only `is_disabled` has an effect so far.
    pub link_preview_options: Option<LinkPreviewOptions>,
    /// Legacy form of `link_preview_options.is_disabled`.
    pub disable_web_page_preview: Option<bool>,
}

/// `POST /api_v1/editMessageText` → `{"ok":true,"result":Message}`, the edited message.
///
/// Errors: 400 "chat not found", "message to edit not found", "message can't be edited",
/// "message is not modified: …" when text and entities are unchanged, "message text is empty".
pub async fn edit_message_text(
    State(state): State<AppState>,
    BotJson(req): BotJson<EditMessageText>,
) -> ApiResult<Message> {
    let ctx = RpcContext::Edit;
    let formatted = text::formatted(&req.text, req.parse_mode.as_deref(), req.entities)?;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    let no_webpage = text::no_webpage(
        req.link_preview_options.as_ref(),
        req.disable_web_page_preview,
    );
    let entities = telegram::entities::to_tl(&formatted.entities);
    let edited = tg
        .edit_text(peer, req.message_id, formatted.text, entities, no_webpage)
        .await
        .or_api(ctx)?;
    ok(edited)
}

/// Body of `POST /api_v1/deleteMessage`.
#[derive(Debug, Clone, Deserialize)]
pub struct DeleteMessage {
    /// Chat of the message: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// The message to delete (for everyone).
    pub message_id: i32,
}

/// `POST /api_v1/deleteMessage` → `{"ok":true,"result":true}`.
///
/// Errors: 400 "chat not found", "message to delete not found" (also when the id exists only
/// in another chat), "message can't be deleted"; 403 without admin rights in the chat.
pub async fn delete_message(
    State(state): State<AppState>,
    BotJson(req): BotJson<DeleteMessage>,
) -> ApiResult<bool> {
    let ctx = RpcContext::Delete;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    tg.delete_message(peer, req.message_id).await.or_api(ctx)?;
    ok(true)
}
