//! One account testdc hosts: its world behind a lock of its own, its sending limiter, the auth
//! key its ready sessions carry, and the channels that carry its pushes and world events. Worlds
//! never share state, so accounts never wait on each other's lock.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::sync::broadcast;

use crate::crypto::ServerAuthKey;
use crate::limits::Limiter;
use crate::world::auth::KeyId;
use crate::world::rpc::SideEffects;
use crate::world::{World, WorldEvent};

/// Who a hosted account is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountInfo {
    /// The account's user id: [`crate::Fixture::self_id`] for the default account, that plus `k` for
    /// the `k`-th added one.
    pub user_id: i64,
    /// Its phone number in international format with `+` ([`crate::Fixture::PHONE`] for the default
    /// account, `+1000000` and `k` in 4 digits for the others), for `auth.sendCode`.
    pub phone: String,
    /// Its first name (`Account k` for added accounts).
    pub first_name: String,
}

/// Pushes and events the default world's channels hold for a slow connection or waiter before
/// it lags (and gets `updatesTooLong`): as many as testdc always held.
pub(crate) const DEFAULT_CAPACITY: usize = 4096;

/// The same for added accounts: smaller, because a thousand of them may be connected at once
/// (a channel holds its capacity in slots of ~72 bytes) and each carries one account's load.
pub(crate) const ADDED_CAPACITY: usize = 1024;

/// Serialized `Updates` for the connections of one world signed in as one user, except the
/// connection that caused them.
#[derive(Clone, Debug)]
pub(crate) struct Push {
    /// The index of the world it comes from: only connections on that world's keys get it.
    pub world: usize,
    pub origin: u64,
    /// Whose connections get it: `None` for the account's, `Some(id)` for those signed in as
    /// user `id` (the bot).
    pub to: Option<i64>,
    pub body: Arc<[u8]>,
}

/// A broadcast channel created by its first subscriber: a world nobody listens to costs no
/// buffer, and what it sends before then reaches no one (as with no receiver).
struct LazyChannel<T> {
    capacity: usize,
    sender: OnceLock<broadcast::Sender<T>>,
}

impl<T: Clone> LazyChannel<T> {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            sender: OnceLock::new(),
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<T> {
        self.sender
            .get_or_init(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }

    fn send(&self, value: T) {
        if let Some(sender) = self.sender.get() {
            let _ = sender.send(value);
        }
    }
}

/// One hosted account and its whole universe.
pub(crate) struct Hosted {
    /// Its place among the DC's worlds (0: the default account).
    pub index: usize,
    /// Who the account is; fixed for the DC's life.
    pub info: AccountInfo,
    /// The auth key ready sessions of this account carry (the pre-shared key for the default
    /// account).
    pub key: ServerAuthKey,
    world: Mutex<World>,
    limiter: Mutex<Limiter>,
    pushes: LazyChannel<Push>,
    events: LazyChannel<WorldEvent>,
}

impl Hosted {
    /// Account number `index` with `world`, handing out `key`, its channels holding `capacity`.
    pub(crate) fn new(
        index: usize,
        info: AccountInfo,
        key: ServerAuthKey,
        world: World,
        limiter: Limiter,
        capacity: usize,
    ) -> Self {
        Self {
            index,
            info,
            key,
            world: Mutex::new(world),
            limiter: Mutex::new(limiter),
            pushes: LazyChannel::new(capacity),
            events: LazyChannel::new(capacity),
        }
    }

    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock is a testdc bug; keep serving rather than cascade.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn limiter(&self) -> MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This world's pushes from now on.
    pub(crate) fn subscribe_pushes(&self) -> broadcast::Receiver<Push> {
        self.pushes.subscribe()
    }

    /// This world's events from now on.
    pub(crate) fn subscribe_events(&self) -> broadcast::Receiver<WorldEvent> {
        self.events.subscribe()
    }

    /// Whether connections on auth key `key_id` (a key of this world) get a push addressed `to`
    /// (see [`Push::to`]): whether the key is signed in as that user.
    pub(crate) fn receives_pushes(&self, key_id: KeyId, to: Option<i64>) -> bool {
        self.world().receives_pushes(key_id, to)
    }

    /// Sends the updates and events of a change of this world (made by connection `origin`, 0
    /// for the control API) to its connections and waiters. Call it after the world lock is
    /// released.
    pub(crate) fn publish(&self, fx: SideEffects, origin: u64) {
        use grammers_tl_types::Serializable;
        let addressed = fx.addressed.into_iter().map(|(to, u)| (Some(to), u));
        for (to, updates) in fx.pushes.into_iter().map(|u| (None, u)).chain(addressed) {
            let body: Arc<[u8]> = updates.to_bytes().into();
            let world = self.index;
            self.pushes.send(Push {
                world,
                origin,
                to,
                body,
            });
        }
        for event in fx.events {
            self.events.send(event);
        }
    }
}
