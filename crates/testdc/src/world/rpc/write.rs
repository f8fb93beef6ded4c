//! RPCs that change the world: send, edit and delete messages.

use grammers_tl_types::{self as tl, functions as f};

use super::SideEffects;
use crate::world::media::MediaRef;
use crate::world::{ChatRef, RpcError, StoredMessage, World, WorldEvent, now};

/// Telegram's limit for a text message, in characters after entity parsing.
const MESSAGE_LENGTH_MAX: usize = 4096;

/// The parts of `messages.sendMessage` / `messages.sendMedia` that do not concern media.
pub(super) struct Outgoing<'a> {
    pub peer: &'a tl::enums::InputPeer,
    pub text: &'a str,
    pub entities: Option<&'a [tl::enums::MessageEntity]>,
    pub reply_to: Option<&'a tl::enums::InputReplyTo>,
    pub random_id: i64,
    /// Set for forwarded copies (`messages.forwardMessages` without `drop_author`).
    pub fwd_from: Option<tl::enums::MessageFwdHeader>,
    /// Album id (`messages.sendMultiMedia`).
    pub grouped_id: Option<i64>,
}

fn check_text(text: &str) -> Result<(), RpcError> {
    if text.trim().is_empty() {
        Err(RpcError::bad("MESSAGE_EMPTY"))
    } else if text.encode_utf16().count() > MESSAGE_LENGTH_MAX {
        Err(RpcError::bad("MESSAGE_TOO_LONG"))
    } else {
        Ok(())
    }
}

impl World {
    /// Replaces a message with its edited version and journals the edit update. Errors as
    /// [`World::box_for_write`].
    pub(crate) fn store_edit(
        &mut self,
        edited: &StoredMessage,
    ) -> Result<tl::enums::Update, RpcError> {
        let (mbox, tl) = self.box_for_write(edited.chat)?;
        Ok(mbox.store_edit(edited, &tl))
    }

    /// Removes messages from `chat`'s box and journals the delete update (`None` when none of
    /// `ids` existed there).
    pub(crate) fn store_delete(&mut self, chat: ChatRef, ids: &[i32]) -> Option<tl::enums::Update> {
        let mbox = self.box_of_mut(chat)?;
        let ids: Vec<i32> = ids
            .iter()
            .copied()
            .filter(|id| mbox.messages.get(id).is_some_and(|m| m.chat == chat))
            .collect();
        if ids.is_empty() {
            return None;
        }
        for id in &ids {
            mbox.messages.remove(id);
        }
        let count = ids.len() as i32;
        Some(mbox.journal(count, |pts| match chat {
            ChatRef::Channel(channel_id) => {
                tl::enums::Update::DeleteChannelMessages(tl::types::UpdateDeleteChannelMessages {
                    channel_id,
                    messages: ids,
                    pts,
                    pts_count: count,
                })
            }
            _ => tl::enums::Update::DeleteMessages(tl::types::UpdateDeleteMessages {
                messages: ids,
                pts,
                pts_count: count,
            }),
        }))
    }

    /// Whether the account may write into `chat`: not into broadcast channels it does not own.
    fn check_can_write(&self, chat: ChatRef) -> Result<(), RpcError> {
        match chat {
            ChatRef::Channel(id)
                if !self.channels[&id].megagroup && !self.channels[&id].creator =>
            {
                Err(RpcError::from_message("CHAT_WRITE_FORBIDDEN"))
            }
            _ => Ok(()),
        }
    }

    /// Whether the account may delete `m`: its own messages anywhere, anything in private chats
    /// and in chats it created.
    fn can_delete(&self, m: &StoredMessage) -> bool {
        m.out
            || match m.chat {
                ChatRef::User(_) => true,
                ChatRef::Chat(id) => self.chats[&id].creator,
                ChatRef::Channel(id) => self.channels[&id].creator,
            }
    }

    /// `messages.sendMessage`. Answers a full `updates` with `updateMessageID` (so grammers maps
    /// the random id to the message) and pushes the new message to the account's other
    /// sessions. Errors: `PEER_ID_INVALID`, `CHANNEL_INVALID`, `MESSAGE_EMPTY`,
    /// `MESSAGE_TOO_LONG`, `CHAT_WRITE_FORBIDDEN`, `RANDOM_ID_DUPLICATE`.
    pub(super) fn send_message(
        &mut self,
        req: &f::messages::SendMessage,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::Updates, RpcError> {
        check_text(&req.message)?;
        let out = Outgoing {
            peer: &req.peer,
            text: &req.message,
            entities: req.entities.as_deref(),
            reply_to: req.reply_to.as_ref(),
            random_id: req.random_id,
            fwd_from: None,
            grouped_id: None,
        };
        self.post_outgoing(out, None, fx)
    }

    /// Stores and announces a message the account sends (text or media).
    pub(super) fn post_outgoing(
        &mut self,
        out: Outgoing<'_>,
        media: Option<MediaRef>,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::Updates, RpcError> {
        let chat = self.resolve_peer(out.peer)?;
        self.check_can_write(chat)?;
        if out.text.encode_utf16().count() > MESSAGE_LENGTH_MAX {
            return Err(RpcError::bad("MESSAGE_TOO_LONG"));
        }
        if !self
            .random_ids
            .insert(out.random_id, self.retention.changes)
        {
            return Err(RpcError::from_message("RANDOM_ID_DUPLICATE"));
        }
        let reply_to = match out.reply_to {
            Some(tl::enums::InputReplyTo::Message(r)) => Some(r.reply_to_msg_id),
            _ => None,
        }
        .filter(|&id| self.find(chat, id).is_some());
        let post = matches!(chat, ChatRef::Channel(id) if !self.channels[&id].megagroup);
        let (message, update) = self.store_new(StoredMessage {
            id: 0,
            chat,
            from: (!post).then_some(ChatRef::User(self.self_id)),
            out: true,
            date: now(),
            text: out.text.to_owned(),
            entities: out.entities.map(<[_]>::to_vec).unwrap_or_default(),
            reply_to,
            edit_date: None,
            post,
            media,
            fwd_from: out.fwd_from,
            pinned: false,
            reactions: Vec::new(),
            grouped_id: out.grouped_id,
            action: None,
        })?;
        let mentioned = std::slice::from_ref(&message);
        fx.pushes
            .push(self.wrap_updates(vec![update.clone()], mentioned));
        fx.events.push(WorldEvent::Outgoing(message.clone()));
        let id_update = tl::enums::Update::MessageId(tl::types::UpdateMessageId {
            id: message.id,
            random_id: out.random_id,
        });
        Ok(self.wrap_updates(vec![id_update, update], mentioned))
    }

    /// `messages.editMessage` (text and entities). Errors: `MESSAGE_ID_INVALID` (no such
    /// message in that chat), `MESSAGE_AUTHOR_REQUIRED` (not the account's),
    /// `MESSAGE_NOT_MODIFIED`, `MESSAGE_EMPTY`, `MESSAGE_TOO_LONG`.
    pub(super) fn edit_message(
        &mut self,
        req: &f::messages::EditMessage,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::Updates, RpcError> {
        let chat = self.resolve_peer(&req.peer)?;
        let current = self
            .find(chat, req.id)
            .cloned()
            .ok_or_else(|| RpcError::bad("MESSAGE_ID_INVALID"))?;
        if !current.out {
            return Err(RpcError::from_message("MESSAGE_AUTHOR_REQUIRED"));
        }
        let media = match &req.media {
            Some(m) if current.media.is_none() => {
                // Telegram cannot turn a text message into a media one.
                let _ = m;
                return Err(RpcError::bad("MEDIA_PREV_INVALID"));
            }
            Some(m) => Some(self.input_media(m)?),
            None => current.media.clone(),
        };
        let text = match (&req.message, &req.media) {
            (Some(t), _) => t.clone(),
            (None, Some(_)) => current.text.clone(),
            (None, None) => String::new(),
        };
        if media.is_none() {
            check_text(&text)?;
        }
        let entities = req.entities.clone().unwrap_or_default();
        if text == current.text && entities == current.entities && media == current.media {
            return Err(RpcError::bad("MESSAGE_NOT_MODIFIED"));
        }
        let edited = StoredMessage {
            text,
            entities,
            media,
            edit_date: Some(now()),
            ..current
        };
        let update = self.store_edit(&edited)?;
        let mentioned = std::slice::from_ref(&edited);
        fx.pushes
            .push(self.wrap_updates(vec![update.clone()], mentioned));
        Ok(self.wrap_updates(vec![update], mentioned))
    }

    /// `messages.deleteMessages` in the common box. Ids that do not exist (or that the account
    /// may not delete) are skipped, as Telegram does; `pts_count` says how many went.
    pub(super) fn delete_messages(
        &mut self,
        req: &f::messages::DeleteMessages,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::messages::AffectedMessages, RpcError> {
        let ids: Vec<i32> = req
            .id
            .iter()
            .copied()
            .filter(|id| {
                self.common
                    .messages
                    .get(id)
                    .is_some_and(|m| self.can_delete(m))
            })
            .collect();
        let (pts, count) = if ids.is_empty() {
            (self.common.pts, 0)
        } else {
            for id in &ids {
                self.common.messages.remove(id);
            }
            let count = ids.len() as i32;
            let update = self.common.journal(count, |pts| {
                tl::enums::Update::DeleteMessages(tl::types::UpdateDeleteMessages {
                    messages: ids,
                    pts,
                    pts_count: count,
                })
            });
            fx.pushes.push(self.wrap_updates(vec![update], &[]));
            (self.common.pts, count)
        };
        Ok(affected(pts, count))
    }

    /// `channels.deleteMessages`. Errors: `CHANNEL_INVALID`, `MESSAGE_DELETE_FORBIDDEN`
    /// (a message of someone else in a channel the account does not own).
    pub(super) fn delete_channel_messages(
        &mut self,
        req: &f::channels::DeleteMessages,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::messages::AffectedMessages, RpcError> {
        let channel_id = self.resolve_channel(&req.channel)?;
        let chat = ChatRef::Channel(channel_id);
        let existing: Vec<&StoredMessage> = req
            .id
            .iter()
            .filter_map(|&id| self.find(chat, id))
            .collect();
        if existing.iter().any(|m| !self.can_delete(m)) {
            return Err(RpcError::from_message("MESSAGE_DELETE_FORBIDDEN"));
        }
        let ids: Vec<i32> = existing.iter().map(|m| m.id).collect();
        let (mbox, _) = self.box_for_write(chat)?;
        if ids.is_empty() {
            return Ok(affected(mbox.pts, 0));
        }
        for id in &ids {
            mbox.messages.remove(id);
        }
        let count = ids.len() as i32;
        let update = mbox.journal(count, |pts| {
            tl::enums::Update::DeleteChannelMessages(tl::types::UpdateDeleteChannelMessages {
                channel_id,
                messages: ids,
                pts,
                pts_count: count,
            })
        });
        let pts = mbox.pts;
        fx.pushes.push(self.wrap_updates(vec![update], &[]));
        Ok(affected(pts, count))
    }
}

fn affected(pts: i32, pts_count: i32) -> tl::enums::messages::AffectedMessages {
    tl::enums::messages::AffectedMessages::Messages(tl::types::messages::AffectedMessages {
        pts,
        pts_count,
    })
}
