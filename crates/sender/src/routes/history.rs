//! User-account extras the Bot API lacks: `getChatHistory`, `searchChatMessages`,
//! `readChatHistory`, `getChats`. Same envelope and parameter conventions as the Bot API.

use axum::extract::State;
use botapi::RpcContext;
use botapi::ids::ChatIdParam;
use botapi::types::{ChatListItem, Message};
use serde::Deserialize;

use crate::error::{ApiResult, TelegramResultExt, ok};
use crate::extract::BotRequest;
use crate::state::AppState;

/// Default and largest page size of the methods here.
pub const MAX_LIMIT: i32 = 100;

fn limit(requested: Option<i32>) -> i32 {
    requested.unwrap_or(MAX_LIMIT).clamp(1, MAX_LIMIT)
}

/// Parameters of `getChatHistory`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GetChatHistory {
    /// Chat: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// Return messages older than this id; 0 or absent: from the newest.
    pub offset_id: Option<i32>,
    /// 1–100 (default 100; larger values are clamped).
    pub limit: Option<i32>,
}

/// `POST /api_v1/getChatHistory` → array of Message, newest first. Page on with the last
/// `message_id` as the next `offset_id`. Replies carry no `reply_to_message`.
///
/// Errors: 400 "chat not found"; 403 "the chat is private".
pub async fn get_chat_history(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<GetChatHistory>,
) -> ApiResult<Vec<Message>> {
    let ctx = RpcContext::Other;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    let messages = tg
        .history(peer, req.offset_id.unwrap_or(0), limit(req.limit))
        .await
        .or_api(ctx)?;
    ok(messages)
}

/// Parameters of `searchChatMessages`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SearchChatMessages {
    /// Chat: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// Text to look for (case-insensitive); empty or absent matches every message.
    pub query: Option<String>,
    /// Only messages sent by this user (id or `"@username"`).
    pub from_user_id: Option<ChatIdParam>,
    /// Return messages older than this id; 0 or absent: from the newest.
    pub offset_id: Option<i32>,
    /// 1–100 (default 100).
    pub limit: Option<i32>,
}

/// `POST /api_v1/searchChatMessages` → array of matching Messages, newest first
/// (`messages.search`).
pub async fn search_chat_messages(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<SearchChatMessages>,
) -> ApiResult<Vec<Message>> {
    let ctx = RpcContext::Other;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    let from = match &req.from_user_id {
        Some(user) => Some(tg.resolve_chat(user).await.or_api(ctx)?),
        None => None,
    };
    let query = req.query.as_deref().unwrap_or("");
    let found = tg
        .search(
            peer,
            query,
            from,
            req.offset_id.unwrap_or(0),
            limit(req.limit),
        )
        .await
        .or_api(ctx)?;
    ok(found)
}

/// Parameters of `readChatHistory`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ReadChatHistory {
    /// Chat: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// Mark messages up to this id read; absent: all.
    pub max_id: Option<i32>,
}

/// `POST /api_v1/readChatHistory` → `true`; the chat's incoming messages are marked read.
pub async fn read_chat_history(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<ReadChatHistory>,
) -> ApiResult<bool> {
    let ctx = RpcContext::Other;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    tg.read_history(peer, req.max_id.unwrap_or(0))
        .await
        .or_api(ctx)?;
    ok(true)
}

/// Parameters of `getChats`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GetChats {
    /// How many chats to skip from the most recently active one (default 0).
    pub offset: Option<u32>,
    /// 1–100 (default 100).
    pub limit: Option<i32>,
}

/// `POST /api_v1/getChats` → array of Chat objects of the account's chat list, most recent
/// activity first, each with `last_message` (when there is one) and `unread_count`.
pub async fn get_chats(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<GetChats>,
) -> ApiResult<Vec<ChatListItem>> {
    let offset = req.offset.unwrap_or(0) as usize;
    let chats = state
        .telegram
        .dialogs(offset, limit(req.limit) as usize)
        .await
        .or_api(RpcContext::Other)?;
    ok(chats)
}
