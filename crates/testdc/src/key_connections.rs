//! MTProto connections open per auth key, and the most open at once: lets a failover test prove
//! that two gateway instances never spoke for one account at the same time by counting (two
//! owners of one key show as more connections than one instance's pool), not by timing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::world::auth::KeyId;

/// The MTProto connections of one auth key, as [`crate::TestDc::auth_key_connections`] reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthKeyConnections {
    /// The key's 64-bit `auth_key_id` (the lower 64 bits of SHA-1 of the key: the first 8 bytes
    /// of every encrypted packet, read little-endian) as 16 lowercase hex digits; never the key.
    pub auth_key_id: String,
    /// The user id of the hosted account whose world the key belongs to
    /// ([`crate::AccountInfo::user_id`]); a bot or not-yet-signed-in session's key belongs to the
    /// account that wrote it.
    pub account: i64,
    /// Connections on this key open now: each counted from the first packet decrypted with the
    /// key until its socket is closed (client EOF, a broken wire rule, a dropped connection
    /// fault or the DC stopping).
    pub open: usize,
    /// The most connections on this key open at once since the DC started or since the last
    /// [`crate::TestDc::reset_auth_key_peaks`].
    pub peak: usize,
}

/// `key_id` as [`AuthKeyConnections::auth_key_id`] shows it.
pub(crate) fn key_id_hex(key_id: KeyId) -> String {
    format!("{:016x}", u64::from_le_bytes(key_id))
}

/// Per auth key that ever had a connection: its account and counts. Entries are never removed,
/// so a key whose connections all closed still shows its peak.
pub(crate) struct KeyConnections {
    counts: Mutex<HashMap<KeyId, Count>>,
    /// Sent after every change, for [`crate::TestDc::wait_auth_key_connections`].
    changed: watch::Sender<()>,
}

#[derive(Clone, Copy)]
struct Count {
    account: i64,
    open: usize,
    peak: usize,
}

impl Default for KeyConnections {
    fn default() -> Self {
        Self {
            counts: Mutex::default(),
            changed: watch::channel(()).0,
        }
    }
}

impl KeyConnections {
    fn counts(&self) -> MutexGuard<'_, HashMap<KeyId, Count>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one connection on `key_id`, a key of `account`'s world, as open until the returned
    /// guard is dropped.
    pub(crate) fn open(self: &Arc<Self>, key_id: KeyId, account: i64) -> Counted {
        {
            let mut counts = self.counts();
            let count = counts.entry(key_id).or_insert(Count {
                account,
                open: 0,
                peak: 0,
            });
            count.open += 1;
            count.peak = count.peak.max(count.open);
        }
        self.changed.send_replace(());
        Counted {
            owner: self.clone(),
            key_id,
        }
    }

    /// Every key that ever had a connection, by account, then key id.
    pub(crate) fn snapshot(&self) -> Vec<AuthKeyConnections> {
        let mut all: Vec<AuthKeyConnections> = self
            .counts()
            .iter()
            .map(|(&id, c)| AuthKeyConnections {
                auth_key_id: key_id_hex(id),
                account: c.account,
                open: c.open,
                peak: c.peak,
            })
            .collect();
        all.sort_by(|a, b| (a.account, &a.auth_key_id).cmp(&(b.account, &b.auth_key_id)));
        all
    }

    /// Sets every key's peak to its open count: peaks from now on cover a new window.
    pub(crate) fn reset_peaks(&self) {
        for count in self.counts().values_mut() {
            count.peak = count.open;
        }
        self.changed.send_replace(());
    }

    /// A receiver that sees every change from now on.
    pub(crate) fn subscribe(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }
}

/// One connection counted open on its key; dropping it closes it in the count.
pub(crate) struct Counted {
    owner: Arc<KeyConnections>,
    key_id: KeyId,
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Some(count) = self.owner.counts().get_mut(&self.key_id) {
            count.open = count.open.saturating_sub(1);
        }
        self.owner.changed.send_replace(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_counts_live_guards_and_peak_keeps_the_most() {
        let connections = Arc::new(KeyConnections::default());
        let (a, b) = ([1; 8], [2; 8]);
        let first = connections.open(a, 7);
        let second = connections.open(a, 7);
        let other = connections.open(b, 8);
        drop(second);
        let counts = |id| {
            let hex = key_id_hex(id);
            let all = connections.snapshot();
            let c = all.iter().find(|c| c.auth_key_id == hex).unwrap().clone();
            (c.account, c.open, c.peak)
        };
        assert_eq!(counts(a), (7, 1, 2));
        assert_eq!(counts(b), (8, 1, 1));
        connections.reset_peaks();
        assert_eq!(counts(a), (7, 1, 1));
        drop((first, other));
        assert_eq!(counts(a), (7, 0, 1));
        assert_eq!(counts(b), (8, 0, 1));
    }

    #[test]
    fn key_ids_show_as_mtproto_reads_them() {
        assert_eq!(
            key_id_hex([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]),
            "0123456789abcdef"
        );
    }
}
