//! One persistent MTProto connection pool per process: opening the shared session, starting
//! grammers' sender pool, checking the session is signed in, and the account it belongs to.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use botapi::types::User;
use grammers_client::Client;
use grammers_client::session::updates::UpdatesLike;
use grammers_mtsender::{AutoSleep, ConnectionParams, SenderPool};
use grammers_session::Session;
use grammers_tl_types as tl;
use session::{SessionError, SessionStore};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tracing::info;

use crate::TelegramError;
use crate::peers::user_from_tl;
use crate::pool_session::PoolSession;

/// Default for [`TelegramConfig::upload_concurrency`]: 8 parts of up to 512 KiB, about 4 MiB of
/// file data (held a few times over while serialized and encrypted) in flight at once.
pub const DEFAULT_UPLOAD_CONCURRENCY: usize = 8;

/// How to connect.
#[derive(Clone, Debug)]
pub struct TelegramConfig {
    /// The application id from my.telegram.org (`TG_API_ID`).
    pub api_id: i32,
    /// The session file (from `TG_SESSION_NAME`, with `.session` appended). When it is a
    /// Telethon session, the gateway file beside it is used ([`session::resolve`]).
    pub session_path: PathBuf,
    /// FLOOD_WAITs up to this long are absorbed by sleeping and retrying once; longer ones
    /// surface as [`TelegramError::FloodWait`].
    pub flood_sleep_threshold: Duration,
    /// Capacity of grammers' update channel. It silently drops updates when full, so the
    /// receiver asks for a large one and drains it promptly; the sender needs none.
    pub updates_capacity: usize,
    /// How many file parts, each up to 512 KiB, are uploaded to Telegram at once across all
    /// requests; further uploads wait their turn. An upload takes one permit per part it keeps
    /// in flight: as many as it has parts, at most [`crate::media::UPLOAD_WINDOW`] and at most
    /// this limit; 0 is treated as 1. Bounds the memory uploads hold, since each part is
    /// copied several times on its way out (serialized, encrypted).
    /// [`DEFAULT_UPLOAD_CONCURRENCY`] unless the process has a reason to differ.
    pub upload_concurrency: usize,
}

/// A grammers session store shared by the connection pool and this crate: the session file
/// ([`SessionStore`]) or any other store with the same error type (crate `cluster`'s
/// `PgSession`).
pub type SharedSession = Arc<dyn Session<Error = SessionError>>;

/// The signed-in account.
#[derive(Clone, Debug)]
pub struct Account {
    /// As a Bot API user (`id`, names, `username`, `is_bot`).
    pub user: User,
    /// Phone number in international format with `+`, when Telegram shares it.
    pub phone: Option<String>,
}

/// A connected client. Cheap to share behind an `Arc`; every request goes over the same pooled
/// connection (never a client per request).
pub struct Telegram {
    pub(crate) client: Client,
    pub(crate) session: SharedSession,
    /// The same store as grammers sees it (refused channel hashes hidden).
    pub(crate) pool_session: Arc<PoolSession>,
    account: Account,
    updates: Mutex<Option<mpsc::Receiver<UpdatesLike>>>,
    runner: JoinHandle<()>,
    /// Permits for file parts in flight, [`Telegram::upload_limit`] of them.
    pub(crate) upload_permits: Arc<Semaphore>,
    /// [`TelegramConfig::upload_concurrency`], at least 1.
    pub(crate) upload_limit: u32,
    pub(crate) last_dialog_refresh: tokio::sync::Mutex<Option<std::time::Instant>>,
    /// Resolved usernames (lowercase, no `@`) and when ([`crate::resolve::USERNAME_TTL`]).
    pub(crate) usernames: Mutex<
        std::collections::HashMap<String, (grammers_session::types::PeerRef, std::time::Instant)>,
    >,
}

impl Drop for Telegram {
    fn drop(&mut self) {
        self.runner.abort();
    }
}

impl Telegram {
    /// Opens the session, connects and fetches the account (`users.getUsers([inputUserSelf])`).
    /// The file is chosen by [`session::resolve`]: a Telethon session at
    /// [`TelegramConfig::session_path`] is imported into the gateway file beside it first.
    ///
    /// Errors: [`TelegramError::NoSession`] when neither file exists,
    /// [`TelegramError::Session`] when it cannot be opened,
    /// [`TelegramError::Unauthorized`] when the session is not signed in,
    /// [`TelegramError::Network`] when Telegram cannot be reached.
    pub async fn connect(config: TelegramConfig) -> Result<Self, TelegramError> {
        // A Telethon file at the configured path is imported beside it, never written.
        let resolved = session::resolve(&config.session_path).await?;
        if resolved.source == session::SessionSource::New {
            return Err(TelegramError::NoSession(config.session_path));
        }
        let session = Arc::new(SessionStore::open(&resolved.path).await?);
        Self::connect_with_session(config, session).await
    }

    /// [`Telegram::connect`] with a session store the caller opened: another backend than the
    /// session file (several instances keep sessions in Postgres, crate `cluster`).
    /// [`TelegramConfig::session_path`] is not read.
    ///
    /// Errors: as [`Telegram::connect`], except `NoSession`; a store refusing a write (for
    /// example, [`session::SessionError::Fenced`] once this instance lost the account) shows
    /// in grammers' logs and the store, not here.
    pub async fn connect_with_session(
        config: TelegramConfig,
        session: SharedSession,
    ) -> Result<Self, TelegramError> {
        let params = ConnectionParams {
            retry_policy: Box::new(AutoSleep {
                tries: NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN),
                threshold: config.flood_sleep_threshold,
                // A dropped connection is retried once on a fresh one after a short pause.
                io_errors_as_flood_of: Some(Duration::from_millis(200)),
            }),
            updates_channel_capacity: NonZeroUsize::new(config.updates_capacity.max(1))
                .unwrap_or(NonZeroUsize::MIN),
            device_model: "tg-gateway".into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            ..ConnectionParams::default()
        };
        let upload_limit = u32::try_from(config.upload_concurrency)
            .unwrap_or(u32::MAX)
            .clamp(1, u32::try_from(Semaphore::MAX_PERMITS).unwrap_or(u32::MAX));
        let pool_session = Arc::new(PoolSession::new(session.clone()));
        let pool = SenderPool::with_configuration(pool_session.clone(), config.api_id, params);
        let runner = tokio::spawn(pool.runner.run());
        let client = Client::new(pool.handle);
        let me = match client.get_me().await {
            Ok(me) => me,
            Err(e) => {
                runner.abort();
                return Err(e.into());
            }
        };
        let tl::enums::User::User(raw) = &me.raw else {
            runner.abort();
            return Err(TelegramError::Unauthorized);
        };
        let account = Account {
            user: user_from_tl(raw),
            phone: raw
                .phone
                .as_ref()
                .map(|p| format!("+{}", p.trim_start_matches('+'))),
        };
        info!(id = account.user.id, username = ?account.user.username, "connected to Telegram");
        Ok(Self {
            client,
            session,
            pool_session,
            account,
            updates: Mutex::new(Some(pool.updates)),
            runner,
            upload_permits: Arc::new(Semaphore::new(upload_limit as usize)),
            upload_limit,
            last_dialog_refresh: tokio::sync::Mutex::new(None),
            usernames: Mutex::default(),
        })
    }

    /// The signed-in account.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Takes grammers' update channel (once; the receiver's update stream owns it).
    pub(crate) fn take_updates(&self) -> Option<mpsc::Receiver<UpdatesLike>> {
        self.updates.lock().ok()?.take()
    }

    /// Closes the connection pool; pending calls fail.
    pub fn disconnect(&self) {
        self.client.disconnect();
    }
}
