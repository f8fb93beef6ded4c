//! Channels Telegram no longer answers for leave the update state, so one stale channel never
//! stalls the update stream for every chat.
//!
//! A channel is stale when the session has no access hash for it, when `channels.getChannels`
//! refuses its hash (`CHANNEL_INVALID`: unknown channel or a hash of another account or of an
//! earlier world; `CHANNEL_PRIVATE`) or returns it as `channelForbidden` (banned, kicked, left
//! a private channel). Telegram answers `updates.getChannelDifference` for such a channel
//! with the same errors (<https://core.telegram.org/method/updates.getChannelDifference>),
//! and grammers 0.11 keeps retrying on `CHANNEL_INVALID` (see `pool_session`); Telethon ends a
//! channel's difference on both errors and forgets the channel.
//!
//! Checked on the position restored at start, before grammers sees it
//! ([`Telegram::updates_from`]): one WARN line per dropped channel. Checked again if the
//! stream surfaces `CHANNEL_INVALID` anyway (the start-up check could not run): our WARN line,
//! then grammers' own ("missing its hash") as it forgets the channel.

use std::fmt;

use grammers_client::InvocationError;
use grammers_session::types::PeerId;
use grammers_tl_types as tl;
use tracing::{debug, warn};

use crate::chats::chats_of;
use crate::{Position, Telegram};

/// Most channels asked about in one `channels.getChannels`.
const CHECK_BATCH: usize = 100;

/// Why a channel left the update state.
#[derive(Debug)]
enum Why {
    /// The session holds no access hash for it (never cached, or only as a "min" peer).
    NoAccessHash,
    /// Telegram refused its access hash with this RPC error.
    Refused(String),
    /// Telegram returned it as `channelForbidden`.
    Forbidden,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::NoAccessHash => f.write_str("no access hash cached"),
            Why::Refused(error) => write!(f, "Telegram answers {error}"),
            Why::Forbidden => f.write_str("Telegram answers channelForbidden"),
        }
    }
}

/// A stale channel: bare id, the refused access hash (if one was cached), why.
struct Stale(i64, Option<i64>, Why);

/// The RPC errors meaning "this channel is gone for this account".
pub(crate) fn is_refusal(e: &InvocationError) -> bool {
    matches!(e, InvocationError::Rpc(rpc) if rpc.name == "CHANNEL_INVALID" || rpc.name == "CHANNEL_PRIVATE")
}

impl Telegram {
    /// Removes every stale channel (see the module docs) from `position`, logs one WARN line
    /// per channel (its id and why; never its hash) and hides its refused hash from grammers,
    /// which then drops the channel from its own message box too. Returns how many were
    /// dropped. A channel that cannot be checked (network, flood wait, 5xx) is kept: dropping
    /// it would lose its missed updates, so only Telegram's own answer counts.
    pub(crate) async fn drop_stale_channels(&self, position: &mut Position) -> usize {
        let mut ids: Vec<i64> = position.channels.keys().copied().collect();
        ids.sort_unstable();
        let stale = self.stale_channels(&ids).await;
        for Stale(id, hash, why) in &stale {
            position.channels.remove(id);
            if let Some(hash) = hash {
                self.pool_session.refuse(*id, *hash);
            }
            warn!(channel_id = id, reason = %why,
                  "channel dropped from the update state; its updates resume if it shows up again");
        }
        stale.len()
    }

    async fn stale_channels(&self, ids: &[i64]) -> Vec<Stale> {
        let mut stale = Vec::new();
        let mut cached = Vec::new();
        for &id in ids {
            match self.session.peer(PeerId::channel_unchecked(id)).await {
                Ok(info) => match info.and_then(|info| info.auth()) {
                    Some(auth) => cached.push((id, auth.hash())),
                    None => stale.push(Stale(id, None, Why::NoAccessHash)),
                },
                Err(e) => debug!(channel_id = id, error = %e, "channel not checked"),
            }
        }
        for batch in cached.chunks(CHECK_BATCH) {
            let error = match self.forbidden_among(batch).await {
                Ok(forbidden) => {
                    stale.extend(forbidden);
                    continue;
                }
                Err(e) => e,
            };
            if let [one] = batch {
                stale.extend(refused(*one, &error));
            } else if is_refusal(&error) {
                // One refused channel fails the whole call: ask about each alone.
                for &one in batch {
                    match self.forbidden_among(&[one]).await {
                        Ok(forbidden) => stale.extend(forbidden),
                        Err(e) => stale.extend(refused(one, &e)),
                    }
                }
            } else {
                debug!(error = %error, channels = batch.len(), "channels not checked");
            }
        }
        stale
    }

    /// `channels.getChannels` for `(id, access hash)` pairs: those returned as
    /// `channelForbidden`. Errors: the call's (`CHANNEL_INVALID` when any hash is refused).
    async fn forbidden_among(&self, batch: &[(i64, i64)]) -> Result<Vec<Stale>, InvocationError> {
        let id = batch
            .iter()
            .map(|&(channel_id, access_hash)| {
                tl::types::InputChannel {
                    channel_id,
                    access_hash,
                }
                .into()
            })
            .collect();
        let chats = self
            .client
            .invoke(&tl::functions::channels::GetChannels { id })
            .await?;
        Ok(chats_of(chats)
            .iter()
            .filter_map(|chat| match chat {
                tl::enums::Chat::ChannelForbidden(c) => batch
                    .iter()
                    .find(|(id, _)| *id == c.id)
                    .map(|&(id, hash)| Stale(id, Some(hash), Why::Forbidden)),
                _ => None,
            })
            .collect())
    }
}

/// The channel as stale if `error` is a refusal; else kept (logged at debug).
fn refused((id, hash): (i64, i64), error: &InvocationError) -> Option<Stale> {
    match error {
        InvocationError::Rpc(rpc) if is_refusal(error) => {
            Some(Stale(id, Some(hash), Why::Refused(rpc.name.clone())))
        }
        _ => {
            debug!(channel_id = id, error = %error, "channel not checked");
            None
        }
    }
}
