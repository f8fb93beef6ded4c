//! The running test DC: its MTProto server loop (which owns every connection task) and its
//! in-process control API. It hosts one account (the default) unless told to add more
//! ([`TestDc::add_accounts`], see `account`); its own control methods act in the default
//! account's world.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let dc = testdc::TestDc::start(testdc::TestDcConfig::default()).await?;
//! dc.write_session("sessions/tg_userbot.session").await?;
//! let alice = testdc::Fixture::DEFAULT.alice;
//! dc.send_text(testdc::SendText { from: Some(alice), chat_id: alice, text: "hello".into(), reply_to_message_id: None })?;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, info, warn};

use crate::crypto::ServerAuthKey;
use crate::shared::{NewWorlds, Shared};
use crate::world::rpc::DcAddress;
use crate::world::{Fixture, Retention, RpcError, World};

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
    /// What the world forgets as it grows (old messages per chat, old pts changes); nothing
    /// by default, so every message stays readable. Long benchmarks bound it.
    pub retention: Retention,
}

impl Default for TestDcConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth_key: None,
            signed_in: true,
            counters_from_clock: false,
            retention: Retention::default(),
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
    /// No account with this user id is hosted here ([`TestDc::account`]).
    #[error("account {0} does not exist")]
    UnknownAccount(i64),
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

/// A running test DC. Dropping it stops the server as [`TestDc::stop`] does, without waiting.
pub struct TestDc {
    pub(crate) shared: Arc<Shared>,
    addr: SocketAddr,
    /// Dropped (or sent) to stop the server loop.
    stop: watch::Sender<()>,
    server: JoinHandle<()>,
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
        world.retention = config.retention;
        if config.signed_in {
            world.auth.sign_in(key.key_id(), world.self_id);
        }
        let dc = DcAddress {
            dc_id: 2,
            ip: addr.ip().to_string(),
            port: addr.port(),
        };
        let new_worlds = NewWorlds {
            counters_from_clock: config.counters_from_clock,
            retention: config.retention,
        };
        let shared = Arc::new(Shared::new(world, key, dc, new_worlds));
        let (stop, stopped) = watch::channel(());
        let server = tokio::spawn(serve(listener, shared.clone(), stopped));
        info!(%addr, "testdc listening");
        Ok(Self {
            shared,
            addr,
            stop,
            server,
        })
    }

    /// Stops the server: no new connection is accepted (the listener is closed), every open one
    /// is closed, and this returns once all of them have ended.
    pub async fn stop(self) {
        let Self { stop, server, .. } = self;
        stop.send_replace(());
        if let Err(e) = server.await {
            warn!(error = %e, "testdc server task failed");
        }
    }

    /// The MTProto address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Ids of the default world (accounts added with [`TestDc::add_accounts`] have worlds with
    /// the same ids but their own `self_id`: [`crate::AccountDc::fixture`]).
    pub fn fixture(&self) -> Fixture {
        Fixture::DEFAULT
    }

    /// RPCs answered so far (including injected errors).
    pub fn calls(&self) -> u64 {
        self.shared.calls()
    }

    /// Message ids clients have acknowledged with `msgs_ack` so far, and the most one
    /// `msgs_ack` carried (MTProto allows 8192, "Service Messages about Messages"; a larger
    /// one is counted, and a WARN logged, not refused).
    pub fn acks_received(&self) -> (u64, u64) {
        self.shared.acks()
    }

    /// What a client session needs to talk to this DC with no login: home DC 2, this address
    /// for every DC id, the pre-shared auth key, and the account as the cached self user (none
    /// when that key is not signed in). [`crate::AccountDc::session_seed`] of the default account.
    pub fn session_seed(&self) -> session::SessionSeed {
        self.default_account().session_seed()
    }

    /// Writes a ready session file at `path` (created with mode 0600, parent directories too).
    /// [`crate::AccountDc::write_session`] of the default account.
    pub async fn write_session(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), ControlError> {
        self.default_account().write_session(path).await
    }

    /// Writes a session at `path` whose auth key (a new one per call) is signed in as the bot
    /// ([`Fixture::bot`], as after `auth.importBotAuthorization` with [`Fixture::BOT_TOKEN`]),
    /// with the bot cached as the self user. Its connections get the updates addressed to the
    /// bot (callback queries from [`TestDc::press_button`]), not the account's; its calls see
    /// the account's world, except that `inputUserSelf` is the bot.
    /// [`crate::AccountDc::write_bot_session`] of the default account.
    pub async fn write_bot_session(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), ControlError> {
        self.default_account().write_bot_session(path).await
    }

    /// Writes a session at `path` like [`TestDc::write_session`] but with an auth key of its own
    /// that is not signed in: every call but the login ones answers `401 AUTH_KEY_UNREGISTERED`
    /// until the client logs in (phone code, 2FA, bot token). Each call issues a new key.
    /// [`crate::AccountDc::write_unauthorized_session`] of the default account.
    pub async fn write_unauthorized_session(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), ControlError> {
        self.default_account()
            .write_unauthorized_session(path)
            .await
    }
}

/// The MTProto server loop. It owns every connection task (one [`JoinSet`]) and runs until
/// `stop` changes or its sender is dropped; then it closes the listener, tells every
/// connection to close (as [`TestDc::drop_connections`] does) and waits for them all.
async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<()>) {
    let mut connections = JoinSet::new();
    let mut next_id = 0u64;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(ended) = connections.join_next() => log_ended(ended),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    next_id += 1;
                    debug!(conn_id = next_id, %peer, "connection accepted");
                    // Subscribed here, not in the task: a drop requested before the task first
                    // runs still reaches it.
                    let drops = shared.drops.subscribe();
                    let connection = crate::connection::serve(stream, shared.clone(), next_id, drops);
                    connections.spawn(connection);
                }
                Err(e) => {
                    // Out of file descriptors, most likely: let connections close first.
                    debug!(error = %e, "accept failed");
                    tokio::select! {
                        _ = stop.changed() => break,
                        () = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                }
            },
        }
    }
    drop(listener);
    shared.drops.send_modify(|generation| *generation += 1);
    while let Some(ended) = connections.join_next().await {
        log_ended(ended);
    }
    debug!("testdc server stopped");
}

fn log_ended(ended: Result<(), tokio::task::JoinError>) {
    if let Err(e) = ended {
        warn!(error = %e, "connection task failed");
    }
}
