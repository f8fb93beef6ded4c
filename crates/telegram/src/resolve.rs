//! Bot API `chat_id` (integer or `@username`) → MTProto peer reference.
//!
//! The session file is the cache: both binaries write every user and chat they see into it
//! (grammers' `auto_cache_peers` plus our own caching of raw results), so a chat the receiver
//! saw is usable by the sender. A miss refreshes the dialog list once per
//! [`DIALOG_REFRESH_INTERVAL`] before answering "chat not found". A resolved `@username` is
//! remembered for [`USERNAME_TTL`]: `contacts.resolveUsername` is one of Telegram's most
//! tightly limited calls, and the send queue resolves a username once to find the chat's lane
//! and again when the send runs.

use std::time::{Duration, Instant};

use botapi::ids::ChatIdParam;
use grammers_session::types::{PeerAuth, PeerId, PeerInfo, PeerKind, PeerRef};
use grammers_tl_types as tl;

use crate::{Telegram, TelegramError};

/// A chat the account can address, as [`Telegram::resolve_chat`] found it: the MTProto peer and
/// its access hash, kept opaque so callers speak Bot API `chat_id`s only. Cheap to copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer(PeerRef);

impl Peer {
    /// The account's own chat (Saved Messages), which needs no lookup.
    pub fn me() -> Self {
        Self(PeerId::self_user().to_ambient_ref())
    }

    /// The Bot API `chat_id` of this chat (`-100…` for supergroups and channels, `-id` for
    /// basic groups); `None` for [`Peer::me`], whose user id only the connection knows.
    pub fn chat_id(&self) -> Option<i64> {
        self.0.id.bot_api_dialog_id()
    }

    /// The MTProto peer id.
    pub(crate) fn id(&self) -> PeerId {
        self.0.id
    }
}

impl From<PeerRef> for Peer {
    fn from(peer: PeerRef) -> Self {
        Self(peer)
    }
}

impl From<&Peer> for tl::enums::InputPeer {
    fn from(peer: &Peer) -> Self {
        (&peer.0).into()
    }
}

impl From<&Peer> for tl::enums::InputChannel {
    fn from(peer: &Peer) -> Self {
        (&peer.0).into()
    }
}

impl From<&Peer> for tl::enums::InputUser {
    fn from(peer: &Peer) -> Self {
        (&peer.0).into()
    }
}

/// How long a resolved `@username` is used without asking Telegram again. Short, since a
/// username can move to another chat.
pub const USERNAME_TTL: Duration = Duration::from_secs(600);

/// Minimum time between two dialog-list refreshes triggered by unknown chat ids.
pub(crate) const DIALOG_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

impl Telegram {
    /// Resolves a Bot API `chat_id`. Errors: [`TelegramError::ChatNotFound`] when no chat the
    /// account can see has that id or username.
    pub async fn resolve_chat(&self, chat: &ChatIdParam) -> Result<Peer, TelegramError> {
        match chat {
            ChatIdParam::Id(id) => self.resolve_id(*id).await,
            ChatIdParam::Username(name) => self.resolve_username(name).await,
        }
        .map(Peer)
    }

    async fn resolve_id(&self, id: i64) -> Result<PeerRef, TelegramError> {
        let peer = PeerId::from_bot_api_dialog_id(id).ok_or(TelegramError::ChatNotFound)?;
        if peer.kind() == PeerKind::Chat {
            // Basic groups need no access hash.
            return Ok(PeerRef {
                id: peer,
                auth: PeerAuth::default(),
            });
        }
        if peer == PeerId::user_unchecked(self.account().user.id) {
            return Ok(PeerId::self_user().to_ambient_ref());
        }
        if let Some(found) = self.session.peer_ref(peer).await? {
            return Ok(found);
        }
        // Look again whether or not this call refreshed: a concurrent refresh may have just
        // cached the peer.
        self.refresh_dialogs().await?;
        if let Some(found) = self.session.peer_ref(peer).await? {
            return Ok(found);
        }
        Err(TelegramError::ChatNotFound)
    }

    async fn resolve_username(&self, name: &str) -> Result<PeerRef, TelegramError> {
        let key = name.to_ascii_lowercase();
        let cached = self.usernames.lock().ok().and_then(|names| {
            names
                .get(&key)
                .filter(|(_, at)| at.elapsed() < USERNAME_TTL)
                .map(|(peer, _)| *peer)
        });
        if let Some(peer) = cached {
            return Ok(peer);
        }
        let peer = self.resolve_username_now(name).await?;
        if let Ok(mut names) = self.usernames.lock() {
            names.retain(|_, (_, at)| at.elapsed() < USERNAME_TTL);
            names.insert(key, (peer, Instant::now()));
        }
        Ok(peer)
    }

    async fn resolve_username_now(&self, name: &str) -> Result<PeerRef, TelegramError> {
        let result = self
            .client
            .invoke(&tl::functions::contacts::ResolveUsername {
                username: name.to_owned(),
                referer: None,
            })
            .await;
        let tl::enums::contacts::ResolvedPeer::Peer(resolved) = match result {
            Ok(r) => r,
            Err(e) => {
                let e = TelegramError::from(e);
                return Err(
                    if e.is("USERNAME_NOT_OCCUPIED") || e.is("USERNAME_INVALID") {
                        TelegramError::ChatNotFound
                    } else {
                        e
                    },
                );
            }
        };
        self.cache(&resolved.users, &resolved.chats).await;
        let id = PeerId::from(&resolved.peer);
        self.session
            .peer_ref(id)
            .await?
            .ok_or(TelegramError::ChatNotFound)
    }

    /// Loads the whole dialog list (which caches every peer in it), unless a refresh ran within
    /// [`DIALOG_REFRESH_INTERVAL`]. Concurrent callers wait for the running refresh.
    async fn refresh_dialogs(&self) -> Result<(), TelegramError> {
        let mut last = self.last_dialog_refresh.lock().await;
        if last.is_some_and(|t: Instant| t.elapsed() < DIALOG_REFRESH_INTERVAL) {
            return Ok(());
        }
        // Marked once the refresh has run (or failed), not when it starts: a refresh whose
        // caller went away (its future dropped) must not make every miss for the next
        // interval answer "chat not found" without looking.
        let started = Instant::now();
        let mut dialogs = self.client.iter_dialogs();
        let listed = async {
            while dialogs.next().await?.is_some() {}
            Ok(())
        }
        .await;
        *last = Some(started);
        listed
    }

    /// Stores the users and chats of a raw result in the shared session.
    pub(crate) async fn cache(&self, users: &[tl::enums::User], chats: &[tl::enums::Chat]) {
        let infos: Vec<PeerInfo> = users
            .iter()
            .map(PeerInfo::from)
            .chain(chats.iter().map(PeerInfo::from))
            .collect();
        if let Err(e) = self.session.cache_peers(infos).await {
            tracing::warn!(error = %e, "failed to cache peers in the session");
        }
    }
}
