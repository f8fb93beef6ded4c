//! testdc answers the real grammers client the way Telegram does: wire behaviour, RPC results
//! and errors, pts journals, fault injection, the HTTP control API and the binary's container hooks.
#![allow(clippy::unwrap_used)]

mod accounts;
mod auth;
mod auth_keys;
mod binary;
mod bot_methods;
mod bots;
mod control;
mod extra;
mod faults;
mod media;
mod peer_actions;
mod retention;
mod round_trip;
mod rpc;

use std::sync::Arc;
use std::time::Duration;

use grammers_client::Client;
use grammers_mtsender::{ConnectionParams, NoRetries, SenderPool};
use testdc::{TestDc, TestDcConfig};

/// How long any single await may take before a test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running DC and a raw grammers client on a seeded session.
pub struct Harness {
    /// The server.
    pub dc: TestDc,
    /// A raw grammers client signed in through the seeded session.
    pub client: Client,
    _dir: tempfile::TempDir,
}

/// Starts a DC, seeds a session file and connects a grammers client with no retries.
pub async fn harness() -> Harness {
    harness_with(TestDcConfig::default()).await
}

/// [`harness`] with a DC started from `config`.
pub async fn harness_with(config: TestDcConfig) -> Harness {
    let dc = TestDc::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.session");
    dc.write_session(&path).await.unwrap();
    let store = Arc::new(session::SessionStore::open(&path).await.unwrap());
    let params = ConnectionParams {
        retry_policy: Box::new(NoRetries),
        ..ConnectionParams::default()
    };
    let pool = SenderPool::with_configuration(store, 1, params);
    tokio::spawn(pool.runner.run());
    let client = Client::new(pool.handle);
    Harness {
        dc,
        client,
        _dir: dir,
    }
}

/// The error name of a failed call, or panics if it succeeded.
pub fn rpc_name<T: std::fmt::Debug>(r: Result<T, grammers_client::InvocationError>) -> String {
    match r {
        Err(grammers_client::InvocationError::Rpc(e)) => e.name,
        other => panic!("expected an RPC error, got {other:?}"),
    }
}

/// The account's reference to user `id` (its access hash as testdc hands it out).
pub fn user_ref(h: &Harness, id: i64) -> grammers_client::session::types::PeerRef {
    use grammers_client::session::types::{PeerAuth, PeerId, PeerRef};
    let hash = h.dc.with_world(|w| w.access_hash(id));
    PeerRef {
        id: PeerId::user(id).unwrap(),
        auth: PeerAuth::from_hash(hash),
    }
}

/// `updates.getDifference` from a state (pts, date, qts).
pub async fn difference(
    h: &Harness,
    pts: i32,
    date: i32,
    qts: i32,
) -> grammers_client::tl::enums::updates::Difference {
    h.client
        .invoke(&grammers_client::tl::functions::updates::GetDifference {
            pts,
            pts_limit: None,
            pts_total_limit: None,
            date,
            qts,
            qts_limit: None,
        })
        .await
        .unwrap()
}
