//! [`PeerColumns`]: a cached peer as the columns every session store keeps (SQLite here,
//! Postgres in crate `cluster`), so both stores encode peers the same way.

use grammers_session::types::{ChannelKind, PeerAuth, PeerId, PeerInfo, PeerKind};

use crate::SessionError;

/// One cached peer, flattened. `None` means "unknown", never "false": a merge keeps a known
/// value over an unknown one (grammers' `PeerInfo::extend_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerColumns {
    /// The Bot API dialog id: users positive, basic groups `-id`, channels `-100…`.
    pub peer_id: i64,
    /// The access hash (users and channels; `None` for "min" peers and basic groups).
    pub access_hash: Option<i64>,
    /// Whether a user is a bot.
    pub bot: Option<bool>,
    /// Whether a user is the signed-in account.
    pub is_self: Option<bool>,
    /// A channel's kind: 1 broadcast, 2 megagroup, 3 gigagroup, 4 community.
    pub channel_kind: Option<i64>,
}

impl PeerColumns {
    /// Flattens `peer`.
    pub fn from_info(peer: &PeerInfo) -> Self {
        // `PeerInfo::id` only builds ids, the self-user sentinel can't come out of it.
        let peer_id = peer.id().bot_api_dialog_id().unwrap_or_default();
        let (access_hash, bot, is_self, channel_kind) = match peer {
            PeerInfo::User {
                auth, bot, is_self, ..
            } => (auth.map(PeerAuth::hash), *bot, *is_self, None),
            PeerInfo::Chat { .. } => (None, None, None, None),
            PeerInfo::Channel { auth, kind, .. } => {
                (auth.map(PeerAuth::hash), None, None, kind.map(kind_code))
            }
        };
        Self {
            peer_id,
            access_hash,
            bot,
            is_self,
            channel_kind,
        }
    }

    /// Builds the peer back. Errors: [`SessionError::Corrupt`] when `peer_id` is no Bot API
    /// dialog id.
    pub fn into_info(self) -> Result<PeerInfo, SessionError> {
        let dialog_id = self.peer_id;
        let peer = PeerId::from_bot_api_dialog_id(dialog_id).ok_or_else(|| {
            SessionError::Corrupt(format!("peer id {dialog_id} is not a Bot API dialog id"))
        })?;
        let id = peer
            .bare_id()
            .ok_or_else(|| SessionError::Corrupt(format!("peer id {dialog_id} has no bare id")))?;
        let auth = self.access_hash.map(PeerAuth::from_hash);
        Ok(match peer.kind() {
            PeerKind::User => PeerInfo::User {
                id,
                auth,
                bot: self.bot,
                is_self: self.is_self,
            },
            PeerKind::Chat => PeerInfo::Chat { id },
            PeerKind::Channel => PeerInfo::Channel {
                id,
                auth,
                kind: self.channel_kind.and_then(kind_from_code),
            },
        })
    }
}

fn kind_code(kind: ChannelKind) -> i64 {
    match kind {
        ChannelKind::Broadcast => 1,
        ChannelKind::Megagroup => 2,
        ChannelKind::Gigagroup => 3,
        ChannelKind::Community => 4,
    }
}

fn kind_from_code(code: i64) -> Option<ChannelKind> {
    match code {
        1 => Some(ChannelKind::Broadcast),
        2 => Some(ChannelKind::Megagroup),
        3 => Some(ChannelKind::Gigagroup),
        4 => Some(ChannelKind::Community),
        _ => None,
    }
}
