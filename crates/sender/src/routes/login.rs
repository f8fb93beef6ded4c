//! Headless login over HTTP, for servers without a terminal, behind `x-api-key`:
//! `POST /api_v1/auth/sendCode {phone_number}` → `POST /api_v1/auth/signIn {phone_code}` →
//! (two-step verification) `POST /api_v1/auth/checkPassword {password}`; or `POST /api_v1/auth/signInBot {bot_token}`; `POST
//! /api_v1/auth/logOut`; `GET /api_v1/auth/status`. Parameters come as JSON, form or query
//! like the Bot API methods' ([`crate::extract`]). Every route answers
//! `{"ok":true,"result":`[`AuthStatus`]`}`; the work is in [`crate::connection`].
//!
//! Codes and passwords become [`SecretString`]s as they are parsed and are never logged.

use axum::extract::{Request, State};
use secrecy::SecretString;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::connection::{Status, Step};
use crate::error::{ApiError, ApiResult, ok};
use crate::extract::{RawParams, deserialize};
use crate::state::ServerState;

/// The signed-in account, without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthAccount {
    /// User id.
    pub id: i64,
    /// First name.
    pub first_name: String,
    /// Username, if any.
    pub username: Option<String>,
    /// Whether the session is a bot's.
    pub is_bot: bool,
}

/// The `result` of every `/api_v1/auth/*` route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthStatus {
    /// Whether the session is signed in (Bot API methods work).
    pub authorized: bool,
    /// `none`, `code_sent` (call `signIn`) or `password_needed` (call `checkPassword`).
    pub step: &'static str,
    /// The signed-in account, or `null`.
    pub account: Option<AuthAccount>,
    /// The 2FA password hint while `step` is `password_needed`, else `null`.
    pub hint: Option<String>,
}

impl From<Status> for AuthStatus {
    fn from(status: Status) -> Self {
        let (step, hint) = match status.step {
            Step::None => ("none", None),
            Step::CodeSent => ("code_sent", None),
            Step::PasswordNeeded { hint } => ("password_needed", hint),
        };
        Self {
            authorized: status.authorized,
            step,
            account: status.account.map(|a| AuthAccount {
                id: a.id,
                first_name: a.first_name,
                username: a.username,
                is_bot: a.is_bot,
            }),
            hint,
        }
    }
}

/// A secret parameter: a string, or a number (clients send codes as either); `Debug` shows
/// `[REDACTED]`.
#[derive(Debug)]
pub struct Secret(pub SecretString);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The error never echoes the value, which may be a mistyped secret.
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(Self(SecretString::from(s))),
            Value::Number(n) => Ok(Self(SecretString::from(n.to_string()))),
            _ => Err(D::Error::custom("expected a string")),
        }
    }
}

/// Parameters of `sendCode`.
#[derive(Debug, Deserialize)]
pub struct SendCode {
    /// International format, e.g. `+15551234567`; default `TG_PHONE_NUMBER`.
    pub phone_number: Option<String>,
}

/// Parameters of `signIn`.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    /// The code Telegram sent to the account's apps (or by SMS).
    pub phone_code: Secret,
}

/// Parameters of `checkPassword`.
#[derive(Debug, Deserialize)]
pub struct CheckPassword {
    /// The two-step verification password.
    pub password: Secret,
}

async fn params<T: DeserializeOwned>(request: Request) -> Result<T, ApiError> {
    // No files here: any file part is refused as too large.
    let raw = RawParams::read(request, 0).await?;
    deserialize(Value::Object(raw.fields))
}

/// `POST /api_v1/auth/sendCode` → status with `step: "code_sent"`. Errors: 400 when already
/// signed in, without a phone number or `TG_API_HASH`; `PHONE_NUMBER_INVALID`; 429.
pub async fn send_code(
    State(state): State<ServerState>,
    request: Request,
) -> ApiResult<AuthStatus> {
    let SendCode { phone_number } = params(request).await?;
    ok(state.connection.send_code(phone_number).await?.into())
}

/// `POST /api_v1/auth/signIn` → status: authorized, or `step: "password_needed"` with the
/// hint. Errors: 400 "PHONE_CODE_INVALID" (try again), "PHONE_CODE_EXPIRED" (send a new
/// code), 400 when no code was requested.
pub async fn sign_in(State(state): State<ServerState>, request: Request) -> ApiResult<AuthStatus> {
    let SignIn { phone_code } = params(request).await?;
    ok(state.connection.sign_in(&phone_code.0).await?.into())
}

/// `POST /api_v1/auth/checkPassword` → authorized status. Errors: 400
/// "PASSWORD_HASH_INVALID" (try again), 400 when no password is needed.
pub async fn check_password(
    State(state): State<ServerState>,
    request: Request,
) -> ApiResult<AuthStatus> {
    let CheckPassword { password } = params(request).await?;
    ok(state.connection.check_password(&password.0).await?.into())
}

/// Parameters of `POST /api_v1/auth/signInBot`.
#[derive(Debug, Deserialize)]
pub struct SignInBot {
    /// The bot token from @BotFather (`<bot id>:<secret>`).
    pub bot_token: Secret,
}

/// `POST /api_v1/auth/signInBot` → authorized status: signs the session in as a bot. Errors:
/// 400 "ACCESS_TOKEN_INVALID", 400 when already signed in or without `TG_API_HASH`.
pub async fn sign_in_bot(
    State(state): State<ServerState>,
    request: Request,
) -> ApiResult<AuthStatus> {
    let SignInBot { bot_token } = params(request).await?;
    ok(state.connection.sign_in_bot(&bot_token.0).await?.into())
}

/// `POST /api_v1/auth/logOut` → `authorized: false`. Signs the shared session out (the
/// receiver too); Bot API methods answer 503 until the next sign-in.
pub async fn log_out(State(state): State<ServerState>) -> ApiResult<AuthStatus> {
    ok(state.connection.log_out().await?.into())
}

/// `GET /api_v1/auth/status`.
pub async fn status(State(state): State<ServerState>) -> ApiResult<AuthStatus> {
    ok(state.connection.status().await.into())
}
