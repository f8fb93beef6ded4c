//! Signing a session in: phone code, 2FA password (SRP, done by grammers), bot token, log out.
//!
//! [`Login`] keeps the pending login step between calls, so the same object serves an
//! interactive prompt and a headless HTTP flow (`sendCode` → `signIn` → `checkPassword`).
//! Codes, passwords and tokens are [`SecretString`]s and never formatted into logs or errors.

use std::num::NonZeroU32;
use std::sync::Arc;

use grammers_client::client::{LoginToken, PasswordToken};
use grammers_client::{Client, SignInError};
use grammers_mtsender::{AutoSleep, ConnectionParams, SenderPool};
use secrecy::{ExposeSecret, SecretString};
use session::SessionStore;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::client::Account;
use crate::peers::user_from_tl;
use crate::{TelegramConfig, TelegramError};

/// Where a login stands after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    /// Signed in; the session file now holds the authorization.
    Done(Box<AccountSummary>),
    /// The account has two-step verification: call [`Login::check_password`]. `hint` is the
    /// password hint the owner set, if any.
    PasswordNeeded {
        /// The owner's hint.
        hint: Option<String>,
    },
    /// The phone number has no Telegram account; sign up with an official app first.
    SignUpRequired,
}

/// The signed-in account, without secrets (for logs and API answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    /// User id.
    pub id: i64,
    /// First name.
    pub first_name: String,
    /// Username, if any.
    pub username: Option<String>,
    /// Whether it is a bot.
    pub is_bot: bool,
}

enum Pending {
    None,
    Code(LoginToken),
    Password(PasswordToken),
}

/// A connection used only to sign a session in or out.
pub struct Login {
    client: Client,
    api_hash: SecretString,
    pending: Mutex<Pending>,
    runner: JoinHandle<()>,
}

impl Drop for Login {
    fn drop(&mut self) {
        self.runner.abort();
    }
}

fn summary(user: &grammers_client::peer::User) -> AccountSummary {
    match &user.raw {
        grammers_client::tl::enums::User::User(u) => {
            let bot = user_from_tl(u);
            AccountSummary {
                id: bot.id,
                first_name: bot.first_name,
                username: bot.username,
                is_bot: bot.is_bot,
            }
        }
        grammers_client::tl::enums::User::Empty(u) => AccountSummary {
            id: u.id,
            first_name: String::new(),
            username: None,
            is_bot: false,
        },
    }
}

fn invalid_password() -> TelegramError {
    TelegramError::Rpc {
        code: 400,
        name: "PASSWORD_HASH_INVALID".into(),
        value: None,
    }
}

fn sign_in_error(e: SignInError) -> TelegramError {
    match e {
        SignInError::InvalidCode => TelegramError::Rpc {
            code: 400,
            name: "PHONE_CODE_INVALID".into(),
            value: None,
        },
        SignInError::InvalidPassword(_) => invalid_password(),
        SignInError::Other(e) => e.into(),
        other => TelegramError::Unexpected(other.to_string()),
    }
}

impl Login {
    /// Opens (or creates, mode 0600) the session file and connects without requiring it to be
    /// signed in. A new file has no DC address yet, so grammers starts at Telegram's default DC.
    /// A Telethon session at the path is imported beside it first ([`session::resolve`]).
    pub async fn open(
        config: &TelegramConfig,
        api_hash: SecretString,
    ) -> Result<Self, TelegramError> {
        let (session, _) = SessionStore::open_configured(&config.session_path).await?;
        let session = Arc::new(session);
        let params = ConnectionParams {
            retry_policy: Box::new(AutoSleep {
                tries: NonZeroU32::MIN,
                threshold: config.flood_sleep_threshold,
                io_errors_as_flood_of: None,
            }),
            device_model: "tg-gateway".into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            ..ConnectionParams::default()
        };
        let pool = SenderPool::with_configuration(session, config.api_id, params);
        let runner = tokio::spawn(pool.runner.run());
        Ok(Self {
            client: Client::new(pool.handle),
            api_hash,
            pending: Mutex::new(Pending::None),
            runner,
        })
    }

    /// Whether the session file is signed in (Telegram answers `updates.getState`).
    pub async fn is_authorized(&self) -> Result<bool, TelegramError> {
        Ok(self.client.is_authorized().await?)
    }

    /// Asks Telegram to send a login code to `phone` (international format). Errors:
    /// `PHONE_NUMBER_INVALID`, `API_ID_INVALID`, flood waits.
    pub async fn request_code(&self, phone: &str) -> Result<(), TelegramError> {
        let token = self
            .client
            .request_login_code(phone, self.api_hash.expose_secret())
            .await?;
        *self.pending.lock().await = Pending::Code(token);
        Ok(())
    }

    /// Completes a code login. Errors: `PHONE_CODE_INVALID` (try again), `PHONE_CODE_EXPIRED`,
    /// [`TelegramError::Unexpected`] when no code was requested.
    pub async fn sign_in(&self, code: &SecretString) -> Result<LoginStep, TelegramError> {
        let mut pending = self.pending.lock().await;
        let Pending::Code(token) = &*pending else {
            return Err(TelegramError::Unexpected(
                "request a login code first".into(),
            ));
        };
        match self.client.sign_in(token, code.expose_secret()).await {
            Ok(user) => {
                *pending = Pending::None;
                Ok(LoginStep::Done(Box::new(summary(&user))))
            }
            Err(SignInError::PasswordRequired(password)) => {
                let hint = password.hint().map(str::to_owned);
                *pending = Pending::Password(password);
                Ok(LoginStep::PasswordNeeded { hint })
            }
            Err(SignInError::SignUpRequired) => Ok(LoginStep::SignUpRequired),
            Err(e) => Err(sign_in_error(e)),
        }
    }

    /// Completes a login that needs the 2FA password. Errors: `PASSWORD_HASH_INVALID` (the
    /// pending step is kept so the caller can retry), [`TelegramError::Unexpected`] when no
    /// password is pending.
    pub async fn check_password(
        &self,
        password: &SecretString,
    ) -> Result<LoginStep, TelegramError> {
        let mut pending = self.pending.lock().await;
        let Pending::Password(token) = std::mem::replace(&mut *pending, Pending::None) else {
            return Err(TelegramError::Unexpected("no password is pending".into()));
        };
        match self
            .client
            .check_password(token, password.expose_secret())
            .await
        {
            Ok(user) => Ok(LoginStep::Done(Box::new(summary(&user)))),
            Err(SignInError::InvalidPassword(token)) => {
                *pending = Pending::Password(token);
                Err(invalid_password())
            }
            Err(e) => Err(sign_in_error(e)),
        }
    }

    /// Signs the session in as a bot (`TG_BOT_TOKEN`). Errors: `ACCESS_TOKEN_INVALID`.
    pub async fn bot_sign_in(&self, bot_token: &SecretString) -> Result<LoginStep, TelegramError> {
        let user = self
            .client
            .bot_sign_in(bot_token.expose_secret(), self.api_hash.expose_secret())
            .await?;
        Ok(LoginStep::Done(Box::new(summary(&user))))
    }

    /// Logs the session out on Telegram's side; the file then holds an unauthorized key.
    pub async fn log_out(&self) -> Result<(), TelegramError> {
        self.client.sign_out().await?;
        Ok(())
    }
}

impl Account {
    /// The account in summary form.
    pub fn summary(&self) -> AccountSummary {
        AccountSummary {
            id: self.user.id,
            first_name: self.user.first_name.clone(),
            username: self.user.username.clone(),
            is_bot: self.user.is_bot,
        }
    }
}
