//! The methods of a bot session (Bot API sections "answerCallbackQuery", "setMyCommands",
//! "getMyCommands", "deleteMyCommands", "setMyName"/"getMyName", "setMyDescription"/
//! "getMyDescription", "setMyShortDescription"/"getMyShortDescription"; `editMessageReplyMarkup`
//! lives with the other edits in `messages`).
//!
//! A user account gets 400 "Bad Request: method is available only for bots" from each, before
//! its parameters are read and anything reaches Telegram ([`BotSession`]); were it to get that
//! far, Telegram's `USER_BOT_REQUIRED` maps to the same answer.

use axum::extract::State;
use botapi::RpcContext;
use botapi::types::{BotCommand, BotCommandScope, BotDescription, BotName, BotShortDescription};
use serde::Deserialize;
use telegram::{BotInfoField, CallbackAnswer};

use super::account::BotSession;
use crate::error::{ApiError, ApiResult, TelegramResultExt, ok};
use crate::extract::BotRequest;
use crate::state::AppState;

/// Most commands in one list (Bot API "setMyCommands": "At most 100 commands").
pub const MAX_COMMANDS: usize = 100;

const CTX: RpcContext = RpcContext::Other;

fn bad(detail: impl std::fmt::Display) -> ApiError {
    botapi::ApiError::bad_request(detail).into()
}

/// Parameters of `answerCallbackQuery`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AnswerCallbackQuery {
    /// `CallbackQuery.id` (a decimal integer, sent as a string).
    pub callback_query_id: String,
    /// Notification text, 0–200 characters.
    pub text: Option<String>,
    /// Show an alert instead of a notification at the top of the chat screen.
    pub show_alert: Option<bool>,
    /// URL for the user's client to open (games, `t.me/<bot>?start=` links).
    pub url: Option<String>,
    /// Seconds the client may cache the answer (default 0).
    pub cache_time: Option<i32>,
}

/// `POST /api_v1/answerCallbackQuery` → `true` (`messages.setBotCallbackAnswer`).
///
/// Errors: 400 "query is too old and response timeout expired or query ID is invalid" (an
/// unknown, already answered or non-numeric id), "message is too long" (text over 200
/// characters), "method is available only for bots".
pub async fn answer_callback_query(
    State(state): State<AppState>,
    _: BotSession,
    BotRequest { params: req, .. }: BotRequest<AnswerCallbackQuery>,
) -> ApiResult<bool> {
    let Ok(query_id) = req.callback_query_id.trim().parse::<i64>() else {
        return Err(botapi::rpc_error_to_api_error(400, "QUERY_ID_INVALID", None, CTX).into());
    };
    let answer = CallbackAnswer {
        text: req.text.filter(|t| !t.is_empty()),
        show_alert: req.show_alert.unwrap_or(false),
        url: req.url,
        cache_time: req.cache_time.unwrap_or(0),
    };
    state
        .telegram
        .answer_callback_query(query_id, answer)
        .await
        .or_api(CTX)?;
    ok(true)
}

/// Parameters of `setMyCommands`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SetMyCommands {
    /// 0–100 commands (an empty list deletes the list, as `deleteMyCommands` does).
    pub commands: Vec<BotCommand>,
    /// Who sees them (default: `{"type":"default"}`).
    pub scope: Option<BotCommandScope>,
    /// Two-letter ISO 639-1 code; empty or absent: users without a list in their language.
    pub language_code: Option<String>,
}

/// Parameters of `getMyCommands` and `deleteMyCommands`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CommandsOf {
    /// The scope (default: `{"type":"default"}`).
    pub scope: Option<BotCommandScope>,
    /// Two-letter ISO 639-1 code, or empty.
    pub language_code: Option<String>,
}

/// `POST /api_v1/setMyCommands` → `true` (`bots.setBotCommands`).
///
/// Errors: 400 for more than [`MAX_COMMANDS`] commands or one breaking the "BotCommand" rules
/// (`BOT_COMMAND_INVALID: …`, `BOT_COMMAND_DESCRIPTION_INVALID: …`), "chat not found" for a
/// scope's chat, "method is available only for bots".
pub async fn set_my_commands(
    State(state): State<AppState>,
    _: BotSession,
    BotRequest { params: req, .. }: BotRequest<SetMyCommands>,
) -> ApiResult<bool> {
    if req.commands.len() > MAX_COMMANDS {
        return Err(bad(format_args!(
            "too many commands: {}, at most {MAX_COMMANDS}",
            req.commands.len()
        )));
    }
    for command in &req.commands {
        command.check().map_err(bad)?;
    }
    let scope = req.scope.unwrap_or_default();
    let lang = req.language_code.unwrap_or_default();
    state
        .telegram
        .set_bot_commands(&scope, &lang, &req.commands)
        .await
        .or_api(CTX)?;
    ok(true)
}

/// `POST /api_v1/getMyCommands` → the BotCommand list of exactly that scope and language
/// (`[]` when none is set).
///
/// Errors: 400 "chat not found" for a scope's chat, "method is available only for bots".
pub async fn get_my_commands(
    State(state): State<AppState>,
    _: BotSession,
    BotRequest { params: req, .. }: BotRequest<CommandsOf>,
) -> ApiResult<Vec<BotCommand>> {
    let scope = req.scope.unwrap_or_default();
    let lang = req.language_code.unwrap_or_default();
    ok(state
        .telegram
        .get_bot_commands(&scope, &lang)
        .await
        .or_api(CTX)?)
}

/// `POST /api_v1/deleteMyCommands` → `true` (`bots.resetBotCommands`).
///
/// Errors: as getMyCommands.
pub async fn delete_my_commands(
    State(state): State<AppState>,
    _: BotSession,
    BotRequest { params: req, .. }: BotRequest<CommandsOf>,
) -> ApiResult<bool> {
    let scope = req.scope.unwrap_or_default();
    let lang = req.language_code.unwrap_or_default();
    state
        .telegram
        .reset_bot_commands(&scope, &lang)
        .await
        .or_api(CTX)?;
    ok(true)
}

/// Parameters of `setMyName`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SetMyName {
    /// 0–64 characters; empty or absent removes the name of that language.
    pub name: Option<String>,
    /// Two-letter ISO 639-1 code, or empty for the default.
    pub language_code: Option<String>,
}

/// Parameters of `setMyDescription`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SetMyDescription {
    /// 0–512 characters; empty or absent removes it.
    pub description: Option<String>,
    /// Two-letter ISO 639-1 code, or empty for the default.
    pub language_code: Option<String>,
}

/// Parameters of `setMyShortDescription`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SetMyShortDescription {
    /// 0–120 characters; empty or absent removes it.
    pub short_description: Option<String>,
    /// Two-letter ISO 639-1 code, or empty for the default.
    pub language_code: Option<String>,
}

/// Parameters of `getMyName`, `getMyDescription`, `getMyShortDescription`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct InfoOf {
    /// Two-letter ISO 639-1 code, or empty for the default.
    pub language_code: Option<String>,
}

/// Sets one field of the bot's profile after checking its Bot API length limit.
async fn set_info(
    state: &AppState,
    field: BotInfoField,
    text: Option<String>,
    language_code: Option<String>,
) -> ApiResult<bool> {
    let (name, max) = match field {
        BotInfoField::Name => ("name", 64),
        BotInfoField::Description => ("description", 512),
        BotInfoField::ShortDescription => ("short_description", 120),
    };
    let text = text.unwrap_or_default();
    if text.chars().count() > max {
        return Err(bad(format_args!("{name} is longer than {max} characters")));
    }
    let lang = language_code.unwrap_or_default();
    state
        .telegram
        .set_bot_info(field, &lang, &text)
        .await
        .or_api(CTX)?;
    ok(true)
}

async fn get_info(
    state: &AppState,
    language_code: Option<String>,
) -> Result<telegram::BotInfo, ApiError> {
    let lang = language_code.unwrap_or_default();
    state.telegram.get_bot_info(&lang).await.or_api(CTX)
}

/// `POST /api_v1/setMyName` → `true` (`bots.setBotInfo` with `name`).
///
/// Errors: 400 "name is longer than 64 characters", "method is available only for bots".
pub async fn set_my_name(
    State(state): State<AppState>,
    _: BotSession,
    BotRequest { params: req, .. }: BotRequest<SetMyName>,
) -> ApiResult<bool> {
    set_info(&state, BotInfoField::Name, req.name, req.language_code).await
}

/// `POST /api_v1/getMyName` → BotName (`bots.getBotInfo`); the default language falls back
/// to the bot's first name.
pub async fn get_my_name(
    State(state): State<AppState>,
    _: BotSession,
    BotRequest { params: req, .. }: BotRequest<InfoOf>,
) -> ApiResult<BotName> {
    let info = get_info(&state, req.language_code).await?;
    ok(BotName { name: info.name })
}

/// `POST /api_v1/setMyDescription` → `true` (`bots.setBotInfo` with `description`).
///
/// Errors: 400 "description is longer than 512 characters", "method is available only for
/// bots".
pub async fn set_my_description(
    State(state): State<AppState>,
    _: BotSession,
    BotRequest { params: req, .. }: BotRequest<SetMyDescription>,
) -> ApiResult<bool> {
    set_info(
        &state,
        BotInfoField::Description,
        req.description,
        req.language_code,
    )
    .await
}

/// `POST /api_v1/getMyDescription` → BotDescription (`bots.getBotInfo`).
pub async fn get_my_description(
    State(state): State<AppState>,
    _: BotSession,
    BotRequest { params: req, .. }: BotRequest<InfoOf>,
) -> ApiResult<BotDescription> {
    let info = get_info(&state, req.language_code).await?;
    ok(BotDescription {
        description: info.description,
    })
}

/// `POST /api_v1/setMyShortDescription` → `true` (`bots.setBotInfo` with `about`).
///
/// Errors: 400 "short_description is longer than 120 characters", "method is available only
/// for bots".
pub async fn set_my_short_description(
    State(state): State<AppState>,
    _: BotSession,
    BotRequest { params: req, .. }: BotRequest<SetMyShortDescription>,
) -> ApiResult<bool> {
    set_info(
        &state,
        BotInfoField::ShortDescription,
        req.short_description,
        req.language_code,
    )
    .await
}

/// `POST /api_v1/getMyShortDescription` → BotShortDescription (`bots.getBotInfo`).
pub async fn get_my_short_description(
    State(state): State<AppState>,
    _: BotSession,
    BotRequest { params: req, .. }: BotRequest<InfoOf>,
) -> ApiResult<BotShortDescription> {
    let info = get_info(&state, req.language_code).await?;
    ok(BotShortDescription {
        short_description: info.short_description,
    })
}
