//! RPC dispatch: one function per MTProto method this test DC answers, each answering the way
//! Telegram does (result shapes from the TL schema of layer 230, errors from the method pages
//! of <https://core.telegram.org/methods>).

use grammers_tl_types::{self as tl, Deserializable, Identifiable, Serializable};

use super::{ChatRef, RpcError, StoredMessage, World, WorldEvent, now};

mod auth;
mod bots;
mod dialogs;
mod extra;
mod media;
mod read;
mod write;

pub use read::peer_ref;

/// What an RPC produced besides its result: updates to push to the account's *other*
/// connections (or to a bot's), and events for the control API.
#[derive(Default)]
pub struct SideEffects {
    /// Pushed to every connection except the caller's, as Telegram does for other sessions.
    pub pushes: Vec<tl::enums::Updates>,
    /// Pushed to the connections signed in as another user of this DC (the bot), by user id.
    pub addressed: Vec<(i64, tl::enums::Updates)>,
    /// Observed by tests (`wait_outgoing`).
    pub events: Vec<WorldEvent>,
}

/// Where the DC lives, for `help.getConfig`.
#[derive(Clone, Debug)]
pub struct DcAddress {
    /// DC id (always 2 here).
    pub dc_id: i32,
    /// Loopback IP as text.
    pub ip: String,
    /// TCP port.
    pub port: u16,
}

type Reply = Result<Vec<u8>, RpcError>;

fn decode<T: Deserializable>(body: &[u8]) -> Result<T, RpcError> {
    T::from_bytes(&body[4..]).map_err(|_| RpcError::bad("INPUT_REQUEST_INVALID"))
}

fn ok<T: Serializable>(value: T) -> Reply {
    Ok(value.to_bytes())
}

/// The constructor id of an RPC body, and its schema name for logs and fault matching.
pub fn method_name(body: &[u8]) -> &'static str {
    crate::wire::constructor_id(body).map_or("?", tl::name_for_id)
}

impl World {
    /// Runs one (already unwrapped) RPC against the world.
    ///
    /// Unknown methods get `400 INPUT_METHOD_INVALID_<NAME>` naming the method — never a crash
    /// and never transport error -404 (which would make grammers start a DH handshake).
    pub fn invoke(&mut self, body: &[u8], dc: &DcAddress, fx: &mut SideEffects) -> Reply {
        use tl::functions as f;
        let Some(id) = crate::wire::constructor_id(body) else {
            return Err(RpcError::bad("INPUT_REQUEST_INVALID"));
        };
        match id {
            f::help::GetConfig::CONSTRUCTOR_ID => {
                ok(super::tl_build::config(dc.dc_id, &dc.ip, dc.port, now()))
            }
            f::updates::GetState::CONSTRUCTOR_ID => ok(self.state()),
            f::updates::GetDifference::CONSTRUCTOR_ID => ok(self.difference(&decode(body)?)),
            f::updates::GetChannelDifference::CONSTRUCTOR_ID => {
                self.channel_difference(&decode(body)?).and_then(ok)
            }
            f::users::GetUsers::CONSTRUCTOR_ID => ok(self.get_users(&decode(body)?)),
            f::contacts::ResolveUsername::CONSTRUCTOR_ID => {
                self.resolve_username(&decode(body)?).and_then(ok)
            }
            f::messages::GetChats::CONSTRUCTOR_ID => ok(self.get_chats(&decode(body)?)),
            f::channels::GetChannels::CONSTRUCTOR_ID => {
                self.get_channels(&decode(body)?).and_then(ok)
            }
            f::messages::GetMessages::CONSTRUCTOR_ID => ok(self.get_messages(&decode(body)?)),
            f::channels::GetMessages::CONSTRUCTOR_ID => {
                self.get_channel_messages(&decode(body)?).and_then(ok)
            }
            f::messages::GetHistory::CONSTRUCTOR_ID => {
                self.get_history(&decode(body)?).and_then(ok)
            }
            f::messages::GetDialogs::CONSTRUCTOR_ID => ok(self.get_dialogs(&decode(body)?)),
            f::messages::SendMessage::CONSTRUCTOR_ID => {
                self.send_message(&decode(body)?, fx).and_then(ok)
            }
            f::messages::EditMessage::CONSTRUCTOR_ID => {
                self.edit_message(&decode(body)?, fx).and_then(ok)
            }
            f::messages::DeleteMessages::CONSTRUCTOR_ID => {
                self.delete_messages(&decode(body)?, fx).and_then(ok)
            }
            f::channels::DeleteMessages::CONSTRUCTOR_ID => self
                .delete_channel_messages(&decode(body)?, fx)
                .and_then(ok),
            f::upload::SaveFilePart::CONSTRUCTOR_ID => {
                let req: f::upload::SaveFilePart = decode(body)?;
                self.media
                    .save_part(req.file_id, req.file_part, req.bytes)?;
                ok(true)
            }
            f::upload::SaveBigFilePart::CONSTRUCTOR_ID => {
                let req: f::upload::SaveBigFilePart = decode(body)?;
                self.media.save_big_part(
                    req.file_id,
                    req.file_part,
                    req.file_total_parts,
                    req.bytes,
                )?;
                ok(true)
            }
            f::upload::GetFile::CONSTRUCTOR_ID => self.media.read(&decode(body)?),
            f::messages::SendMedia::CONSTRUCTOR_ID => {
                self.send_media(&decode(body)?, fx).and_then(ok)
            }
            f::messages::UploadMedia::CONSTRUCTOR_ID => {
                self.upload_media(&decode(body)?).and_then(ok)
            }
            f::messages::SendMultiMedia::CONSTRUCTOR_ID => {
                self.send_multi_media(&decode(body)?, fx).and_then(ok)
            }
            f::messages::ForwardMessages::CONSTRUCTOR_ID => {
                self.forward_messages(&decode(body)?, fx).and_then(ok)
            }
            f::messages::UpdatePinnedMessage::CONSTRUCTOR_ID => {
                self.update_pinned(&decode(body)?, fx).and_then(ok)
            }
            f::messages::UnpinAllMessages::CONSTRUCTOR_ID => {
                self.unpin_all(&decode(body)?, fx).and_then(ok)
            }
            f::messages::SendReaction::CONSTRUCTOR_ID => {
                self.send_reaction(&decode(body)?, fx).and_then(ok)
            }
            f::messages::Search::CONSTRUCTOR_ID => self.search(&decode(body)?).and_then(ok),
            f::messages::SetTyping::CONSTRUCTOR_ID => self.set_typing(&decode(body)?).and_then(ok),
            f::messages::ReadHistory::CONSTRUCTOR_ID => {
                let req: f::messages::ReadHistory = decode(body)?;
                self.resolve_peer(&req.peer)?;
                ok(tl::enums::messages::AffectedMessages::Messages(
                    tl::types::messages::AffectedMessages {
                        pts: self.common.pts,
                        pts_count: 0,
                    },
                ))
            }
            f::channels::ReadHistory::CONSTRUCTOR_ID => {
                let req: f::channels::ReadHistory = decode(body)?;
                self.resolve_channel(&req.channel)?;
                ok(true)
            }
            other => Err(RpcError::bad(&format!(
                "INPUT_METHOD_INVALID_{}",
                tl::name_for_id(other).replace('.', "_").to_uppercase()
            ))),
        }
    }

    /// `updates.state` of the common box.
    fn state(&self) -> tl::enums::updates::State {
        tl::enums::updates::State::State(tl::types::updates::State {
            pts: self.common.pts,
            qts: self.qts,
            date: now(),
            seq: 0,
            unread_count: 0,
        })
    }

    /// A user's message to the account (or a post in a chat the account is in), as a
    /// simulated peer sends it. Errors name what is wrong (unknown chat, sender not a member).
    pub fn peer_sends(
        &mut self,
        from: Option<ChatRef>,
        chat: ChatRef,
        text: &str,
        reply_to: Option<i32>,
        media: Option<super::media::MediaRef>,
        fx: &mut SideEffects,
    ) -> Result<StoredMessage, RpcError> {
        if !self.chat_exists(chat) || chat == ChatRef::User(self.self_id) {
            return Err(RpcError::bad("PEER_ID_INVALID"));
        }
        let post = matches!(chat, ChatRef::Channel(id) if !self.channels[&id].megagroup);
        let from = match (chat, from) {
            // A broadcast post has no sender; a private message always comes from the other user.
            _ if post => None,
            (ChatRef::User(id), _) => Some(ChatRef::User(id)),
            (_, Some(from)) => Some(from),
            (_, None) => return Err(RpcError::bad("SEND_AS_PEER_INVALID")),
        };
        if let Some(ChatRef::User(uid)) = from
            && (uid == self.self_id || !self.is_member(chat, uid))
        {
            return Err(RpcError::bad("USER_NOT_PARTICIPANT"));
        }
        if let Some(r) = reply_to
            && self.find(chat, r).is_none()
        {
            return Err(RpcError::bad("REPLY_TO_INVALID"));
        }
        let (message, update) = self.store_new(StoredMessage {
            id: 0,
            chat,
            from,
            out: false,
            date: now(),
            text: text.to_owned(),
            entities: Vec::new(),
            reply_to,
            edit_date: None,
            post,
            media,
            fwd_from: None,
            pinned: false,
            reactions: Vec::new(),
            grouped_id: None,
            action: None,
        })?;
        fx.pushes
            .push(self.wrap_updates(vec![update], std::slice::from_ref(&message)));
        Ok(message)
    }

    fn is_member(&self, chat: ChatRef, user: i64) -> bool {
        match chat {
            ChatRef::User(id) => id == user,
            ChatRef::Chat(id) => self.chats[&id].members.contains(&user),
            ChatRef::Channel(id) => self.channels[&id].members.contains(&user),
        }
    }

    /// The live message `id` of `chat`, if any.
    pub fn find(&self, chat: ChatRef, id: i32) -> Option<&StoredMessage> {
        self.box_of(chat)?
            .messages
            .get(&id)
            .filter(|m| m.chat == chat)
    }
}
