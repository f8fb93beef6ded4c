//! Chats as wholes: one chat's information (Bot API `getChat`) and the account's chat list
//! (`getChats`, a user-account extra).

use botapi::types::{ChatFullInfo, ChatListItem};
use grammers_session::types::{PeerId, PeerKind};
use grammers_tl_types as tl;

use crate::peers::PeerLookup;
use crate::{Peer, Telegram, TelegramError, convert};

/// Dialogs fetched per `messages.getDialogs` call (Telegram's maximum).
const DIALOG_PAGE: i32 = 100;

pub(crate) fn chats_of(result: tl::enums::messages::Chats) -> Vec<tl::enums::Chat> {
    match result {
        tl::enums::messages::Chats::Chats(c) => c.chats,
        tl::enums::messages::Chats::Slice(c) => c.chats,
    }
}

/// One page of dialogs, unpacked.
struct DialogPage {
    dialogs: Vec<tl::types::Dialog>,
    messages: Vec<tl::enums::Message>,
    peers: PeerLookup,
    complete: bool,
}

impl Telegram {
    /// What the Bot API's `getChat` shows: id, type, title, username, names, plus
    /// [`ChatFullInfo`]'s defaults. Users come from `users.getUsers`, basic groups from
    /// `messages.getChats`, supergroups and channels from `channels.getChannels`.
    ///
    /// Errors: [`TelegramError::ChatNotFound`] when Telegram returns nothing; RPC errors
    /// (`CHANNEL_PRIVATE`, `CHANNEL_INVALID`, …).
    pub async fn get_chat(&self, peer: Peer) -> Result<ChatFullInfo, TelegramError> {
        let (users, chats) = match peer.id().kind() {
            PeerKind::User => {
                let users = self
                    .client
                    .invoke(&tl::functions::users::GetUsers {
                        id: vec![(&peer).into()],
                    })
                    .await?;
                (users, Vec::new())
            }
            PeerKind::Chat => {
                let result = self
                    .client
                    .invoke(&tl::functions::messages::GetChats {
                        id: vec![peer.id().bare_id_unchecked()],
                    })
                    .await?;
                (Vec::new(), chats_of(result))
            }
            PeerKind::Channel => {
                let result = self
                    .client
                    .invoke(&tl::functions::channels::GetChannels {
                        id: vec![(&peer).into()],
                    })
                    .await?;
                (Vec::new(), chats_of(result))
            }
        };
        if users.is_empty() && chats.is_empty() {
            return Err(TelegramError::ChatNotFound);
        }
        self.cache(&users, &chats).await;
        let lookup = PeerLookup::new(&users, &chats);
        Ok(ChatFullInfo::new(lookup.bot_api_chat(&self.tl_peer(&peer))))
    }

    /// The account's chats, most recent activity first: `limit` of them after skipping
    /// `offset`, each with its newest message and unread count. Archived chats are included.
    pub async fn dialogs(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<ChatListItem>, TelegramError> {
        let wanted = offset.saturating_add(limit);
        let mut items = Vec::new();
        let mut cursor = (0, 0, tl::enums::InputPeer::Empty);
        loop {
            let page = self.dialog_page(&cursor).await?;
            let Some(last) = page.dialogs.last() else {
                break;
            };
            let last_message = page.messages.iter().find(|m| top_of(m, last));
            cursor = (
                last_message.map_or(0, date_of),
                last.top_message,
                self.input_peer(&last.peer).await?,
            );
            for d in &page.dialogs {
                let top = page.messages.iter().find(|m| top_of(m, d));
                items.push(ChatListItem {
                    chat: page.peers.bot_api_chat(&d.peer),
                    last_message: top.and_then(|m| convert::message(m, &page.peers)),
                    unread_count: d.unread_count,
                });
            }
            if page.complete || page.dialogs.len() < DIALOG_PAGE as usize || items.len() >= wanted {
                break;
            }
        }
        Ok(items.into_iter().skip(offset).take(limit).collect())
    }

    async fn dialog_page(
        &self,
        (offset_date, offset_id, offset_peer): &(i32, i32, tl::enums::InputPeer),
    ) -> Result<DialogPage, TelegramError> {
        let result = self
            .client
            .invoke(&tl::functions::messages::GetDialogs {
                exclude_pinned: false,
                folder_id: None,
                offset_date: *offset_date,
                offset_id: *offset_id,
                offset_peer: offset_peer.clone(),
                limit: DIALOG_PAGE,
                hash: 0,
            })
            .await?;
        let (dialogs, messages, chats, users, complete) = match result {
            tl::enums::messages::Dialogs::Dialogs(d) => {
                (d.dialogs, d.messages, d.chats, d.users, true)
            }
            tl::enums::messages::Dialogs::Slice(d) => {
                (d.dialogs, d.messages, d.chats, d.users, false)
            }
            tl::enums::messages::Dialogs::NotModified(_) => Default::default(),
        };
        self.cache(&users, &chats).await;
        Ok(DialogPage {
            dialogs: dialogs
                .into_iter()
                .filter_map(|d| match d {
                    tl::enums::Dialog::Dialog(d) => Some(d),
                    _ => None,
                })
                .collect(),
            messages,
            peers: PeerLookup::new(&users, &chats),
            complete,
        })
    }

    /// The input peer of a dialog's peer, with the access hash the session cached.
    async fn input_peer(
        &self,
        peer: &tl::enums::Peer,
    ) -> Result<tl::enums::InputPeer, TelegramError> {
        let id = PeerId::from(peer);
        Ok(match self.session.peer_ref(id).await? {
            Some(found) => (&found).into(),
            None => tl::enums::InputPeer::Empty,
        })
    }
}

fn top_of(m: &tl::enums::Message, d: &tl::types::Dialog) -> bool {
    match m {
        tl::enums::Message::Message(m) => m.id == d.top_message && m.peer_id == d.peer,
        tl::enums::Message::Service(m) => m.id == d.top_message && m.peer_id == d.peer,
        tl::enums::Message::Empty(_) => false,
    }
}

fn date_of(m: &tl::enums::Message) -> i32 {
    match m {
        tl::enums::Message::Message(m) => m.date,
        tl::enums::Message::Service(m) => m.date,
        tl::enums::Message::Empty(_) => 0,
    }
}
