//! State shared by the MTProto server loop, every connection and the control API: the world
//! behind its lock, the auth keys issued, injected faults, sending limits, counters, and the channels that
//! carry pushes, world events and "drop every connection" to the connections.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use grammers_tl_types::Serializable;
use tokio::sync::{broadcast, watch};
use tracing::debug;

use crate::crypto::ServerAuthKey;
use crate::in_flight::InFlight;
use crate::limits::Limiter;
use crate::world::auth::KeyId;
use crate::world::rpc::{DcAddress, SideEffects, method_name};
use crate::world::{RpcError, World, WorldEvent};

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
    /// The pre-shared key [`crate::TestDc::write_session`] hands out.
    pub auth_key: ServerAuthKey,
    /// Every auth key this DC issued, by key id (the pre-shared one included).
    keys: Mutex<HashMap<KeyId, ServerAuthKey>>,
    dc: DcAddress,
    pub pushes: broadcast::Sender<Push>,
    pub events: broadcast::Sender<WorldEvent>,
    faults: Mutex<Faults>,
    pub drops: watch::Sender<u64>,
    calls: AtomicU64,
    /// RPC errors answered so far (injected ones included), by `(method, error message)`, for
    /// [`crate::TestDc::errors_answered`].
    errors: Mutex<HashMap<(&'static str, String), u64>>,
    /// Calls being handled per method, for [`crate::TestDc::peak_in_flight`].
    pub in_flight: Arc<InFlight>,
    /// Sending limits ([`crate::TestDc::set_limits`]), off by default.
    limiter: Mutex<Limiter>,
}

impl Shared {
    /// State for a DC at address `dc` with `world`, handing out `auth_key` (also the first key
    /// it knows).
    pub(crate) fn new(world: World, auth_key: ServerAuthKey, dc: DcAddress) -> Self {
        Self {
            world: Mutex::new(world),
            keys: Mutex::new([(auth_key.key_id(), auth_key.clone())].into()),
            auth_key,
            dc,
            pushes: broadcast::channel(4096).0,
            events: broadcast::channel(4096).0,
            faults: Mutex::new(Faults::default()),
            drops: watch::channel(0).0,
            calls: AtomicU64::new(0),
            errors: Mutex::default(),
            in_flight: Arc::default(),
            limiter: Mutex::default(),
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

    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock is a testdc bug; keep serving rather than cascade.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn limiter(&self) -> MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The auth key this DC issued with id `key_id` (the first 8 bytes of a packet), if any.
    pub(crate) fn auth_key_for(&self, key_id: &[u8]) -> Option<ServerAuthKey> {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        KeyId::try_from(key_id)
            .ok()
            .and_then(|id| keys.get(&id).cloned())
    }

    /// Makes `key` known, so connections may speak with it.
    pub(crate) fn register_key(&self, key: ServerAuthKey) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.insert(key.key_id(), key);
    }

    /// Whether connections on auth key `key_id` get a push addressed `to` (see [`Push::to`]):
    /// whether the key is signed in as that user.
    pub(crate) fn receives_pushes(&self, key_id: KeyId, to: Option<i64>) -> bool {
        self.world().receives_pushes(key_id, to)
    }

    /// Runs one RPC from a client holding auth key `key_id`: injected faults first, then the
    /// world. Returns the serialized result or error and the latency to add before replying.
    pub(crate) fn call(
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
        if let Err(error) = self.limiter().check(method, body) {
            debug!(method, error = %error.message, "over a sending limit");
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
