//! The running test DC and its in-process control API.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let dc = testdc::TestDc::start(testdc::TestDcConfig::default()).await?;
//! dc.write_session("sessions/tg_userbot.session").await?;
//! let alice = testdc::Fixture::DEFAULT.alice;
//! dc.send_text(testdc::SendText { from: Some(alice), chat_id: alice, text: "hello".into(), reply_to_message_id: None })?;
//! # Ok(()) }
//! ```

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use grammers_tl_types::Serializable;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info};

use crate::crypto::ServerAuthKey;
use crate::in_flight::InFlight;
use crate::world::auth::KeyId;
use crate::world::rpc::{DcAddress, SideEffects, method_name};
use crate::world::{Fixture, RpcError, World, WorldEvent};

/// How to start a test DC.
#[derive(Clone, Debug)]
pub struct TestDcConfig {
    /// MTProto listen address; must be loopback (port 0 picks a free one).
    pub bind: SocketAddr,
    /// The auth key shared with clients; random when `None`.
    pub auth_key: Option<[u8; 256]>,
    /// Whether that key starts signed in as the account (the default). When `false`, clients
    /// log in through `auth.sendCode`/`auth.signIn` first, as with
    /// [`TestDc::write_unauthorized_session`].
    pub signed_in: bool,
    /// Start the world's pts, qts and message-id counters from the clock
    /// ([`crate::world::clock_start`]) instead of 0. Telegram's counters never go back; a
    /// client that keeps its update state and outbox across a restart of testdc (the compose
    /// demo run twice on the same `./sessions`) would otherwise skip the new world's updates
    /// until its pts passes the old one, and take new message ids for replays of old ones.
    /// Off by default: tests start from a fresh state and read small ids.
    pub counters_from_clock: bool,
}

impl Default for TestDcConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth_key: None,
            signed_in: true,
            counters_from_clock: false,
        }
    }
}

/// Errors of the control API.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The listen address is not a loopback address.
    #[error("testdc binds loopback only, not {0}")]
    NotLoopback(SocketAddr),
    /// Socket errors.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// `chat_id` does not name a chat of the world.
    #[error("chat {0} does not exist")]
    UnknownChat(i64),
    /// The world refused the action, with the RPC error Telegram would give.
    #[error("{}: {}", .0.code, .0.message)]
    Rpc(RpcError),
    /// Nothing happened before the deadline.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// Writing the session file failed.
    #[error("session file: {0}")]
    Session(#[from] session::SessionError),
}

/// Serialized `Updates` for the connections signed in as one user, except the one that caused
/// them.
#[derive(Clone, Debug)]
pub(crate) struct Push {
    pub origin: u64,
    /// Whose connections get it: `None` for the account's, `Some(id)` for those signed in as
    /// user `id` (the bot).
    pub to: Option<i64>,
    pub body: Arc<[u8]>,
}

/// Injected faults: RPC errors for the next calls of a method, and reply latency.
#[derive(Default)]
pub(crate) struct Faults {
    pub rpc_errors: Vec<(String, u32, RpcError)>,
    pub latency: Duration,
}

/// State shared by the accept loop, every connection and the control API.
pub(crate) struct Shared {
    world: Mutex<World>,
    /// The pre-shared key [`TestDc::write_session`] hands out.
    pub auth_key: ServerAuthKey,
    /// Every auth key this DC issued, by key id (the pre-shared one included).
    keys: Mutex<std::collections::HashMap<KeyId, ServerAuthKey>>,
    dc: DcAddress,
    pub pushes: broadcast::Sender<Push>,
    pub events: broadcast::Sender<WorldEvent>,
    faults: Mutex<Faults>,
    pub drops: watch::Sender<u64>,
    calls: AtomicU64,
    /// RPC errors answered so far (injected ones included), by `(method, error message)`, for
    /// [`TestDc::errors_answered`].
    errors: Mutex<std::collections::HashMap<(&'static str, String), u64>>,
    /// Calls being handled per method, for [`TestDc::peak_in_flight`].
    pub in_flight: Arc<InFlight>,
}

impl Shared {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock is a testdc bug; keep serving rather than cascade.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The auth key this DC issued with id `key_id` (the first 8 bytes of a packet), if any.
    pub fn auth_key_for(&self, key_id: &[u8]) -> Option<ServerAuthKey> {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        KeyId::try_from(key_id)
            .ok()
            .and_then(|id| keys.get(&id).cloned())
    }

    fn register_key(&self, key: ServerAuthKey) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.insert(key.key_id(), key);
    }

    /// Whether connections on auth key `key_id` get a push addressed `to` (see [`Push::to`]):
    /// whether the key is signed in as that user.
    pub fn receives_pushes(&self, key_id: KeyId, to: Option<i64>) -> bool {
        self.world().receives_pushes(key_id, to)
    }

    /// Runs one RPC from a client holding auth key `key_id`: injected faults first, then the
    /// world. Returns the serialized result or error and the latency to add before replying.
    pub fn call(
        &self,
        body: &[u8],
        origin: u64,
        key_id: KeyId,
    ) -> (Result<Vec<u8>, RpcError>, Duration) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let method = method_name(body);
        let (fault, latency) = {
            let mut faults = self.faults();
            let fault = faults
                .rpc_errors
                .iter_mut()
                .find(|(m, left, _)| *left > 0 && m.eq_ignore_ascii_case(method))
                .map(|(_, left, error)| {
                    *left -= 1;
                    error.clone()
                });
            faults.rpc_errors.retain(|(_, left, _)| *left > 0);
            (fault, faults.latency)
        };
        if let Some(error) = fault {
            debug!(method, error = %error.message, "injected rpc error");
            self.count_error(method, &error);
            return (Err(error), latency);
        }
        let mut fx = SideEffects::default();
        let result = self.world().invoke_as(key_id, body, &self.dc, &mut fx);
        self.publish(fx, origin);
        if let Err(error) = &result {
            self.count_error(method, error);
        }
        (result, latency)
    }

    fn count_error(&self, method: &'static str, error: &RpcError) {
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        *errors.entry((method, error.message.clone())).or_default() += 1;
    }

    /// How many calls of `method` were answered with the RPC error `message` so far.
    pub(crate) fn errors_answered(&self, method: &str, message: &str) -> u64 {
        let errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        errors
            .iter()
            .filter(|((m, e), _)| m.eq_ignore_ascii_case(method) && e == message)
            .map(|(_, count)| count)
            .sum()
    }

    pub(crate) fn publish(&self, fx: SideEffects, origin: u64) {
        let addressed = fx.addressed.into_iter().map(|(to, u)| (Some(to), u));
        for (to, updates) in fx.pushes.into_iter().map(|u| (None, u)).chain(addressed) {
            let body: Arc<[u8]> = updates.to_bytes().into();
            let _ = self.pushes.send(Push { origin, to, body });
        }
        for event in fx.events {
            let _ = self.events.send(event);
        }
    }
}

/// A running test DC. Dropping it stops the accept loop and closes every connection.
pub struct TestDc {
    pub(crate) shared: Arc<Shared>,
    addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl Drop for TestDc {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_connections();
    }
}

impl TestDc {
    /// Binds the MTProto listener and starts accepting. Errors when `bind` is not loopback
    /// or cannot be bound.
    pub async fn start(config: TestDcConfig) -> Result<Self, ControlError> {
        if !config.bind.ip().is_loopback() {
            return Err(ControlError::NotLoopback(config.bind));
        }
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let key = ServerAuthKey::new(config.auth_key.unwrap_or_else(rand::random));
        let start = if config.counters_from_clock {
            crate::world::clock_start()
        } else {
            0
        };
        let mut world = World::with_counters_from(rand::random(), start);
        if config.signed_in {
            world.auth.sign_in(key.key_id(), world.self_id);
        }
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            keys: Mutex::new([(key.key_id(), key.clone())].into()),
            auth_key: key,
            dc: DcAddress {
                dc_id: 2,
                ip: addr.ip().to_string(),
                port: addr.port(),
            },
            pushes: broadcast::channel(4096).0,
            events: broadcast::channel(4096).0,
            faults: Mutex::new(Faults::default()),
            drops: watch::channel(0).0,
            calls: AtomicU64::new(0),
            errors: Mutex::default(),
            in_flight: Arc::default(),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        info!(%addr, "testdc listening");
        Ok(Self {
            shared,
            addr,
            accept,
        })
    }

    /// The MTProto address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Ids of the default world.
    pub fn fixture(&self) -> Fixture {
        Fixture::DEFAULT
    }

    /// RPCs answered so far (including injected errors).
    pub fn calls(&self) -> u64 {
        self.shared.calls.load(Ordering::Relaxed)
    }

    /// What a client session needs to talk to this DC with no login: home DC 2, this address
    /// for every DC id, the pre-shared auth key, and the account as the cached self user (none
    /// when that key is not signed in).
    pub fn session_seed(&self) -> session::SessionSeed {
        let ip = match self.addr {
            SocketAddr::V4(a) => *a.ip(),
            SocketAddr::V6(_) => std::net::Ipv4Addr::LOCALHOST,
        };
        let world = self.shared.world();
        session::SessionSeed {
            home_dc_id: self.shared.dc.dc_id,
            dc_addr: SocketAddrV4::new(ip, self.addr.port()),
            auth_key: *self.shared.auth_key.bytes(),
            // Whoever the key is signed in as (the account unless `signed_in: false` or a
            // login/logout changed it), cached as the self user.
            self_user: world
                .auth
                .signed_in_as(self.shared.auth_key.key_id())
                .map(|id| {
                    let bot = world.users.get(&id).is_some_and(|u| u.bot);
                    (id, world.access_hash(id), bot)
                }),
        }
    }

    /// Writes a ready session file at `path` (created with mode 0600, parent directories too).
    pub async fn write_session(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), ControlError> {
        let store = session::SessionStore::open(path).await?;
        store.seed(&self.session_seed()).await?;
        Ok(())
    }

    /// Writes a session at `path` whose auth key (a new one per call) is signed in as the bot
    /// ([`Fixture::bot`], as after `auth.importBotAuthorization` with [`Fixture::BOT_TOKEN`]),
    /// with the bot cached as the self user. Its connections get the updates addressed to the
    /// bot (callback queries from [`TestDc::press_button`]), not the account's; its calls see
    /// the account's world, except that `inputUserSelf` is the bot.
    pub async fn write_bot_session(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), ControlError> {
        let key = ServerAuthKey::new(rand::random());
        let bot = Fixture::DEFAULT.bot;
        let access_hash = {
            let mut world = self.shared.world();
            world.auth.sign_in(key.key_id(), bot);
            world.access_hash(bot)
        };
        let seed = session::SessionSeed {
            auth_key: *key.bytes(),
            self_user: Some((bot, access_hash, true)),
            ..self.session_seed()
        };
        self.shared.register_key(key);
        let store = session::SessionStore::open(path).await?;
        store.seed(&seed).await?;
        Ok(())
    }

    /// Writes a session at `path` like [`TestDc::write_session`] but with an auth key of its own
    /// that is not signed in: every call but the login ones answers `401 AUTH_KEY_UNREGISTERED`
    /// until the client logs in (phone code, 2FA, bot token). Each call issues a new key.
    pub async fn write_unauthorized_session(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), ControlError> {
        let key = ServerAuthKey::new(rand::random());
        let seed = session::SessionSeed {
            auth_key: *key.bytes(),
            self_user: None,
            ..self.session_seed()
        };
        self.shared.register_key(key);
        let store = session::SessionStore::open(path).await?;
        store.seed(&seed).await?;
        Ok(())
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let next_id = AtomicU64::new(1);
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let conn_id = next_id.fetch_add(1, Ordering::Relaxed);
                debug!(conn_id, %peer, "connection accepted");
                tokio::spawn(crate::connection::serve(stream, shared.clone(), conn_id));
            }
            Err(e) => {
                debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
