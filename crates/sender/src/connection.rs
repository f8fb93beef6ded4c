//! The Telegram session of a running sender, signed in or not, and the headless login that
//! moves it between the two without a restart.
//!
//! Signed in, the Telegram connection and what the caller bound to it (the sender binds its
//! handlers' state, [`crate::state::AppState`]) sit in an `RwLock<Option<_>>` that requests
//! clone out of; this module knows nothing of routes or handlers. Not signed in, Bot API methods answer 503 and one [`Login`] waits for
//! `/api_v1/auth/sendCode` → `signIn` → `checkPassword`; when a step completes the sign-in,
//! [`Telegram::connect`] builds the connection and swaps it in. `logOut` reverses that.
//! Every login operation holds one async mutex, so steps never interleave.
//!
//! Codes and passwords arrive as [`SecretString`]s and are handed to [`Login`] untouched; no
//! log line or error text here contains them.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use botapi::RpcContext;
use secrecy::SecretString;
use telegram::login::{AccountSummary, Login, LoginStep};
use telegram::{Telegram, TelegramConfig, TelegramError};
use tokio::sync::Mutex;

use crate::error::{ApiError, TelegramResultExt};

/// A successful readiness check is trusted for this long before `/readyz` asks Telegram again.
pub const READY_CHECK_TTL: Duration = Duration::from_secs(10);

/// How long one readiness check may take before `/readyz` answers 503.
pub const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The description of the 503 every Bot API method answers while not signed in.
pub const NOT_SIGNED_IN: &str =
    "Service Unavailable: the Telegram session is not signed in; use /api_v1/auth/*";

/// Where a headless login stands (`step` in `/api_v1/auth/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No login in progress (signed in, or nothing requested yet).
    None,
    /// A code was sent; `signIn` is next.
    CodeSent,
    /// The account has two-step verification; `checkPassword` is next.
    PasswordNeeded {
        /// The owner's password hint.
        hint: Option<String>,
    },
}

/// The answer of every `/api_v1/auth/*` route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Whether the session is signed in and connected.
    pub authorized: bool,
    /// The login step ([`Step::None`] when signed in).
    pub step: Step,
    /// The signed-in account.
    pub account: Option<AccountSummary>,
}

struct Flow {
    login: Option<Login>,
    step: Step,
}

/// Builds what requests use from a new Telegram connection (called at every sign-in).
pub type Bind<T> = Box<dyn Fn(Arc<Telegram>) -> T + Send + Sync>;

/// A live connection and what was bound to it.
struct Live<T> {
    telegram: Arc<Telegram>,
    bound: Arc<T>,
}

impl<T> Clone for Live<T> {
    fn clone(&self) -> Self {
        Self {
            telegram: self.telegram.clone(),
            bound: self.bound.clone(),
        }
    }
}

/// The session slot plus the login flow; one per server. `T` is what requests get from a
/// signed-in session ([`Connection::signed_in`]), built by the [`Bind`] given to
/// [`Connection::start`].
pub struct Connection<T> {
    config: TelegramConfig,
    api_hash: Option<SecretString>,
    default_phone: Option<String>,
    bind: Bind<T>,
    current: RwLock<Option<Live<T>>>,
    flow: Mutex<Flow>,
    last_ready: std::sync::Mutex<Option<Instant>>,
    /// Whether the session lives in the cluster's Postgres ([`Connection::start_clustered`]):
    /// the login steps are refused then.
    clustered: bool,
}

/// Why a login step is refused for an account whose session is in Postgres.
const CLUSTERED_LOGIN: &str = "this account's session lives in the cluster's Postgres \
    (DATABASE_URL): log it in where it has a session file, then move it there with \
    `receiver cluster-import`";

fn bad_request(detail: &str) -> ApiError {
    botapi::ApiError::bad_request(detail).into()
}

impl<T> Connection<T> {
    /// Connects with the session in `config`. A session that is missing or not signed in is
    /// not an error: a [`Login`] is opened instead (creating a missing file, mode 0600, without
    /// contacting Telegram yet). Errors: the session cannot be opened, Telegram unreachable.
    pub async fn start(
        config: TelegramConfig,
        api_hash: Option<SecretString>,
        default_phone: Option<String>,
        bind: Bind<T>,
    ) -> Result<Self, TelegramError> {
        let this = Self {
            config,
            api_hash,
            default_phone,
            bind,
            current: RwLock::new(None),
            flow: Mutex::new(Flow {
                login: None,
                step: Step::None,
            }),
            last_ready: std::sync::Mutex::new(None),
            clustered: false,
        };
        match Telegram::connect(this.config.clone()).await {
            Ok(telegram) => this.swap_in(telegram),
            Err(TelegramError::Unauthorized | TelegramError::NoSession(_)) => {
                let login = this.open_login().await?;
                this.flow.lock().await.login = Some(login);
                tracing::warn!(
                    "the Telegram session is not signed in: Bot API methods answer 503 until \
                     it is (POST /api_v1/auth/sendCode, or `receiver login`)"
                );
            }
            Err(e) => return Err(e),
        }
        Ok(this)
    }

    /// Connects with `session` (an account's session in the cluster's Postgres, written
    /// under this instance's lease) instead of a file. Errors: the session is not signed in
    /// ([`TelegramError::Unauthorized`]: there is no login over HTTP for it), Telegram
    /// unreachable.
    pub async fn start_clustered(
        config: TelegramConfig,
        session: telegram::SharedSession,
        bind: Bind<T>,
    ) -> Result<Self, TelegramError> {
        let this = Self {
            config: config.clone(),
            api_hash: None,
            default_phone: None,
            bind,
            current: RwLock::new(None),
            flow: Mutex::new(Flow {
                login: None,
                step: Step::None,
            }),
            last_ready: std::sync::Mutex::new(None),
            clustered: true,
        };
        let telegram = Telegram::connect_with_session(config, session).await?;
        this.swap_in(telegram);
        Ok(this)
    }

    /// 400 for a login step of an account whose session is in Postgres.
    fn refuse_when_clustered(&self) -> Result<(), ApiError> {
        if self.clustered {
            return Err(bad_request(CLUSTERED_LOGIN));
        }
        Ok(())
    }

    fn live(&self) -> Option<Live<T>> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    /// What is bound to the signed-in connection, if any.
    pub fn current(&self) -> Option<Arc<T>> {
        self.live().map(|live| live.bound)
    }

    /// The signed-in account, if any.
    pub fn account(&self) -> Option<AccountSummary> {
        self.live().map(|live| live.telegram.account().summary())
    }

    /// What is bound to the signed-in connection, or the 503 [`NOT_SIGNED_IN`] envelope.
    pub fn signed_in(&self) -> Result<Arc<T>, ApiError> {
        self.current()
            .ok_or_else(|| ApiError::with_status(503, NOT_SIGNED_IN))
    }

    /// Where the session and the login stand.
    pub async fn status(&self) -> Status {
        let step = self.flow.lock().await.step.clone();
        self.status_with(step)
    }

    fn status_with(&self, step: Step) -> Status {
        let account = self.account();
        Status {
            authorized: account.is_some(),
            step: if account.is_some() { Step::None } else { step },
            account,
        }
    }

    /// `sendCode`: asks Telegram to send a login code to `phone` (or `TG_PHONE_NUMBER`).
    /// Errors: 400 when already signed in, without a phone or without `TG_API_HASH`;
    /// Telegram's (`PHONE_NUMBER_INVALID`, flood waits).
    pub async fn send_code(&self, phone: Option<String>) -> Result<Status, ApiError> {
        self.refuse_when_clustered()?;
        let mut flow = self.flow.lock().await;
        self.refuse_when_signed_in()?;
        let phone = phone
            .filter(|p| !p.trim().is_empty())
            .or_else(|| self.default_phone.clone())
            .ok_or_else(|| bad_request("phone_number is empty and TG_PHONE_NUMBER is not set"))?;
        if self.api_hash.is_none() {
            return Err(bad_request(
                "TG_API_HASH is not set; it is needed to sign in",
            ));
        }
        let login = match flow.login.take() {
            Some(login) => login,
            None => self.open_login().await.or_api(RpcContext::Other)?,
        };
        flow.login
            .insert(login)
            .request_code(phone.trim())
            .await
            .or_api(RpcContext::Other)?;
        flow.step = Step::CodeSent;
        tracing::info!("login code requested");
        Ok(self.status_with(flow.step.clone()))
    }

    /// `signIn` with the code Telegram sent. A wrong code keeps the step (try again).
    pub async fn sign_in(&self, code: &SecretString) -> Result<Status, ApiError> {
        self.refuse_when_clustered()?;
        let mut flow = self.flow.lock().await;
        self.refuse_when_signed_in()?;
        let (Step::CodeSent, Some(login)) = (&flow.step, &flow.login) else {
            return Err(bad_request(
                "no login code was requested; call /api_v1/auth/sendCode first",
            ));
        };
        let step = login.sign_in(code).await.or_api(RpcContext::Other)?;
        self.advance(&mut flow, step).await
    }

    /// `checkPassword` with the two-step verification password. A wrong one keeps the step.
    pub async fn check_password(&self, password: &SecretString) -> Result<Status, ApiError> {
        self.refuse_when_clustered()?;
        let mut flow = self.flow.lock().await;
        self.refuse_when_signed_in()?;
        let (Step::PasswordNeeded { .. }, Some(login)) = (&flow.step, &flow.login) else {
            return Err(bad_request("no password is needed now"));
        };
        let step = login
            .check_password(password)
            .await
            .or_api(RpcContext::Other)?;
        self.advance(&mut flow, step).await
    }

    /// `signInBot` with a bot token from @BotFather (`auth.importBotAuthorization`). Errors:
    /// 400 when already signed in or without `TG_API_HASH`; `ACCESS_TOKEN_INVALID`.
    pub async fn sign_in_bot(&self, bot_token: &SecretString) -> Result<Status, ApiError> {
        self.refuse_when_clustered()?;
        let mut flow = self.flow.lock().await;
        self.refuse_when_signed_in()?;
        if self.api_hash.is_none() {
            return Err(bad_request(
                "TG_API_HASH is not set; it is needed to sign in",
            ));
        }
        let login = match flow.login.take() {
            Some(login) => login,
            None => self.open_login().await.or_api(RpcContext::Other)?,
        };
        let step = flow
            .login
            .insert(login)
            .bot_sign_in(bot_token)
            .await
            .or_api(RpcContext::Other)?;
        self.advance(&mut flow, step).await
    }

    async fn advance(&self, flow: &mut Flow, step: LoginStep) -> Result<Status, ApiError> {
        match step {
            LoginStep::PasswordNeeded { hint } => flow.step = Step::PasswordNeeded { hint },
            LoginStep::SignUpRequired => {
                flow.step = Step::None;
                return Err(bad_request(
                    "this phone number has no Telegram account; sign up in an official app first",
                ));
            }
            LoginStep::Done(account) => {
                // The login's connection is done with; the session file now holds the
                // authorization the regular connection picks up.
                flow.login = None;
                flow.step = Step::None;
                let telegram = Telegram::connect(self.config.clone())
                    .await
                    .or_api(RpcContext::Other)?;
                self.swap_in(telegram);
                tracing::info!(account_id = account.id, "signed in over HTTP");
            }
        }
        Ok(self.status_with(flow.step.clone()))
    }

    /// `logOut`: signs the session out on Telegram's side (the receiver sharing it stops
    /// too), drops the connection and readies a new login. Succeeds when already signed out.
    pub async fn log_out(&self) -> Result<Status, ApiError> {
        self.refuse_when_clustered()?;
        let mut flow = self.flow.lock().await;
        let login = match flow.login.take() {
            Some(login) => login,
            None => self.open_login().await.or_api(RpcContext::Other)?,
        };
        if let Some(live) = self.live() {
            match login.log_out().await {
                Ok(()) | Err(TelegramError::Unauthorized) => {}
                Err(e) => {
                    flow.login = Some(login);
                    return Err(e).or_api(RpcContext::Other);
                }
            }
            self.set_current(None);
            live.telegram.disconnect();
            tracing::info!("logged out over HTTP");
        }
        flow.login = Some(login);
        flow.step = Step::None;
        Ok(self.status_with(Step::None))
    }

    /// `/readyz`: Ok when signed in and Telegram answered a cheap call (the account's own
    /// user) within [`READY_CHECK_TTL`]. A session revoked elsewhere is noticed here and
    /// switches the sender to signed out.
    pub async fn ready(&self) -> Result<(), ApiError> {
        let live = self
            .live()
            .ok_or_else(|| ApiError::with_status(503, NOT_SIGNED_IN))?;
        let checked = self.last_ready.lock().ok().and_then(|at| *at);
        if checked.is_some_and(|at| at.elapsed() < READY_CHECK_TTL) {
            return Ok(());
        }
        let check = live.telegram.get_chat(telegram::Peer::me());
        let unavailable =
            || ApiError::with_status(503, "Service Unavailable: Telegram is unreachable");
        match tokio::time::timeout(READY_CHECK_TIMEOUT, check).await {
            Ok(Ok(_)) => {
                if let Ok(mut at) = self.last_ready.lock() {
                    *at = Some(Instant::now());
                }
                Ok(())
            }
            Ok(Err(TelegramError::Unauthorized)) => {
                tracing::warn!("the Telegram session was signed out elsewhere");
                self.set_current(None);
                live.telegram.disconnect();
                Err(ApiError::with_status(503, NOT_SIGNED_IN))
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness check failed");
                Err(unavailable())
            }
            Err(_) => Err(unavailable()),
        }
    }

    /// Closes the Telegram connection, if any (at shutdown).
    pub fn disconnect(&self) {
        if let Some(live) = self.live() {
            live.telegram.disconnect();
        }
    }

    fn refuse_when_signed_in(&self) -> Result<(), ApiError> {
        match self.current() {
            Some(_) => Err(bad_request(
                "the session is already signed in; call /api_v1/auth/logOut first",
            )),
            None => Ok(()),
        }
    }

    async fn open_login(&self) -> Result<Login, TelegramError> {
        // The hash is only sent by `request_code`, which `send_code` refuses without one.
        let hash = self
            .api_hash
            .clone()
            .unwrap_or_else(|| SecretString::from(""));
        Login::open(&self.config, hash).await
    }

    fn swap_in(&self, telegram: Telegram) {
        let telegram = Arc::new(telegram);
        let bound = Arc::new((self.bind)(telegram.clone()));
        self.set_current(Some(Live { telegram, bound }));
    }

    fn set_current(&self, connected: Option<Live<T>>) {
        if let Ok(mut at) = self.last_ready.lock() {
            *at = None;
        }
        if let Ok(mut current) = self.current.write() {
            *current = connected;
        }
    }
}
