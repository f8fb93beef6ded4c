//! State shared by the MTProto server loop, every connection and the control API: every
//! hosted account's world (one lock each, see `hosted`), the auth keys issued and the world each
//! belongs to, injected faults, the sending limits every world enforces, counters (connections
//! open per auth key among them), and "drop every connection".

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tracing::debug;

use crate::crypto::ServerAuthKey;
use crate::hosted::{ADDED_CAPACITY, AccountInfo, DEFAULT_CAPACITY, Hosted};
use crate::in_flight::InFlight;
use crate::key_connections::KeyConnections;
use crate::limits::{Limiter, Limits};
use crate::world::auth::KeyId;
use crate::world::rpc::{DcAddress, SideEffects, method_name};
use crate::world::{Fixture, Retention, RpcError, UserRec, World};

/// Injected faults: RPC errors for the next calls of a method, and reply latency.
#[derive(Default)]
pub(crate) struct Faults {
    pub rpc_errors: Vec<(String, u32, RpcError)>,
    pub latency: Duration,
}

/// How worlds added after the start are built: as the default one was.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct NewWorlds {
    /// Start counters from the clock ([`crate::world::clock_start`]) instead of 0.
    pub counters_from_clock: bool,
    /// What each world forgets as it grows.
    pub retention: Retention,
}

/// The account user of world `index` (> 0) and what [`crate::TestDc::accounts`] shows of it:
/// user id `Fixture::DEFAULT.self_id + index`, phone `+1000000` and the index in 4 digits (more
/// past 9999), first name `Account <index>`.
fn account_user(index: usize) -> (AccountInfo, UserRec) {
    let info = AccountInfo {
        user_id: Fixture::DEFAULT.self_id + index as i64,
        phone: format!("+1000000{index:04}"),
        first_name: format!("Account {index}"),
    };
    let user = UserRec {
        id: info.user_id,
        first_name: info.first_name.clone(),
        last_name: None,
        username: None,
        lang_code: Some("en".into()),
        phone: Some(info.phone.trim_start_matches('+').to_owned()),
        bot: false,
    };
    (info, user)
}

/// State shared by the accept loop, every connection and the control API.
pub(crate) struct Shared {
    /// Every hosted account, by index; 0 is the default account. It only grows.
    worlds: RwLock<Vec<Arc<Hosted>>>,
    /// `worlds[0]`, at hand without the lock.
    default: Arc<Hosted>,
    /// Every auth key this DC issued, by key id, with the index of the world it belongs to.
    keys: RwLock<HashMap<KeyId, (ServerAuthKey, usize)>>,
    dc: DcAddress,
    new_worlds: NewWorlds,
    faults: Mutex<Faults>,
    pub drops: watch::Sender<u64>,
    calls: AtomicU64,
    /// Message ids clients acknowledged with `msgs_ack`, and the most one `msgs_ack` carried,
    /// for [`crate::TestDc::acks_received`].
    acked: AtomicU64,
    largest_ack: AtomicU64,
    /// RPC errors answered so far (injected ones included), by `(method, error message)`, for
    /// [`crate::TestDc::errors_answered`].
    errors: Mutex<HashMap<(&'static str, String), u64>>,
    /// Calls being handled per method, for [`crate::TestDc::peak_in_flight`].
    pub in_flight: Arc<InFlight>,
    /// Connections open per auth key, for [`crate::TestDc::auth_key_connections`].
    pub key_connections: Arc<KeyConnections>,
    /// Sending limits ([`crate::TestDc::set_limits`]), off by default; each world enforces
    /// them with buckets of its own.
    limits: Mutex<Limits>,
}

impl Shared {
    /// State for a DC at address `dc` whose default account lives in `world`, handing out
    /// `auth_key` (also the first key it knows); accounts added later get worlds built as
    /// `new_worlds` says.
    pub(crate) fn new(
        world: World,
        auth_key: ServerAuthKey,
        dc: DcAddress,
        new_worlds: NewWorlds,
    ) -> Self {
        let info = AccountInfo {
            user_id: world.self_id,
            phone: Fixture::PHONE.to_owned(),
            first_name: world
                .users
                .get(&world.self_id)
                .map(|u| u.first_name.clone())
                .unwrap_or_default(),
        };
        let default = Hosted::new(
            0,
            info,
            auth_key.clone(),
            world,
            Limiter::default(),
            DEFAULT_CAPACITY,
        );
        let default = Arc::new(default);
        Self {
            worlds: RwLock::new(vec![default.clone()]),
            default,
            keys: RwLock::new([(auth_key.key_id(), (auth_key, 0))].into()),
            dc,
            new_worlds,
            faults: Mutex::new(Faults::default()),
            drops: watch::channel(0).0,
            calls: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            largest_ack: AtomicU64::new(0),
            errors: Mutex::default(),
            in_flight: Arc::default(),
            key_connections: Arc::default(),
            limits: Mutex::default(),
        }
    }

    /// The address and DC id this DC advertises.
    pub(crate) fn dc(&self) -> &DcAddress {
        &self.dc
    }

    /// RPCs answered so far (including injected errors).
    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Counts one `msgs_ack` of `ids` message ids.
    pub(crate) fn record_ack(&self, ids: u64) {
        self.acked.fetch_add(ids, Ordering::Relaxed);
        self.largest_ack.fetch_max(ids, Ordering::Relaxed);
    }

    /// (ids acknowledged so far, the most in one `msgs_ack`).
    pub(crate) fn acks(&self) -> (u64, u64) {
        (
            self.acked.load(Ordering::Relaxed),
            self.largest_ack.load(Ordering::Relaxed),
        )
    }

    fn worlds(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<Hosted>>> {
        self.worlds.read().unwrap_or_else(|e| e.into_inner())
    }

    fn limits(&self) -> MutexGuard<'_, Limits> {
        self.limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The world with index `index` (0: the default account's).
    pub(crate) fn world_at(&self, index: usize) -> Option<Arc<Hosted>> {
        self.worlds().get(index).cloned()
    }

    /// The default account's world.
    pub(crate) fn default_world(&self) -> &Arc<Hosted> {
        &self.default
    }

    /// Every world, the default account's first.
    pub(crate) fn all_worlds(&self) -> Vec<Arc<Hosted>> {
        self.worlds().clone()
    }

    /// The world of the account whose user id is `user_id`.
    pub(crate) fn world_of(&self, user_id: i64) -> Option<Arc<Hosted>> {
        // Account k is user `Fixture::DEFAULT.self_id + k` (see `account_user`).
        let index = usize::try_from(user_id.checked_sub(Fixture::DEFAULT.self_id)?).ok()?;
        self.world_at(index)
            .filter(|hosted| hosted.info.user_id == user_id)
    }

    /// Creates `count` accounts, each in a new world built like the default one, enforcing the
    /// current limits, with a new auth key of its own signed in as the account.
    pub(crate) fn add_worlds(&self, count: usize) -> Vec<Arc<Hosted>> {
        // Lock order: limits, then worlds (as `set_limits`), so a world added while the limits
        // change gets the new ones.
        let limits = self.limits();
        let mut worlds = self.worlds.write().unwrap_or_else(|e| e.into_inner());
        let added: Vec<Arc<Hosted>> = (worlds.len()..worlds.len() + count)
            .map(|index| Arc::new(self.new_world(index, &limits)))
            .collect();
        worlds.extend(added.iter().cloned());
        drop(worlds);
        drop(limits);
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        for hosted in &added {
            keys.insert(hosted.key.key_id(), (hosted.key.clone(), hosted.index));
        }
        added
    }

    fn new_world(&self, index: usize, limits: &Limits) -> Hosted {
        let (info, me) = account_user(index);
        let start = if self.new_worlds.counters_from_clock {
            crate::world::clock_start()
        } else {
            0
        };
        let mut world = World::for_account(rand::random(), start, me);
        world.retention = self.new_worlds.retention;
        let key = ServerAuthKey::new(rand::random());
        world.auth.sign_in(key.key_id(), world.self_id);
        let mut limiter = Limiter::default();
        limiter.set(limits.clone());
        Hosted::new(index, info, key, world, limiter, ADDED_CAPACITY)
    }

    /// Enforces `limits` in every world, existing and added later (buckets start full).
    pub(crate) fn set_limits(&self, limits: Limits) {
        let mut current = self.limits();
        for hosted in self.worlds().iter() {
            hosted.limiter().set(limits.clone());
        }
        *current = limits;
    }

    /// `FLOOD_WAIT` (and `PEER_FLOOD`) refusals so far, over every world.
    pub(crate) fn refusals(&self) -> (u64, u64) {
        self.worlds()
            .iter()
            .fold((0, 0), |(waits, floods), hosted| {
                let limiter = hosted.limiter();
                (
                    waits + limiter.flood_waits(),
                    floods + limiter.peer_floods(),
                )
            })
    }

    /// The auth key this DC issued with id `key_id` (the first 8 bytes of a packet), if any,
    /// and the world it belongs to.
    pub(crate) fn auth_key_for(&self, key_id: &[u8]) -> Option<(ServerAuthKey, Arc<Hosted>)> {
        let id = KeyId::try_from(key_id).ok()?;
        let (key, index) = {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            keys.get(&id).cloned()?
        };
        Some((key, self.world_at(index)?))
    }

    /// Makes `key` known as a key of world `index`, so connections may speak with it.
    pub(crate) fn register_key(&self, key: ServerAuthKey, index: usize) {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.insert(key.key_id(), (key, index));
    }

    /// Runs one RPC from a client holding auth key `key_id`, a key of `world` (as
    /// [`Shared::auth_key_for`] found it): injected faults first, then that world's limits,
    /// then the world. Returns the serialized result or error and the latency to add before
    /// replying.
    pub(crate) fn call(
        &self,
        world: &Hosted,
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
        if let Err(error) = world.limiter().check(method, body) {
            debug!(method, error = %error.message, "over a sending limit");
            self.count_error(method, &error);
            return (Err(error), latency);
        }
        let mut fx = SideEffects::default();
        let result = world.world().invoke_as(key_id, body, &self.dc, &mut fx);
        world.publish(fx, origin);
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
}
