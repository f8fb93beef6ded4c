//! Read-only RPCs: difference, users, chats, messages, history, dialogs.

use grammers_tl_types::{self as tl, functions as f};

use crate::world::{ChatRef, JournalEntry, RpcError, StoredMessage, World, now, tl_build};

/// How many journal entries one getDifference answers before it returns a slice.
const DIFFERENCE_LIMIT: usize = 1000;

fn split_journal(entries: &[JournalEntry]) -> (Vec<tl::enums::Message>, Vec<tl::enums::Update>) {
    let mut messages = Vec::new();
    let mut others = Vec::new();
    for update in entries.iter().filter_map(JournalEntry::update) {
        match update {
            tl::enums::Update::NewMessage(u) => messages.push(u.message),
            tl::enums::Update::NewChannelMessage(u) => messages.push(u.message),
            other => others.push(other),
        }
    }
    (messages, others)
}

impl World {
    /// `updates.getDifference` for the common box. Channels that changed since the client's
    /// `date` are announced with `updateChannelTooLong`, as Telegram does, so the client
    /// follows up with `updates.getChannelDifference`. A client behind the changes the
    /// journal still holds ([`crate::world::Retention`]) gets `differenceTooLong` with the
    /// current pts, as Telegram answers one that fell too far behind.
    pub(super) fn difference(
        &self,
        req: &f::updates::GetDifference,
    ) -> tl::enums::updates::Difference {
        if self.common.forgot_since(req.pts) {
            return tl::enums::updates::Difference::TooLong(
                tl::types::updates::DifferenceTooLong {
                    pts: self.common.pts,
                },
            );
        }
        let entries = self.common.since(req.pts, DIFFERENCE_LIMIT);
        let mut others: Vec<tl::enums::Update> = self
            .channels
            .values()
            .filter(|c| c.messages.last_change() >= req.date && c.messages.pts > 0)
            .map(|c| {
                // `pts` is optional and left out: grammers treats a present one as the
                // client's new position (message_box `process_updates`), which would skip the
                // very messages the client must now fetch with getChannelDifference.
                tl::enums::Update::ChannelTooLong(tl::types::UpdateChannelTooLong {
                    channel_id: c.id,
                    pts: None,
                })
            })
            .collect();
        if entries.is_empty() && others.is_empty() {
            return tl::enums::updates::Difference::Empty(tl::types::updates::DifferenceEmpty {
                date: now(),
                seq: 0,
            });
        }
        let (new_messages, mut updates) = split_journal(entries);
        updates.append(&mut others);
        let referenced = self.referenced(entries);
        let (users, mut chats) = self.peers_of(&referenced);
        chats.extend(
            self.channels
                .keys()
                .filter_map(|&id| self.tl_chat(ChatRef::Channel(id))),
        );
        let reached = entries.last().map_or(req.pts.max(0), |e| e.pts);
        let state = tl::enums::updates::State::State(tl::types::updates::State {
            pts: reached.max(req.pts.min(self.common.pts)),
            qts: self.qts,
            date: now(),
            seq: 0,
            unread_count: 0,
        });
        if reached < self.common.pts {
            tl::enums::updates::Difference::Slice(tl::types::updates::DifferenceSlice {
                new_messages,
                new_encrypted_messages: Vec::new(),
                other_updates: updates,
                chats,
                users,
                intermediate_state: state,
            })
        } else {
            tl::enums::updates::Difference::Difference(tl::types::updates::Difference {
                new_messages,
                new_encrypted_messages: Vec::new(),
                other_updates: updates,
                chats,
                users,
                state,
            })
        }
    }

    /// `updates.getChannelDifference` from the channel's own journal.
    pub(super) fn channel_difference(
        &self,
        req: &f::updates::GetChannelDifference,
    ) -> Result<tl::enums::updates::ChannelDifference, RpcError> {
        let id = self.resolve_channel(&req.channel)?;
        let mbox = &self.channels[&id].messages;
        let limit = req.limit.clamp(1, 100_000) as usize;
        let entries = mbox.since(req.pts, limit);
        if entries.is_empty() {
            return Ok(tl::enums::updates::ChannelDifference::Empty(
                tl::types::updates::ChannelDifferenceEmpty {
                    r#final: true,
                    pts: mbox.pts,
                    timeout: Some(30),
                },
            ));
        }
        let (new_messages, other_updates) = split_journal(entries);
        let (users, chats) = self.peers_of(&self.referenced(entries));
        let pts = entries.last().map_or(mbox.pts, |e| e.pts);
        Ok(tl::enums::updates::ChannelDifference::Difference(
            tl::types::updates::ChannelDifference {
                r#final: pts == mbox.pts,
                pts,
                timeout: Some(30),
                new_messages,
                other_updates,
                chats,
                users,
            },
        ))
    }

    /// Stored messages named by journal entries (for their users and chats).
    fn referenced(&self, entries: &[JournalEntry]) -> Vec<StoredMessage> {
        let mut out = Vec::new();
        for update in entries.iter().filter_map(JournalEntry::update) {
            let (tl::enums::Update::NewMessage(tl::types::UpdateNewMessage { message, .. })
            | tl::enums::Update::NewChannelMessage(tl::types::UpdateNewChannelMessage {
                message,
                ..
            })
            | tl::enums::Update::EditMessage(tl::types::UpdateEditMessage { message, .. })
            | tl::enums::Update::EditChannelMessage(tl::types::UpdateEditChannelMessage {
                message,
                ..
            })) = &update
            else {
                continue;
            };
            if let tl::enums::Message::Message(m) = message {
                let chat = peer_ref(&m.peer_id);
                out.push(StoredMessage {
                    id: m.id,
                    chat,
                    from: m.from_id.as_ref().map(peer_ref),
                    out: m.out,
                    date: m.date,
                    text: String::new(),
                    entities: Vec::new(),
                    reply_to: None,
                    edit_date: None,
                    post: m.post,
                    media: None,
                    fwd_from: None,
                    pinned: false,
                    reactions: Vec::new(),
                    grouped_id: None,
                    action: None,
                });
            }
        }
        out
    }

    /// `users.getUsers`: the users that resolve, in request order.
    pub(super) fn get_users(&self, req: &f::users::GetUsers) -> Vec<tl::enums::User> {
        req.id
            .iter()
            .filter_map(|u| self.resolve_user(u).ok())
            .filter_map(|id| self.tl_user(id))
            .collect()
    }

    /// `contacts.resolveUsername`. Errors: `USERNAME_INVALID`, `USERNAME_NOT_OCCUPIED`.
    pub(super) fn resolve_username(
        &self,
        req: &f::contacts::ResolveUsername,
    ) -> Result<tl::enums::contacts::ResolvedPeer, RpcError> {
        let name = req.username.trim_start_matches('@');
        let valid = (4..=32).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.starts_with(|c: char| c.is_ascii_alphabetic());
        if !valid {
            return Err(RpcError::bad("USERNAME_INVALID"));
        }
        let same = |u: &Option<String>| u.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(name));
        let chat = self
            .users
            .values()
            .find(|u| same(&u.username))
            .map(|u| ChatRef::User(u.id))
            .or_else(|| {
                self.channels
                    .values()
                    .find(|c| same(&c.username))
                    .map(|c| ChatRef::Channel(c.id))
            })
            .ok_or_else(|| RpcError::bad("USERNAME_NOT_OCCUPIED"))?;
        let users = match chat {
            ChatRef::User(id) => self.tl_user(id).into_iter().collect(),
            _ => Vec::new(),
        };
        Ok(tl::enums::contacts::ResolvedPeer::Peer(
            tl::types::contacts::ResolvedPeer {
                peer: tl_build::peer(chat),
                chats: self.tl_chat(chat).into_iter().collect(),
                users,
            },
        ))
    }

    /// `messages.getChats` for basic groups (unknown ids are skipped).
    pub(super) fn get_chats(&self, req: &f::messages::GetChats) -> tl::enums::messages::Chats {
        let chats = req
            .id
            .iter()
            .filter_map(|&id| self.tl_chat(ChatRef::Chat(id)))
            .collect();
        tl::enums::messages::Chats::Chats(tl::types::messages::Chats { chats })
    }

    /// `channels.getChannels`. Errors: `CHANNEL_INVALID`.
    pub(super) fn get_channels(
        &self,
        req: &f::channels::GetChannels,
    ) -> Result<tl::enums::messages::Chats, RpcError> {
        let chats = req
            .id
            .iter()
            .map(|c| self.resolve_channel(c))
            .map(|id| id.map(|id| self.tl_chat(ChatRef::Channel(id))))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        Ok(tl::enums::messages::Chats::Chats(
            tl::types::messages::Chats { chats },
        ))
    }

    fn lookup(
        &self,
        ids: &[tl::enums::InputMessage],
        found: impl Fn(i32) -> Option<StoredMessage>,
    ) -> Vec<Result<StoredMessage, i32>> {
        ids.iter()
            .map(|m| match m {
                tl::enums::InputMessage::Id(m) => found(m.id).ok_or(m.id),
                // The message that `id` replies to (grammers' `get_reply_to_message` asks so).
                tl::enums::InputMessage::ReplyTo(m) => found(m.id)
                    .and_then(|m| m.reply_to)
                    .and_then(&found)
                    .ok_or(0),
                _ => Err(0),
            })
            .collect()
    }

    fn messages_of(
        &self,
        looked_up: Vec<Result<StoredMessage, i32>>,
    ) -> (
        Vec<tl::enums::Message>,
        Vec<tl::enums::User>,
        Vec<tl::enums::Chat>,
    ) {
        let found: Vec<StoredMessage> = looked_up
            .iter()
            .filter_map(|m| m.as_ref().ok().cloned())
            .collect();
        let (users, chats) = self.peers_of(&found);
        let messages = looked_up
            .iter()
            .map(|m| match m {
                Ok(m) => self.tl_message(m),
                Err(id) => tl::enums::Message::Empty(tl::types::MessageEmpty {
                    id: *id,
                    peer_id: None,
                }),
            })
            .collect();
        (messages, users, chats)
    }

    /// `messages.getMessages` from the common box; missing ids come back as `messageEmpty`.
    pub(super) fn get_messages(
        &self,
        req: &f::messages::GetMessages,
    ) -> tl::enums::messages::Messages {
        let looked_up = self.lookup(&req.id, |id| self.common.messages.get(&id).cloned());
        let (messages, users, chats) = self.messages_of(looked_up);
        tl::enums::messages::Messages::Messages(tl::types::messages::Messages {
            messages,
            topics: Vec::new(),
            chats,
            users,
        })
    }

    /// `channels.getMessages`; missing ids come back as `messageEmpty`. Errors: `CHANNEL_INVALID`.
    pub(super) fn get_channel_messages(
        &self,
        req: &f::channels::GetMessages,
    ) -> Result<tl::enums::messages::Messages, RpcError> {
        let id = self.resolve_channel(&req.channel)?;
        let mbox = &self.channels[&id].messages;
        let looked_up = self.lookup(&req.id, |id| mbox.messages.get(&id).cloned());
        let (messages, users, chats) = self.messages_of(looked_up);
        Ok(tl::enums::messages::Messages::ChannelMessages(
            tl::types::messages::ChannelMessages {
                inexact: false,
                pts: mbox.pts,
                count: messages.len() as i32,
                offset_id_offset: None,
                messages,
                topics: Vec::new(),
                chats,
                users,
            },
        ))
    }

    /// `messages.getHistory`, newest first, honouring `offset_id`, `offset_date`,
    /// `add_offset`, `limit`, `max_id` and `min_id` as
    /// <https://core.telegram.org/api/offsets> describes. Errors: `PEER_ID_INVALID`.
    pub(super) fn get_history(
        &self,
        req: &f::messages::GetHistory,
    ) -> Result<tl::enums::messages::Messages, RpcError> {
        let chat = self.resolve_peer(&req.peer)?;
        let all = self.history(chat);
        let start = all
            .iter()
            .position(|m| {
                (req.offset_id <= 0 || m.id < req.offset_id)
                    && (req.offset_date <= 0 || m.date < req.offset_date)
            })
            .unwrap_or(all.len()) as i64;
        let start = (start + i64::from(req.add_offset)).clamp(0, all.len() as i64) as usize;
        let limit = req.limit.clamp(0, 100) as usize;
        let page: Vec<StoredMessage> = all[start..]
            .iter()
            .take(limit)
            .filter(|m| (req.max_id <= 0 || m.id < req.max_id) && m.id > req.min_id)
            .cloned()
            .collect();
        let (users, chats) = self.peers_of(&page);
        let messages: Vec<_> = page.iter().map(|m| self.tl_message(m)).collect();
        let count = all.len() as i32;
        Ok(match chat {
            ChatRef::Channel(id) => tl::enums::messages::Messages::ChannelMessages(
                tl::types::messages::ChannelMessages {
                    inexact: false,
                    pts: self.channels[&id].messages.pts,
                    count,
                    offset_id_offset: None,
                    messages,
                    topics: Vec::new(),
                    chats,
                    users,
                },
            ),
            _ if count as usize > messages.len() => {
                tl::enums::messages::Messages::Slice(tl::types::messages::MessagesSlice {
                    inexact: false,
                    count,
                    next_rate: None,
                    offset_id_offset: None,
                    search_flood: None,
                    messages,
                    topics: Vec::new(),
                    chats,
                    users,
                })
            }
            _ => tl::enums::messages::Messages::Messages(tl::types::messages::Messages {
                messages,
                topics: Vec::new(),
                chats,
                users,
            }),
        })
    }
}

/// A TL `Peer` as a world chat reference.
pub fn peer_ref(peer: &tl::enums::Peer) -> ChatRef {
    match peer {
        tl::enums::Peer::User(p) => ChatRef::User(p.user_id),
        tl::enums::Peer::Chat(p) => ChatRef::Chat(p.chat_id),
        tl::enums::Peer::Channel(p) => ChatRef::Channel(p.channel_id),
    }
}
