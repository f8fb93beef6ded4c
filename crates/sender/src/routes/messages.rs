//! Text messages: `sendMessage`, `editMessageText`, `deleteMessage`
//! (Bot API sections "sendMessage", "Updating messages").

use axum::extract::State;
use botapi::RpcContext;
use botapi::ids::ChatIdParam;
use botapi::types::{
    InlineKeyboardMarkup, LinkPreviewOptions, Message, MessageEntity, ReplyMarkup, ReplyParameters,
};
use serde::Deserialize;
use telegram::OutgoingText;

use super::reply::ReplyFields;
use crate::error::{ApiError, ApiResult, TelegramResultExt, ok};
use crate::extract::BotRequest;
use crate::state::AppState;
use crate::text;

/// Parameters of `POST /api_v1/sendMessage`. Unknown fields (`message_effect_id`, …) are
/// accepted and ignored.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
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
    /// Link preview switches; only `is_disabled` has an effect (`url`, `prefer_*_media` and
    /// `show_above_text` are accepted and ignored).
    pub link_preview_options: Option<LinkPreviewOptions>,
    /// Legacy form of `link_preview_options.is_disabled`.
    pub disable_web_page_preview: Option<bool>,
    /// Forum topic. Accepted and ignored: the message goes to the chat's main thread.
    pub message_thread_id: Option<i32>,
    /// Inline keyboard, custom reply keyboard, keyboard removal or force-reply (Bot API
    /// "InlineKeyboardMarkup" …); honoured for bot sessions only, a user account's message is
    /// sent without it (Telegram drops it).
    pub reply_markup: Option<ReplyMarkup>,
}

/// `POST /api_v1/sendMessage` → `{"ok":true,"result":Message}`, the sent message as the Bot
/// API shows it (`reply_to_message` filled when replying).
///
/// Errors: 400 "chat not found", "message text is empty", "can't parse entities: …",
/// "message to be replied not found" (unless `allow_sending_without_reply`); 403 when the
/// account may not write there; 429 on a long flood wait; 500 on internal faults.
pub async fn send_message(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<SendMessage>,
) -> ApiResult<Message> {
    let ctx = RpcContext::Send;
    let formatted = text::formatted(&req.text, req.parse_mode.as_deref(), req.entities)?;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    let reply = ReplyFields {
        reply_to_message_id: req.reply_to_message_id,
        reply_parameters: req.reply_parameters,
        allow_sending_without_reply: req.allow_sending_without_reply,
        reply_markup: req.reply_markup,
    };
    let options = reply
        .options(tg, peer, req.disable_notification, req.protect_content)
        .await?;
    let out = OutgoingText {
        text: formatted.text,
        entities: formatted.entities,
        no_webpage: text::no_webpage(
            req.link_preview_options.as_ref(),
            req.disable_web_page_preview,
        ),
        options,
    };
    ok(tg.send_text(peer, out).await.or_api(ctx)?)
}

/// Parameters of `POST /api_v1/editMessageText` (chat messages only; `inline_message_id` is not
/// supported).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
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
    /// The message's new inline keyboard (bot sessions; absent: none, as in the Bot API).
    pub reply_markup: Option<InlineKeyboardMarkup>,
}

/// `POST /api_v1/editMessageText` → `{"ok":true,"result":Message}`, the edited message.
///
/// Errors: 400 "chat not found", "message to edit not found", "message can't be edited",
/// "message is not modified: …" when text and entities are unchanged, "message text is empty".
pub async fn edit_message_text(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<EditMessageText>,
) -> ApiResult<Message> {
    let ctx = RpcContext::Edit;
    let formatted = text::formatted(&req.text, req.parse_mode.as_deref(), req.entities)?;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    let no_webpage = text::no_webpage(
        req.link_preview_options.as_ref(),
        req.disable_web_page_preview,
    );
    let edited = tg
        .edit_text(
            peer,
            req.message_id,
            formatted.text,
            &formatted.entities,
            no_webpage,
            inline_markup(req.reply_markup)?.as_ref(),
        )
        .await
        .or_api(ctx)?;
    ok(edited)
}

/// Parameters of `POST /api_v1/deleteMessage`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
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
    BotRequest { params: req, .. }: BotRequest<DeleteMessage>,
) -> ApiResult<bool> {
    let ctx = RpcContext::Delete;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    tg.delete_message(peer, req.message_id).await.or_api(ctx)?;
    ok(true)
}

/// An edit's `reply_markup` as the markup the `telegram` edits take, checked by the rules of
/// Bot API "InlineKeyboardButton" (exactly one action, `callback_data` 1–64 bytes, …).
///
/// Errors: 400 `field "reply_markup": button [r][c]: <rule>`, as a send words it.
pub(crate) fn inline_markup(
    markup: Option<InlineKeyboardMarkup>,
) -> Result<Option<ReplyMarkup>, ApiError> {
    let markup = markup.map(ReplyMarkup::InlineKeyboard);
    if let Some(markup) = &markup {
        markup.check().map_err(|rule| {
            ApiError::from(botapi::ApiError::bad_request(format_args!(
                "field \"reply_markup\": {rule}"
            )))
        })?;
    }
    Ok(markup)
}

/// Parameters of `POST /api_v1/editMessageReplyMarkup` (chat messages only; no
/// `inline_message_id`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct EditMessageReplyMarkup {
    /// Chat of the message: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// A message the bot sent.
    pub message_id: i32,
    /// The new inline keyboard; absent removes it.
    pub reply_markup: Option<InlineKeyboardMarkup>,
}

/// `POST /api_v1/editMessageReplyMarkup` → the edited Message (Bot API section
/// "editMessageReplyMarkup"). Bot sessions only: a user account gets 400 "method is
/// available only for bots".
///
/// Errors: 400 "message to edit not found", "message can't be edited", "message is not
/// modified: …" for the same keyboard, the `reply_markup` rules (`BUTTON_DATA_INVALID`, …).
pub async fn edit_message_reply_markup(
    State(state): State<AppState>,
    _: super::account::BotSession,
    BotRequest { params: req, .. }: BotRequest<EditMessageReplyMarkup>,
) -> ApiResult<Message> {
    let ctx = RpcContext::Edit;
    let tg = &state.telegram;
    let markup = inline_markup(req.reply_markup)?;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    let edited = tg
        .edit_reply_markup(peer, req.message_id, markup.as_ref())
        .await
        .or_api(ctx)?;
    ok(edited)
}
