//! The account and bot plumbing: `getMe`, `getChat` and the bot-only methods the sender does
//! not implement (the update methods are in `super::updates`).
//!
//! The bot methods the sender implements
//! (`super::bot`, `editMessageReplyMarkup`) serve bot sessions; for a user account they, and
//! every one of [`BOT_ONLY_METHODS`] for any session, answer 400 "Bad Request: method is
//! available only for bots" — TDLib's answer when a user session calls them — never 404
//! (python-telegram-bot would read that as a bad token).

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use botapi::RpcContext;
use botapi::ids::ChatIdParam;
use botapi::types::{ChatFullInfo, User};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult, TelegramResultExt, ok};
use crate::extract::BotRequest;
use crate::state::AppState;

/// Bot API methods only bots may call that the sender does not implement (inline mode,
/// payments, games, menu button, default rights, logOut/close); each answers [`bot_only`],
/// for bot sessions too. The implemented ones are in `super::bot`.
pub const BOT_ONLY_METHODS: &[&str] = &[
    "answerInlineQuery",
    "answerWebAppQuery",
    "answerShippingQuery",
    "answerPreCheckoutQuery",
    "setChatMenuButton",
    "getChatMenuButton",
    "setMyDefaultAdministratorRights",
    "getMyDefaultAdministratorRights",
    "sendInvoice",
    "createInvoiceLink",
    "sendGame",
    "setGameScore",
    "getGameHighScores",
    "logOut",
    "close",
];

/// The username getMe shows for an account that has none: `user<id>`. Stable for the
/// account, but not a username Telegram resolves; it exists because teloxide requires one.
pub fn fallback_username(id: i64) -> String {
    format!("user{id}")
}

/// `GET|POST /api_v1/getMe` → the account as a Bot API User with every getMe field:
/// `is_bot` (`false` for a user account, `true` for a bot session), `can_join_groups: true`,
/// `can_read_all_group_messages: true` (a user sees every message), `supports_inline_queries: false`, `has_main_web_app: false`, and a
/// `username` — [`fallback_username`] when the account has none.
pub async fn get_me(State(state): State<AppState>) -> ApiResult<User> {
    let mut me = state.telegram.account().user.clone();
    me.username = Some(
        me.username
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| fallback_username(me.id)),
    );
    me.can_join_groups = Some(true);
    me.can_read_all_group_messages = Some(true);
    me.supports_inline_queries = Some(false);
    me.has_main_web_app = Some(false);
    ok(me)
}

/// Parameters of `getChat`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GetChat {
    /// Chat: id or `"@username"` (users as well as public chats).
    pub chat_id: ChatIdParam,
}

/// `GET|POST /api_v1/getChat` → ChatFullInfo: `id`, `type`, `title`, `username`,
/// `first_name`, `last_name`, `is_forum`, `accent_color_id`, `max_reaction_count`,
/// `accepted_gift_types` (the chat type's defaults). Bios, photos, permissions and the other
/// optional full-info fields are not filled.
///
/// Errors: 400 "chat not found"; 403 "the chat is private".
pub async fn get_chat(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<GetChat>,
) -> ApiResult<ChatFullInfo> {
    let ctx = RpcContext::Other;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    ok(tg.get_chat(peer).await.or_api(ctx)?)
}

/// Any of [`BOT_ONLY_METHODS`] → 400 "Bad Request: method is available only for bots".
pub async fn bot_only() -> ApiError {
    only_for_bots()
}

fn only_for_bots() -> ApiError {
    botapi::ApiError::bad_request("method is available only for bots").into()
}

/// Extractor guarding every bot method the sender implements: the signed-in account is a bot
/// (`telegram::Account`'s `is_bot`), else the refusal of [`bot_only`]. Listed before the
/// parameters, so a user account is refused whatever it sent, as Telegram refuses it.
#[derive(Debug, Clone, Copy)]
pub struct BotSession;

impl FromRequestParts<AppState> for BotSession {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.telegram.account().user.is_bot {
            Ok(Self)
        } else {
            Err(only_for_bots())
        }
    }
}
