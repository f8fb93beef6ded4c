//! Unpacking MTProto results that carry several messages (`updates` of a forward or an album,
//! `messages.Messages` of history and search) into Bot API `Message`s, caching their peers.

use botapi::types::Message;
use grammers_tl_types as tl;

use crate::peers::PeerLookup;
use crate::{Telegram, TelegramError, convert};

/// The raw messages of a `messages.Messages` result with the users and chats that came along.
pub(crate) struct RawMessages {
    /// In result order (newest first for history and search).
    pub messages: Vec<tl::enums::Message>,
    /// Users and chats of the result.
    pub peers: PeerLookup,
}

impl RawMessages {
    /// Every convertible message (`messageEmpty` skipped), in result order.
    pub(crate) fn converted(&self) -> Vec<Message> {
        self.messages
            .iter()
            .filter_map(|m| convert::message(m, &self.peers))
            .collect()
    }
}

impl Telegram {
    /// Every new message an `updates` result announces (forwards, albums), sorted by id, which
    /// is the order they were sent in.
    pub(crate) async fn new_messages(
        &self,
        updates: tl::enums::Updates,
    ) -> Result<Vec<Message>, TelegramError> {
        let (list, users, chats) = match updates {
            tl::enums::Updates::Updates(u) => (u.updates, u.users, u.chats),
            tl::enums::Updates::Combined(u) => (u.updates, u.users, u.chats),
            tl::enums::Updates::UpdateShort(u) => (vec![u.update], Vec::new(), Vec::new()),
            _ => {
                return Err(TelegramError::Unexpected(
                    "a short update without the messages".into(),
                ));
            }
        };
        self.cache(&users, &chats).await;
        let peers = PeerLookup::new(&users, &chats);
        let mut messages: Vec<Message> = list
            .iter()
            .filter_map(|u| match u {
                tl::enums::Update::NewMessage(u) => convert::message(&u.message, &peers),
                tl::enums::Update::NewChannelMessage(u) => convert::message(&u.message, &peers),
                _ => None,
            })
            .collect();
        messages.sort_by_key(|m| m.message_id);
        Ok(messages)
    }

    /// Unpacks a `messages.Messages` result, caching its users and chats.
    pub(crate) async fn raw_messages(&self, result: tl::enums::messages::Messages) -> RawMessages {
        let (messages, users, chats) = match result {
            tl::enums::messages::Messages::Messages(m) => (m.messages, m.users, m.chats),
            tl::enums::messages::Messages::Slice(m) => (m.messages, m.users, m.chats),
            tl::enums::messages::Messages::ChannelMessages(m) => (m.messages, m.users, m.chats),
            tl::enums::messages::Messages::NotModified(_) => Default::default(),
        };
        self.cache(&users, &chats).await;
        RawMessages {
            messages,
            peers: PeerLookup::new(&users, &chats),
        }
    }
}
