//! Turning the client's `InputPeer`/`InputUser`/`InputChannel` into world chats, refusing
//! unknown ids and wrong access hashes with the errors Telegram gives.

use grammers_tl_types as tl;

use super::{ChatRef, RpcError, World};

impl World {
    /// Resolves an `InputPeer`. Errors: `PEER_ID_INVALID` (unknown id, wrong hash, empty),
    /// `CHANNEL_INVALID` for a channel the account cannot see.
    pub fn resolve_peer(&self, peer: &tl::enums::InputPeer) -> Result<ChatRef, RpcError> {
        use tl::enums::InputPeer as P;
        match peer {
            P::PeerSelf => Ok(ChatRef::User(self.self_id)),
            P::User(u) => self.check_user(u.user_id, u.access_hash, "PEER_ID_INVALID"),
            P::Chat(c) if self.chats.contains_key(&c.chat_id) => Ok(ChatRef::Chat(c.chat_id)),
            P::Channel(c) => self.check_channel(c.channel_id, c.access_hash),
            P::UserFromMessage(u) => self
                .users
                .contains_key(&u.user_id)
                .then_some(ChatRef::User(u.user_id))
                .ok_or_else(|| RpcError::bad("PEER_ID_INVALID")),
            P::ChannelFromMessage(c) => self
                .channels
                .contains_key(&c.channel_id)
                .then_some(ChatRef::Channel(c.channel_id))
                .ok_or_else(|| RpcError::bad("CHANNEL_INVALID")),
            P::Chat(_) | P::Empty => Err(RpcError::bad("PEER_ID_INVALID")),
        }
    }

    /// Resolves an `InputUser` to a user id. Errors: `USER_ID_INVALID`.
    pub fn resolve_user(&self, user: &tl::enums::InputUser) -> Result<i64, RpcError> {
        use tl::enums::InputUser as U;
        match user {
            U::UserSelf => Ok(self.self_id),
            U::User(u) => self
                .check_user(u.user_id, u.access_hash, "USER_ID_INVALID")
                .map(|_| u.user_id),
            U::FromMessage(u) if self.users.contains_key(&u.user_id) => Ok(u.user_id),
            _ => Err(RpcError::bad("USER_ID_INVALID")),
        }
    }

    /// Resolves an `InputChannel` to a channel id. Errors: `CHANNEL_INVALID`.
    pub fn resolve_channel(&self, channel: &tl::enums::InputChannel) -> Result<i64, RpcError> {
        match channel {
            tl::enums::InputChannel::Channel(c) => self
                .check_channel(c.channel_id, c.access_hash)
                .map(|_| c.channel_id),
            tl::enums::InputChannel::FromMessage(c)
                if self.channels.contains_key(&c.channel_id) =>
            {
                Ok(c.channel_id)
            }
            _ => Err(RpcError::bad("CHANNEL_INVALID")),
        }
    }

    fn check_user(&self, id: i64, hash: i64, error: &str) -> Result<ChatRef, RpcError> {
        // The account's own id is accepted with any hash, as Telegram does for inputPeerSelf.
        if self.users.contains_key(&id) && (id == self.self_id || hash == self.access_hash(id)) {
            Ok(ChatRef::User(id))
        } else {
            Err(RpcError::bad(error))
        }
    }

    fn check_channel(&self, id: i64, hash: i64) -> Result<ChatRef, RpcError> {
        if self.channels.contains_key(&id) && hash == self.access_hash(id) {
            Ok(ChatRef::Channel(id))
        } else {
            Err(RpcError::bad("CHANNEL_INVALID"))
        }
    }
}
