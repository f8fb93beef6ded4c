//! Sending, editing, fetching and deleting messages, returning Bot API `Message`s.
//!
//! Raw MTProto calls are used (rather than grammers' higher-level helpers) because the Bot API
//! needs the full resulting message — grammers' `edit_message` returns `()` — and the users
//! and chats of every result are cached in the shared session on the way.

use botapi::types::{Message, MessageEntity, ReplyMarkup};
use grammers_session::types::PeerKind;
use grammers_tl_types as tl;

use crate::outgoing::{self, Sent};
use crate::peers::PeerLookup;
use crate::{Peer, Telegram, TelegramError, convert, entities};

/// Options every send method shares (Bot API: `reply_parameters`, `disable_notification`,
/// `protect_content`, `reply_markup`).
#[derive(Clone, Debug, Default)]
pub struct SendOptions {
    /// Reply to this message of the same chat (already checked to exist).
    pub reply_to: Option<i32>,
    /// Send without notification sound.
    pub silent: bool,
    /// Forbid forwarding and saving.
    pub noforwards: bool,
    /// Keyboard to attach, already checked ([`ReplyMarkup::check`]). Telegram honours it from
    /// bots only: a user account's message is sent without it (Telegram drops it).
    pub reply_markup: Option<ReplyMarkup>,
}

impl SendOptions {
    /// The `reply_markup` of a send call.
    pub(crate) fn markup(&self) -> Option<tl::enums::ReplyMarkup> {
        self.reply_markup.as_ref().map(crate::markup::to_tl)
    }

    /// The `reply_to` of a send call: a reply within the same chat.
    pub(crate) fn reply_header(&self) -> Option<tl::enums::InputReplyTo> {
        self.reply_to.map(|reply_to_msg_id| {
            tl::enums::InputReplyTo::Message(tl::types::InputReplyToMessage {
                reply_to_msg_id,
                top_msg_id: None,
                reply_to_peer_id: None,
                quote_text: None,
                quote_entities: None,
                quote_offset: None,
                monoforum_peer_id: None,
                todo_item_id: None,
                poll_option: None,
            })
        })
    }
}

/// A text message to send.
#[derive(Clone, Debug, Default)]
pub struct OutgoingText {
    /// The text, UTF-8, after `parse_mode` processing.
    pub text: String,
    /// Formatting, UTF-16 offsets.
    pub entities: Vec<MessageEntity>,
    /// Do not generate a link preview.
    pub no_webpage: bool,
    /// Reply, silence, protection.
    pub options: SendOptions,
}

fn rpc_400(name: &str) -> TelegramError {
    TelegramError::Rpc {
        code: 400,
        name: name.to_owned(),
        value: None,
    }
}

/// A `messages.editMessage` of message `id` of `peer` that changes nothing yet: callers set the
/// parts they edit (`..edit_request(peer, id)`).
pub(crate) fn edit_request(peer: Peer, id: i32) -> tl::functions::messages::EditMessage {
    tl::functions::messages::EditMessage {
        no_webpage: false,
        invert_media: false,
        peer: (&peer).into(),
        id,
        message: None,
        media: None,
        reply_markup: None,
        entities: None,
        schedule_date: None,
        schedule_repeat_period: None,
        quick_reply_shortcut_id: None,
        rich_message: None,
    }
}

impl Telegram {
    /// `messages.sendMessage`; returns the sent message (with `reply_to_message` when replying).
    ///
    /// The `random_id` is [`crate::with_random_id`]'s when called inside it; a retry Telegram
    /// refuses as `RANDOM_ID_DUPLICATE` answers the message the first try sent.
    ///
    /// Errors: RPC errors as Telegram gives them (`PEER_ID_INVALID`, `MESSAGE_EMPTY`,
    /// `MESSAGE_TOO_LONG`, `CHAT_WRITE_FORBIDDEN`, …), [`TelegramError::FloodWait`].
    pub async fn send_text(&self, peer: Peer, out: OutgoingText) -> Result<Message, TelegramError> {
        let random_id = outgoing::random_id(0);
        let text = out.text.clone();
        let result = self
            .client
            .invoke(&tl::functions::messages::SendMessage {
                no_webpage: out.no_webpage,
                silent: out.options.silent,
                background: false,
                clear_draft: false,
                noforwards: out.options.noforwards,
                update_stickersets_order: false,
                invert_media: false,
                allow_paid_floodskip: false,
                peer: (&peer).into(),
                reply_to: out.options.reply_header(),
                message: out.text,
                random_id,
                reply_markup: out.options.markup(),
                entities: entities::to_tl_nonempty(&out.entities),
                schedule_date: None,
                schedule_repeat_period: None,
                send_as: None,
                quick_reply_shortcut: None,
                effect: None,
                allow_paid_stars: None,
                suggested_post: None,
                rich_message: None,
            })
            .await;
        let message = match result {
            Ok(updates) => {
                self.message_from_updates(updates, |u| {
                    matches!(
                        u,
                        tl::enums::Update::NewMessage(_) | tl::enums::Update::NewChannelMessage(_)
                    )
                })
                .await?
            }
            Err(e) if outgoing::is_duplicate(&e) => {
                self.find_one_sent(peer, Sent::Text(&text)).await?
            }
            Err(e) => return Err(e.into()),
        };
        self.with_reply(peer, message, &out.options).await
    }

    /// A sent message with its `reply_to_message` filled in when `options` made it a reply, as
    /// the Bot API answers (MTProto's result carries only the replied-to id).
    pub(crate) async fn with_reply(
        &self,
        peer: Peer,
        mut message: Message,
        options: &SendOptions,
    ) -> Result<Message, TelegramError> {
        if let Some(reply_id) = options.reply_to {
            message.reply_to_message = self.get_message(peer, reply_id).await?.map(Box::new);
        }
        Ok(message)
    }

    /// `messages.editMessage` (text); returns the edited message. `reply_markup` is the
    /// message's new inline keyboard (bots only; for a bot, `None` removes the keyboard, as
    /// the Bot API's edit methods do).
    ///
    /// Errors: `MESSAGE_ID_INVALID`, `MESSAGE_NOT_MODIFIED`, `MESSAGE_AUTHOR_REQUIRED`,
    /// `MESSAGE_EMPTY`, … as RPC errors.
    pub async fn edit_text(
        &self,
        peer: Peer,
        message_id: i32,
        text: String,
        entities: &[MessageEntity],
        no_webpage: bool,
        reply_markup: Option<&ReplyMarkup>,
    ) -> Result<Message, TelegramError> {
        self.edit(tl::functions::messages::EditMessage {
            no_webpage,
            message: Some(text),
            reply_markup: reply_markup.map(crate::markup::to_tl),
            entities: Some(entities::to_tl(entities)),
            ..edit_request(peer, message_id)
        })
        .await
    }

    /// `messages.editMessage` with only a markup (Bot API `editMessageReplyMarkup`): the
    /// message's inline keyboard becomes `reply_markup`, or none. Returns the edited message.
    ///
    /// Errors: `MESSAGE_ID_INVALID`, `MESSAGE_NOT_MODIFIED` (the same keyboard),
    /// `MESSAGE_AUTHOR_REQUIRED`, … as RPC errors.
    pub async fn edit_reply_markup(
        &self,
        peer: Peer,
        message_id: i32,
        reply_markup: Option<&ReplyMarkup>,
    ) -> Result<Message, TelegramError> {
        self.edit(tl::functions::messages::EditMessage {
            reply_markup: reply_markup.map(crate::markup::to_tl),
            ..edit_request(peer, message_id)
        })
        .await
    }

    /// Runs a `messages.editMessage` and returns the edited message from its result.
    pub(crate) async fn edit(
        &self,
        request: tl::functions::messages::EditMessage,
    ) -> Result<Message, TelegramError> {
        let updates = self.client.invoke(&request).await?;
        self.message_from_updates(updates, |u| {
            matches!(
                u,
                tl::enums::Update::EditMessage(_) | tl::enums::Update::EditChannelMessage(_)
            )
        })
        .await
    }

    /// One message of a chat, or `None` when it does not exist there (deleted, never existed,
    /// or belonging to another chat — private chats and basic groups share one id space).
    pub async fn get_message(
        &self,
        peer: Peer,
        message_id: i32,
    ) -> Result<Option<Message>, TelegramError> {
        Ok(self
            .get_raw_messages(peer, message_id)
            .await?
            .and_then(|(raw, peers)| convert::message(&raw, &peers)))
    }

    /// The raw MTProto message, for callers that need more than the Bot API shape.
    pub(crate) async fn get_raw_message(
        &self,
        peer: Peer,
        message_id: i32,
    ) -> Result<Option<tl::enums::Message>, TelegramError> {
        Ok(self
            .get_raw_messages(peer, message_id)
            .await?
            .map(|(raw, _)| raw))
    }

    async fn get_raw_messages(
        &self,
        peer: Peer,
        message_id: i32,
    ) -> Result<Option<(tl::enums::Message, PeerLookup)>, TelegramError> {
        let id = vec![tl::enums::InputMessage::Id(tl::types::InputMessageId {
            id: message_id,
        })];
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
        let (messages, users, chats) = match result {
            tl::enums::messages::Messages::Messages(m) => (m.messages, m.users, m.chats),
            tl::enums::messages::Messages::Slice(m) => (m.messages, m.users, m.chats),
            tl::enums::messages::Messages::ChannelMessages(m) => (m.messages, m.users, m.chats),
            tl::enums::messages::Messages::NotModified(_) => return Ok(None),
        };
        self.cache(&users, &chats).await;
        let peers = PeerLookup::new(&users, &chats);
        let wanted: tl::enums::Peer = peer.id().into();
        Ok(messages
            .into_iter()
            .find(|m| match m {
                tl::enums::Message::Message(m) => m.peer_id == wanted,
                tl::enums::Message::Service(m) => m.peer_id == wanted,
                tl::enums::Message::Empty(_) => false,
            })
            .map(|m| (m, peers)))
    }

    /// Deletes one message for everyone, checking first that it exists in that chat (the Bot
    /// API's `deleteMessage` semantics; MTProto's `messages.deleteMessages` takes no chat).
    ///
    /// Errors: `MESSAGE_ID_INVALID` when it does not exist there, `MESSAGE_DELETE_FORBIDDEN`
    /// when the account may not delete it.
    pub async fn delete_message(&self, peer: Peer, message_id: i32) -> Result<(), TelegramError> {
        if self.get_message(peer, message_id).await?.is_none() {
            return Err(rpc_400("MESSAGE_ID_INVALID"));
        }
        let tl::enums::messages::AffectedMessages::Messages(affected) =
            if peer.id().kind() == PeerKind::Channel {
                self.client
                    .invoke(&tl::functions::channels::DeleteMessages {
                        channel: (&peer).into(),
                        id: vec![message_id],
                    })
                    .await?
            } else {
                self.client
                    .invoke(&tl::functions::messages::DeleteMessages {
                        revoke: true,
                        id: vec![message_id],
                    })
                    .await?
            };
        if affected.pts_count == 0 {
            return Err(TelegramError::Rpc {
                code: 403,
                name: "MESSAGE_DELETE_FORBIDDEN".into(),
                value: None,
            });
        }
        Ok(())
    }

    /// Finds the message carried by the first update matching `wanted` in an RPC result.
    pub(crate) async fn message_from_updates(
        &self,
        updates: tl::enums::Updates,
        wanted: impl Fn(&tl::enums::Update) -> bool,
    ) -> Result<Message, TelegramError> {
        let (list, users, chats) = match updates {
            tl::enums::Updates::Updates(u) => (u.updates, u.users, u.chats),
            tl::enums::Updates::Combined(u) => (u.updates, u.users, u.chats),
            tl::enums::Updates::UpdateShort(u) => (vec![u.update], Vec::new(), Vec::new()),
            _ => {
                return Err(TelegramError::Unexpected(
                    "a short update without the message".into(),
                ));
            }
        };
        self.cache(&users, &chats).await;
        let peers = PeerLookup::new(&users, &chats);
        list.iter()
            .filter(|u| wanted(u))
            .find_map(|u| match u {
                tl::enums::Update::NewMessage(u) => convert::message(&u.message, &peers),
                tl::enums::Update::NewChannelMessage(u) => convert::message(&u.message, &peers),
                tl::enums::Update::EditMessage(u) => convert::message(&u.message, &peers),
                tl::enums::Update::EditChannelMessage(u) => convert::message(&u.message, &peers),
                _ => None,
            })
            .ok_or_else(|| TelegramError::Unexpected("the result carried no message".into()))
    }
}
