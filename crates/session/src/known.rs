//! [`KnownPeers`]: the peers a session store has read or written, kept in memory so that a
//! peer with its access hash is answered without I/O and a write that would change nothing is
//! skipped. Shared by the SQLite store and the Postgres one (crate `cluster`).

use std::collections::HashMap;
use std::sync::Mutex;

use grammers_session::types::{PeerId, PeerInfo};

/// Peers as the store last read or wrote them, merged as the stores merge them (grammers'
/// `PeerInfo::extend_info`: a known access hash is never forgotten), with one self user.
///
/// Access hashes never change for an account, so a hit is safe to serve from memory. A
/// poisoned lock degrades to "nothing known" (every call goes to the store), never a panic.
#[derive(Default)]
pub struct KnownPeers {
    peers: Mutex<HashMap<PeerId, PeerInfo>>,
}

impl KnownPeers {
    /// `peer` as known, if it is known with its access hash.
    pub fn hit(&self, peer: PeerId) -> Option<PeerInfo> {
        self.peers
            .lock()
            .ok()
            .and_then(|known| known.get(&peer).filter(|p| p.auth().is_some()).cloned())
    }

    /// Records `info`, read from the store for `peer`.
    pub fn remember(&self, peer: PeerId, info: &PeerInfo) {
        if let Ok(mut known) = self.peers.lock() {
            known.insert(peer, info.clone());
        }
    }

    /// The peers among `peers` that would change what is stored, merged as the stores merge
    /// them; records them as known. A peer flagged self clears the flag on every other, as the
    /// stores keep one self user.
    pub fn changed(&self, peers: Vec<PeerInfo>) -> Vec<PeerInfo> {
        let Ok(mut known) = self.peers.lock() else {
            return peers;
        };
        peers
            .into_iter()
            .filter(|peer| {
                let id = peer.id();
                if let PeerInfo::User {
                    is_self: Some(true),
                    ..
                } = peer
                {
                    for (other, info) in known.iter_mut() {
                        if let PeerInfo::User {
                            is_self: flag @ Some(true),
                            ..
                        } = info
                            && *other != id
                        {
                            *flag = Some(false);
                        }
                    }
                }
                match known.get(&id) {
                    Some(old) => {
                        let mut merged = old.clone();
                        merged.extend_info(peer);
                        let changed = merged != *old;
                        if changed {
                            known.insert(id, merged);
                        }
                        changed
                    }
                    None => {
                        known.insert(id, peer.clone());
                        true
                    }
                }
            })
            .collect()
    }

    /// Forgets `peers` (their write failed: the next call tries again).
    pub fn forget(&self, peers: &[PeerInfo]) {
        if let Ok(mut known) = self.peers.lock() {
            for peer in peers {
                known.remove(&peer.id());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use grammers_session::types::PeerAuth;

    use super::*;

    fn user(id: i64, hash: Option<i64>, is_self: Option<bool>) -> PeerInfo {
        PeerInfo::User {
            id,
            auth: hash.map(PeerAuth::from_hash),
            bot: Some(false),
            is_self,
        }
    }

    #[test]
    fn a_min_sighting_keeps_the_hash_and_one_self_user_stays() {
        let known = KnownPeers::default();
        assert_eq!(known.changed(vec![user(1, Some(11), Some(true))]).len(), 1);
        // The same again, or a "min" sighting without the hash: nothing to write.
        assert!(
            known
                .changed(vec![user(1, Some(11), Some(true))])
                .is_empty()
        );
        assert!(known.changed(vec![user(1, None, None)]).is_empty());
        assert_eq!(
            known.hit(PeerId::user_unchecked(1)),
            Some(user(1, Some(11), Some(true)))
        );
        // Another self user clears the flag on the first.
        assert_eq!(known.changed(vec![user(2, Some(22), Some(true))]).len(), 1);
        assert_eq!(
            known.hit(PeerId::user_unchecked(1)),
            Some(user(1, Some(11), Some(false)))
        );
        // Forgotten after a failed write: the next sighting writes again.
        known.forget(&[user(2, Some(22), Some(true))]);
        assert_eq!(known.hit(PeerId::user_unchecked(2)), None);
        assert_eq!(known.changed(vec![user(2, Some(22), Some(true))]).len(), 1);
    }
}
