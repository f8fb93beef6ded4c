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
use crate::view::{MessageView, SendMedia, SendText, view};
use crate::world::media::MediaRef;
use crate::world::rpc::{DcAddress, SideEffects, method_name};
use crate::world::{ChatRef, Fixture, RpcError, StoredMessage, World, WorldEvent};

/// How to start a test DC.
#[derive(Clone, Debug)]
pub struct TestDcConfig {
    /// MTProto listen address; must be loopback (port 0 picks a free one).
    pub bind: SocketAddr,
    /// The auth key shared with clients; random when `None`.
    pub auth_key: Option<[u8; 256]>,
}

impl Default for TestDcConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth_key: None,
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

/// Serialized `Updates` for the account's connections, except the one that caused them.
#[derive(Clone, Debug)]
pub(crate) struct Push {
    pub origin: u64,
    pub body: Arc<[u8]>,
}

#[derive(Default)]
struct Faults {
    rpc_errors: Vec<(String, u32, RpcError)>,
    latency: Duration,
}

/// State shared by the accept loop, every connection and the control API.
pub(crate) struct Shared {
    world: Mutex<World>,
    pub auth_key: ServerAuthKey,
    dc: DcAddress,
    pub pushes: broadcast::Sender<Push>,
    events: broadcast::Sender<WorldEvent>,
    faults: Mutex<Faults>,
    pub drops: watch::Sender<u64>,
    calls: AtomicU64,
}

impl Shared {
    fn world(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock is a testdc bug; keep serving rather than cascade.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one RPC: injected faults first, then the world. Returns the serialized result or
    /// error and the latency to add before replying.
    pub fn call(&self, body: &[u8], origin: u64) -> (Result<Vec<u8>, RpcError>, Duration) {
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
            return (Err(error), latency);
        }
        let mut fx = SideEffects::default();
        let result = self.world().invoke(body, &self.dc, &mut fx);
        self.publish(fx, origin);
        (result, latency)
    }

    fn publish(&self, fx: SideEffects, origin: u64) {
        for updates in fx.pushes {
            let body: Arc<[u8]> = updates.to_bytes().into();
            let _ = self.pushes.send(Push { origin, body });
        }
        for event in fx.events {
            let _ = self.events.send(event);
        }
    }
}

/// A running test DC. Dropping it stops the accept loop and closes every connection.
pub struct TestDc {
    shared: Arc<Shared>,
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
        let key = config.auth_key.unwrap_or_else(rand::random);
        let shared = Arc::new(Shared {
            world: Mutex::new(World::new(rand::random())),
            auth_key: ServerAuthKey::new(key),
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
    /// for every DC id, the auth key, and the account as the cached self user.
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
            self_user: Some((world.self_id, world.access_hash(world.self_id), false)),
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

    /// A simulated user (or channel) sends `text`; the account's connections get the update.
    pub fn send_text(&self, send: SendText) -> Result<MessageView, ControlError> {
        let chat = ChatRef::from_bot_api_id(send.chat_id)
            .ok_or(ControlError::UnknownChat(send.chat_id))?;
        let from = send.from.and_then(ChatRef::from_bot_api_id);
        let mut fx = SideEffects::default();
        let message = self
            .shared
            .world()
            .peer_sends(
                from,
                chat,
                &send.text,
                send.reply_to_message_id,
                None,
                &mut fx,
            )
            .map_err(ControlError::Rpc)?;
        self.shared.publish(fx, 0);
        Ok(MessageView::from(&message))
    }

    /// A simulated user (or channel) sends a file of `kind` with `data` as its bytes.
    pub fn send_media(&self, send: SendMedia, data: Vec<u8>) -> Result<MessageView, ControlError> {
        let chat = ChatRef::from_bot_api_id(send.chat_id)
            .ok_or(ControlError::UnknownChat(send.chat_id))?;
        let from = send.from.and_then(ChatRef::from_bot_api_id);
        let mut fx = SideEffects::default();
        let mut world = self.shared.world();
        let file = world
            .media
            .store_kind(
                send.kind,
                data,
                &send.meta,
                rand::random(),
                crate::world::now(),
            )
            .map_err(ControlError::Rpc)?;
        let media = Some(MediaRef { file_id: file.id });
        let message = world
            .peer_sends(
                from,
                chat,
                &send.caption,
                send.reply_to_message_id,
                media,
                &mut fx,
            )
            .map_err(ControlError::Rpc)?;
        let shown = view(&world, &message);
        drop(world);
        self.shared.publish(fx, 0);
        Ok(shown)
    }

    /// Makes every file reference handed out so far expire, as Telegram does after a while.
    pub fn expire_file_references(&self) {
        self.shared.world().media.expire_references();
    }

    /// A chat's messages as the server holds them, newest first.
    pub fn history(&self, chat_id: i64) -> Result<Vec<MessageView>, ControlError> {
        let chat = ChatRef::from_bot_api_id(chat_id).ok_or(ControlError::UnknownChat(chat_id))?;
        let world = self.shared.world();
        if !world.chat_exists(chat) {
            return Err(ControlError::UnknownChat(chat_id));
        }
        Ok(world
            .history(chat)
            .iter()
            .map(|m| view(&world, m))
            .collect())
    }

    /// Waits for the first message the account sends in `chat_id` with an id above `after`
    /// (already sent ones count), up to `timeout`.
    pub async fn wait_outgoing(
        &self,
        chat_id: i64,
        after: i32,
        timeout: Duration,
    ) -> Result<MessageView, ControlError> {
        let chat = ChatRef::from_bot_api_id(chat_id).ok_or(ControlError::UnknownChat(chat_id))?;
        let mut events = self.shared.events.subscribe();
        let sent = |m: &StoredMessage| m.out && m.chat == chat && m.id > after;
        if let Some(m) = self
            .shared
            .world()
            .history(chat)
            .iter()
            .rev()
            .find(|m| sent(m))
        {
            return Ok(MessageView::from(m));
        }
        let wait = async {
            loop {
                match events.recv().await {
                    Ok(WorldEvent::Outgoing(m)) if sent(&m) => {
                        return Some(view(&self.shared.world(), &m));
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .ok()
            .flatten()
            .ok_or(ControlError::Timeout(timeout))
    }

    /// Closes every open client connection (clients reconnect on their next call).
    pub fn drop_connections(&self) {
        self.shared.drops.send_modify(|g| *g += 1);
    }

    /// Answers the next `count` calls of `method` (schema name such as `messages.sendMessage`,
    /// case-insensitive) with the RPC error `error` (e.g. `FLOOD_WAIT_7`, `PEER_ID_INVALID`,
    /// `INTERNAL`), its code chosen as Telegram would.
    pub fn fail_next(&self, method: &str, count: u32, error: &str) {
        self.shared.faults().rpc_errors.push((
            method.to_owned(),
            count,
            RpcError::from_message(error),
        ));
    }

    /// Delays every RPC reply by `latency` (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.faults().latency = latency;
    }

    /// Runs `f` with read access to the world (for assertions and the HTTP control API).
    pub fn with_world<T>(&self, f: impl FnOnce(&World) -> T) -> T {
        f(&self.shared.world())
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
