//! The session as grammers' connection pool and update stream see it: the shared
//! session store ([`SharedSession`]), minus the channel access hashes Telegram refused.
//!
//! Why: grammers 0.11 fetches a channel's missed updates with `updates.getChannelDifference`
//! and, when Telegram answers `CHANNEL_INVALID`, surfaces the error and asks again on every
//! next call (`grammers-mtsender` `updates_receiver.rs:219`): the update stream stalls for
//! every chat. It drops a channel only on `CHANNEL_PRIVATE` or when the session has no access
//! hash for it (`updates_receiver.rs:77`, `:200`). The store never forgets a hash (a known
//! one is never replaced by none), so this view hides a refused hash from grammers — until
//! the channel shows up again with a different one.

use std::collections::HashMap;
use std::sync::Mutex;

use grammers_session::types::{DcOption, PeerId, PeerInfo, UpdateState, UpdatesState};
use grammers_session::{BoxFuture, Session};
use session::SessionError;

use crate::SharedSession;

/// The session store for grammers, hiding refused channel access hashes (see the module docs).
pub(crate) struct PoolSession {
    store: SharedSession,
    /// Bare channel id → the access hash Telegram refused for it.
    refused: Mutex<HashMap<i64, i64>>,
}

impl PoolSession {
    pub(crate) fn new(store: SharedSession) -> Self {
        Self {
            store,
            refused: Mutex::default(),
        }
    }

    /// From now on grammers sees no access hash for channel `id` while the store's hash for it
    /// is `hash`; a different hash cached later (the channel came back) is shown again.
    pub(crate) fn refuse(&self, id: i64, hash: i64) {
        if let Ok(mut refused) = self.refused.lock() {
            refused.insert(id, hash);
        }
    }

    fn is_refused(&self, info: &PeerInfo) -> bool {
        let PeerInfo::Channel {
            id,
            auth: Some(auth),
            ..
        } = info
        else {
            return false;
        };
        self.refused
            .lock()
            .is_ok_and(|refused| refused.get(id) == Some(&auth.hash()))
    }
}

impl Session for PoolSession {
    type Error = SessionError;

    fn home_dc_id(&self) -> Result<i32, SessionError> {
        self.store.home_dc_id()
    }

    fn set_home_dc_id(&self, dc_id: i32) -> BoxFuture<'_, Result<(), SessionError>> {
        self.store.set_home_dc_id(dc_id)
    }

    fn dc_option(&self, dc_id: i32) -> Result<Option<DcOption>, SessionError> {
        self.store.dc_option(dc_id)
    }

    fn set_dc_option(&self, dc_option: &DcOption) -> BoxFuture<'_, Result<(), SessionError>> {
        self.store.set_dc_option(dc_option)
    }

    fn peer(&self, peer: PeerId) -> BoxFuture<'_, Result<Option<PeerInfo>, SessionError>> {
        Box::pin(async move {
            Ok(self.store.peer(peer).await?.map(|info| match info {
                PeerInfo::Channel { id, kind, .. } if self.is_refused(&info) => PeerInfo::Channel {
                    id,
                    auth: None,
                    kind,
                },
                info => info,
            }))
        })
    }

    fn cache_peer(&self, peer: PeerInfo) -> BoxFuture<'_, Result<(), SessionError>> {
        self.store.cache_peer(peer)
    }

    fn cache_peers(&self, peers: Vec<PeerInfo>) -> BoxFuture<'_, Result<(), SessionError>> {
        self.store.cache_peers(peers)
    }

    fn updates_state(&self) -> BoxFuture<'_, Result<UpdatesState, SessionError>> {
        self.store.updates_state()
    }

    fn set_update_state(&self, update: UpdateState) -> BoxFuture<'_, Result<(), SessionError>> {
        self.store.set_update_state(update)
    }
}

#[cfg(test)]
mod tests {
    use grammers_session::types::{ChannelKind, PeerAuth};
    use std::sync::Arc;

    use session::SessionStore;

    use super::*;

    fn channel(id: i64, hash: i64) -> PeerInfo {
        PeerInfo::Channel {
            id,
            auth: Some(PeerAuth::from_hash(hash)),
            kind: Some(ChannelKind::Megagroup),
        }
    }

    /// The access hash `session` shows for channel `id`.
    async fn hash<S: Session<Error = SessionError>>(session: &S, id: i64) -> Option<i64> {
        let info = session.peer(PeerId::channel_unchecked(id)).await;
        info.expect("session read")
            .and_then(|info| info.auth())
            .map(|auth| auth.hash())
    }

    #[tokio::test]
    async fn a_refused_hash_is_hidden_until_the_channel_comes_back_with_another() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SessionStore::open(dir.path().join("s.session")).await;
        let store = Arc::new(store.expect("session store"));
        let session = PoolSession::new(store.clone());
        for (id, hash) in [(7, 70), (8, 80)] {
            session.cache_peer(channel(id, hash)).await.expect("cached");
        }

        session.refuse(7, 70);
        assert_eq!(hash(&session, 7).await, None);
        assert_eq!(hash(&session, 8).await, Some(80));
        // Our own lookups (resolve, the sender's file) still see what the store holds.
        assert_eq!(hash(store.as_ref(), 7).await, Some(70));

        session.cache_peer(channel(7, 71)).await.expect("cached");
        assert_eq!(hash(&session, 7).await, Some(71));
    }
}
