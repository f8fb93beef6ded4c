//! [`SessionSeed`]: pre-authorise a session against a hermetic test DC on loopback.

use std::net::{SocketAddrV4, SocketAddrV6};

use grammers_session::types::{DcOption, PeerAuth, PeerInfo};

use crate::{SessionError, SessionStore, sql};

/// DC ids grammers knows statically; all of them are pointed at the test server.
const KNOWN_DC_IDS: std::ops::RangeInclusive<i32> = 1..=5;

/// Everything a test server needs written into a session so grammers connects to it signed in,
/// skipping the RSA/DH handshake (which cannot succeed: Telegram's RSA keys are hard-coded).
#[derive(Clone)]
pub struct SessionSeed {
    /// The DC grammers treats as home (usually 2).
    pub home_dc_id: i32,
    /// The test server's loopback address; written for every DC id 1–5.
    pub dc_addr: SocketAddrV4,
    /// The 256-byte permanent auth key the server shares; written for every DC id 1–5.
    pub auth_key: [u8; 256],
    /// The signed-in account as `(user id, access hash, is_bot)`, cached as the self user.
    /// Without it grammers' update stream skips its first `updates.getState`.
    pub self_user: Option<(i64, i64, bool)>,
}

impl std::fmt::Debug for SessionSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The auth key is a secret: never print it.
        f.debug_struct("SessionSeed")
            .field("home_dc_id", &self.home_dc_id)
            .field("dc_addr", &self.dc_addr)
            .field("self_user", &self.self_user)
            .finish_non_exhaustive()
    }
}

impl SessionSeed {
    /// The DC option written for `dc_id`: IPv4 `dc_addr`, IPv6 the same address v4-mapped.
    fn dc_option(&self, dc_id: i32) -> DcOption {
        let v6 = SocketAddrV6::new(
            self.dc_addr.ip().to_ipv6_mapped(),
            self.dc_addr.port(),
            0,
            0,
        );
        DcOption {
            id: dc_id,
            ipv4: self.dc_addr,
            ipv6: v6,
            auth_key: Some(self.auth_key),
        }
    }

    fn self_peer(&self) -> Option<PeerInfo> {
        self.self_user.map(|(id, hash, is_bot)| PeerInfo::User {
            id,
            auth: Some(PeerAuth::from_hash(hash)),
            bot: Some(is_bot),
            is_self: Some(true),
        })
    }
}

impl SessionStore {
    /// Writes `seed` in one transaction: the home DC, the same loopback address and auth key for
    /// every DC id 1–5 (grammers falls back to real Telegram IPs for DC ids missing from the
    /// session, e.g. after a file migration), and the self user if given. Updates the in-memory
    /// DC cache too.
    ///
    /// Errors: [`SessionError::Sql`]/[`SessionError::Busy`] from SQLite, or
    /// [`SessionError::Poisoned`].
    pub async fn seed(&self, seed: &SessionSeed) -> Result<(), SessionError> {
        let options: Vec<DcOption> = KNOWN_DC_IDS.map(|id| seed.dc_option(id)).collect();
        let self_peer = seed.self_peer();
        let (options_ref, self_ref) = (&options, &self_peer);
        self.write("seed", |c| async move {
            sql::write_home_dc(&c, seed.home_dc_id).await?;
            for option in options_ref {
                sql::write_dc_option(&c, option).await?;
            }
            if let Some(peer) = self_ref {
                sql::upsert_peer(&c, peer).await?;
            }
            Ok(())
        })
        .await?;

        let mut cache = self.cache()?;
        cache.home_dc = seed.home_dc_id;
        cache
            .dc_options
            .extend(options.into_iter().map(|dc| (dc.id, dc)));
        Ok(())
    }
}
