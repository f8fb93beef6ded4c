//! Many accounts on one DC: a world per account. [`TestDc::add_accounts`] creates accounts, each
//! in a universe of its own built like the default one (its own Alice, Bob, groups, channels
//! and bot with the fixture's ids, its own message boxes and pts) around its own user id and
//! phone number; [`AccountDc`] acts in one of them, as [`TestDc`]'s own methods act in the
//! default account's. Every auth key belongs to exactly one world: a connection on it calls,
//! and receives the updates of, that world only.

use std::net::{SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::crypto::ServerAuthKey;
use crate::dc::{ControlError, TestDc};
pub use crate::hosted::AccountInfo;
use crate::hosted::Hosted;
use crate::world::Fixture;

/// A handle on one hosted account's world: the in-process control API acting there. Get one
/// with [`TestDc::account`] or [`TestDc::default_account`].
#[derive(Clone)]
pub struct AccountDc<'a> {
    pub(crate) dc: &'a TestDc,
    pub(crate) hosted: Arc<Hosted>,
}

impl std::fmt::Debug for AccountDc<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountDc")
            .field("account", &self.hosted.info)
            .finish_non_exhaustive()
    }
}

impl TestDc {
    /// Creates `n` accounts, each in a new world of its own, each signed in on a new auth key
    /// of its own (what [`AccountDc::write_session`] hands out). Sending limits set with
    /// [`TestDc::set_limits`] apply to them too. Returns them in order of creation.
    pub fn add_accounts(&self, n: usize) -> Vec<AccountInfo> {
        self.shared
            .add_worlds(n)
            .iter()
            .map(|hosted| hosted.info.clone())
            .collect()
    }

    /// Every account this DC hosts, the default one first, then in order of creation.
    pub fn accounts(&self) -> Vec<AccountInfo> {
        self.shared
            .all_worlds()
            .iter()
            .map(|hosted| hosted.info.clone())
            .collect()
    }

    /// The account whose user id is `user_id` ([`AccountInfo::user_id`]), or `None` if this
    /// DC hosts no such account.
    pub fn account(&self, user_id: i64) -> Option<AccountDc<'_>> {
        let hosted = self.shared.world_of(user_id)?;
        Some(AccountDc { dc: self, hosted })
    }

    /// The default account, whose world [`TestDc`]'s own control methods act in.
    pub fn default_account(&self) -> AccountDc<'_> {
        AccountDc {
            dc: self,
            hosted: self.shared.default_world().clone(),
        }
    }

    /// [`TestDc::account`], or [`TestDc::default_account`] for `None`. Errors:
    /// [`ControlError::UnknownAccount`].
    pub fn account_or_default(&self, user_id: Option<i64>) -> Result<AccountDc<'_>, ControlError> {
        match user_id {
            None => Ok(self.default_account()),
            Some(id) => self.account(id).ok_or(ControlError::UnknownAccount(id)),
        }
    }
}

impl AccountDc<'_> {
    /// Who this account is.
    pub fn info(&self) -> AccountInfo {
        self.hosted.info.clone()
    }

    /// The account's user id.
    pub fn user_id(&self) -> i64 {
        self.hosted.info.user_id
    }

    /// The id of the auth key this account's ready sessions carry ([`AccountDc::write_session`])
    /// as [`crate::AuthKeyConnections::auth_key_id`] shows it (16 hex digits), to find its
    /// connections in [`TestDc::auth_key_connections`].
    pub fn auth_key_id(&self) -> String {
        crate::key_connections::key_id_hex(self.hosted.key.key_id())
    }

    /// Ids of this account's world: the default world's, with this account as `self_id`.
    pub fn fixture(&self) -> Fixture {
        Fixture {
            self_id: self.user_id(),
            ..Fixture::DEFAULT
        }
    }

    /// What a client session needs to talk to this DC as this account with no login: home DC
    /// 2, the DC's address for every DC id, the account's auth key, and whoever that key is
    /// signed in as (the account, unless a login or logout changed it) as the cached self user.
    pub fn session_seed(&self) -> session::SessionSeed {
        let key = &self.hosted.key;
        let world = self.hosted.world();
        let self_user = world.auth.signed_in_as(key.key_id()).map(|id| {
            let bot = world.users.get(&id).is_some_and(|u| u.bot);
            (id, world.access_hash(id), bot)
        });
        drop(world);
        self.seed_with(key, self_user)
    }

    fn seed_with(
        &self,
        key: &ServerAuthKey,
        self_user: Option<(i64, i64, bool)>,
    ) -> session::SessionSeed {
        let addr = self.dc.addr();
        let ip = match addr {
            SocketAddr::V4(a) => *a.ip(),
            SocketAddr::V6(_) => std::net::Ipv4Addr::LOCALHOST,
        };
        session::SessionSeed {
            home_dc_id: self.dc.shared.dc().dc_id,
            dc_addr: SocketAddrV4::new(ip, addr.port()),
            auth_key: *key.bytes(),
            self_user,
        }
    }

    /// Writes a ready session file at `path` signed in as this account (created with mode
    /// 0600, parent directories too).
    pub async fn write_session(&self, path: impl AsRef<Path>) -> Result<(), ControlError> {
        write_seed(path.as_ref(), &self.session_seed()).await
    }

    /// Writes a session at `path` whose auth key (a new one per call, of this account's world)
    /// is signed in as the bot ([`Fixture::bot`]), with the bot cached as the self user. Its
    /// connections get the updates addressed to the bot, not the account's; its calls see this
    /// account's world, except that `inputUserSelf` is the bot.
    pub async fn write_bot_session(&self, path: impl AsRef<Path>) -> Result<(), ControlError> {
        let key = ServerAuthKey::new(rand::random());
        let bot = Fixture::DEFAULT.bot;
        let access_hash = {
            let mut world = self.hosted.world();
            world.auth.sign_in(key.key_id(), bot);
            world.access_hash(bot)
        };
        let seed = self.seed_with(&key, Some((bot, access_hash, true)));
        self.dc.shared.register_key(key, self.hosted.index);
        write_seed(path.as_ref(), &seed).await
    }

    /// Writes a session at `path` with a new auth key of this account's world that is not
    /// signed in: every call but the login ones answers `401 AUTH_KEY_UNREGISTERED` until the
    /// client logs in, with this account's phone ([`AccountInfo::phone`]), the code
    /// [`AccountDc::last_login_code`] shows, and the password of
    /// [`AccountDc::set_password`] if set.
    pub async fn write_unauthorized_session(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<(), ControlError> {
        let key = ServerAuthKey::new(rand::random());
        let seed = self.seed_with(&key, None);
        self.dc.shared.register_key(key, self.hosted.index);
        write_seed(path.as_ref(), &seed).await
    }
}

async fn write_seed(path: &Path, seed: &session::SessionSeed) -> Result<(), ControlError> {
    let store = session::SessionStore::open(path).await?;
    store.seed(seed).await?;
    Ok(())
}

/// Session files written at once by [`TestDc::write_account_sessions`]: SQLite files are
/// written mostly on blocking I/O, so more in flight only queue up.
const SESSION_WRITES_IN_FLIGHT: usize = 16;

impl TestDc {
    /// Writes a ready session for each account of `user_ids` at
    /// `<dir>/acc<user_id>.session`, up to 16 at once; returns the paths in the same order.
    /// Errors: [`ControlError::UnknownAccount`] before anything is written, or the first
    /// session file that failed.
    pub async fn write_account_sessions(
        &self,
        user_ids: &[i64],
        dir: &Path,
    ) -> Result<Vec<PathBuf>, ControlError> {
        let mut jobs = Vec::with_capacity(user_ids.len());
        for &id in user_ids {
            let account = self.account(id).ok_or(ControlError::UnknownAccount(id))?;
            jobs.push((dir.join(format!("acc{id}.session")), account.session_seed()));
        }
        let paths = jobs.iter().map(|(path, _)| path.clone()).collect();
        let mut writing = tokio::task::JoinSet::new();
        for (path, seed) in jobs {
            if writing.len() >= SESSION_WRITES_IN_FLIGHT {
                join_one(&mut writing).await?;
            }
            // SQLite does its I/O on the calling thread: on blocking threads, 16 files are
            // written at once instead of one per async worker.
            let runtime = tokio::runtime::Handle::current();
            writing.spawn_blocking(move || runtime.block_on(write_seed(&path, &seed)));
        }
        while !writing.is_empty() {
            join_one(&mut writing).await?;
        }
        Ok(paths)
    }
}

async fn join_one(
    writing: &mut tokio::task::JoinSet<Result<(), ControlError>>,
) -> Result<(), ControlError> {
    match writing.join_next().await {
        Some(Ok(written)) => written,
        Some(Err(e)) => Err(ControlError::Io(std::io::Error::other(e))),
        None => Ok(()),
    }
}

/// Most accounts one `POST /accounts` may create (a typo of a few zeros would exhaust memory).
const MAX_ADDED_PER_REQUEST: usize = 10_000;

/// `POST /accounts` of the HTTP control API.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct AddAccounts {
    count: usize,
    sessions_dir: Option<PathBuf>,
}

/// An account as `POST /accounts` answers it.
#[derive(Serialize)]
struct Added {
    #[serde(flatten)]
    info: AccountInfo,
    session: Option<PathBuf>,
}

/// `POST /accounts`: creates `count` accounts (400 above 10 000) and, with `sessions_dir`,
/// writes a ready session for each; answers `{accounts: [{user_id, phone, first_name,
/// session}]}`.
pub(crate) async fn add_accounts_http(
    axum::extract::State(dc): axum::extract::State<Arc<TestDc>>,
    axum::Json(body): axum::Json<AddAccounts>,
) -> Result<axum::response::Response, ControlError> {
    use axum::response::IntoResponse;
    if body.count > MAX_ADDED_PER_REQUEST {
        let error = format!("count above {MAX_ADDED_PER_REQUEST}");
        let answer = axum::Json(serde_json::json!({ "error": error }));
        return Ok((axum::http::StatusCode::BAD_REQUEST, answer).into_response());
    }
    let infos = dc.add_accounts(body.count);
    let sessions = match &body.sessions_dir {
        Some(dir) => {
            let ids: Vec<i64> = infos.iter().map(|info| info.user_id).collect();
            dc.write_account_sessions(&ids, dir)
                .await?
                .into_iter()
                .map(Some)
                .collect()
        }
        None => vec![None; infos.len()],
    };
    let accounts: Vec<Added> = infos
        .into_iter()
        .zip(sessions)
        .map(|(info, session)| Added { info, session })
        .collect();
    Ok(axum::Json(serde_json::json!({ "accounts": accounts })).into_response())
}

/// `GET /accounts`: `{accounts: [{user_id, phone, first_name}]}`, the default account first.
pub(crate) async fn accounts_http(
    axum::extract::State(dc): axum::extract::State<Arc<TestDc>>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "accounts": dc.accounts() }))
}
