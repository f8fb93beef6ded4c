//! Reading a chat: history pages, search, marking as read, and fetching several messages by id
//! (user-account extras the Bot API lacks: `getChatHistory`, `searchChatMessages`,
//! `readChatHistory`).

use botapi::types::Message;
use grammers_session::types::PeerKind;
use grammers_tl_types as tl;

use crate::results::RawMessages;
use crate::{Peer, Telegram, TelegramError};

/// Most messages one history or search call returns (Telegram's own page limit).
pub(crate) const PAGE_LIMIT: i32 = 100;

/// Whether a raw message belongs to the chat `wanted` (private chats and basic groups share
/// one id space, so a message id alone does not say which chat it is in).
fn in_chat(m: &tl::enums::Message, wanted: &tl::enums::Peer) -> bool {
    match m {
        tl::enums::Message::Message(m) => &m.peer_id == wanted,
        tl::enums::Message::Service(m) => &m.peer_id == wanted,
        tl::enums::Message::Empty(_) => false,
    }
}

impl Telegram {
    /// The MTProto `Peer` of a chat, the account's own chat (Saved Messages) included.
    pub(crate) fn tl_peer(&self, peer: &Peer) -> tl::enums::Peer {
        match peer.id().bare_id() {
            Some(_) => peer.id().into(),
            None => tl::enums::Peer::User(tl::types::PeerUser {
                user_id: self.account().user.id,
            }),
        }
    }

    /// `messages.getHistory`: up to `limit` (1–100) messages older than `offset_id` (0: from
    /// the newest), newest first. Replies carry no `reply_to_message`.
    ///
    /// Errors: `PEER_ID_INVALID`, `CHANNEL_PRIVATE`, … as RPC errors.
    pub async fn history(
        &self,
        peer: Peer,
        offset_id: i32,
        limit: i32,
    ) -> Result<Vec<Message>, TelegramError> {
        Ok(self.raw_history(peer, offset_id, limit).await?.converted())
    }

    pub(crate) async fn raw_history(
        &self,
        peer: Peer,
        offset_id: i32,
        limit: i32,
    ) -> Result<RawMessages, TelegramError> {
        let result = self
            .client
            .invoke(&tl::functions::messages::GetHistory {
                peer: (&peer).into(),
                offset_id: offset_id.max(0),
                offset_date: 0,
                add_offset: 0,
                limit: limit.clamp(1, PAGE_LIMIT),
                max_id: 0,
                min_id: 0,
                hash: 0,
            })
            .await?;
        Ok(self.raw_messages(result).await)
    }

    /// `messages.search` in one chat: messages whose text contains `query` (empty: all),
    /// optionally only those sent by `from`, older than `offset_id`, newest first, at most
    /// `limit` (1–100).
    pub async fn search(
        &self,
        peer: Peer,
        query: &str,
        from: Option<Peer>,
        offset_id: i32,
        limit: i32,
    ) -> Result<Vec<Message>, TelegramError> {
        let raw = self
            .raw_search(
                peer,
                query,
                from,
                tl::enums::MessagesFilter::InputMessagesFilterEmpty,
                offset_id,
                limit,
            )
            .await?;
        Ok(raw.converted())
    }

    pub(crate) async fn raw_search(
        &self,
        peer: Peer,
        query: &str,
        from: Option<Peer>,
        filter: tl::enums::MessagesFilter,
        offset_id: i32,
        limit: i32,
    ) -> Result<RawMessages, TelegramError> {
        let result = self
            .client
            .invoke(&tl::functions::messages::Search {
                peer: (&peer).into(),
                q: query.to_owned(),
                from_id: from.as_ref().map(Into::into),
                saved_peer_id: None,
                saved_reaction: None,
                top_msg_id: None,
                filter,
                min_date: 0,
                max_date: 0,
                offset_id: offset_id.max(0),
                add_offset: 0,
                limit: limit.clamp(1, PAGE_LIMIT),
                max_id: 0,
                min_id: 0,
                hash: 0,
            })
            .await?;
        Ok(self.raw_messages(result).await)
    }

    /// Marks the chat's messages up to `max_id` (0: all) as read (`messages.readHistory`, or
    /// `channels.readHistory` for supergroups and channels).
    pub async fn read_history(&self, peer: Peer, max_id: i32) -> Result<(), TelegramError> {
        let max_id = max_id.max(0);
        if peer.id().kind() == PeerKind::Channel {
            self.client
                .invoke(&tl::functions::channels::ReadHistory {
                    channel: (&peer).into(),
                    max_id,
                })
                .await?;
        } else {
            self.client
                .invoke(&tl::functions::messages::ReadHistory {
                    peer: (&peer).into(),
                    max_id,
                })
                .await?;
        }
        Ok(())
    }

    /// The messages of `peer` among `ids` (missing ones and those of other chats left out).
    pub(crate) async fn raw_messages_by_id(
        &self,
        peer: Peer,
        ids: &[i32],
    ) -> Result<RawMessages, TelegramError> {
        let id: Vec<tl::enums::InputMessage> = ids
            .iter()
            .map(|&id| tl::enums::InputMessage::Id(tl::types::InputMessageId { id }))
            .collect();
        let result = if peer.id().kind() == PeerKind::Channel {
            self.client
                .invoke(&tl::functions::channels::GetMessages {
                    channel: (&peer).into(),
                    id,
                })
                .await?
        } else {
            self.client
                .invoke(&tl::functions::messages::GetMessages { id })
                .await?
        };
        let mut raw = self.raw_messages(result).await;
        let wanted = self.tl_peer(&peer);
        raw.messages.retain(|m| in_chat(m, &wanted));
        Ok(raw)
    }
}
