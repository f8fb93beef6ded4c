//! Acting on existing messages and chats: forwarding and copying, pinning, reactions, chat
//! actions ("typing…") and deleting several messages.

use botapi::types::{ChatAction, Message, ReactionType};
use grammers_session::types::PeerKind;
use grammers_tl_types as tl;

use crate::outgoing::{self, Sent};
use crate::{Peer, SendOptions, Telegram, TelegramError};

/// How many messages [`Telegram::latest_pinned`] scans when search cannot find pins.
const PINNED_SCAN_LIMIT: i32 = 300;

/// A `messages.forwardMessages` call: forwards (`drop_author = false`) or copies.
#[derive(Clone, Debug)]
pub struct Forward {
    /// Chat the messages are in.
    pub from: Peer,
    /// Chat to send them to.
    pub to: Peer,
    /// Message ids in `from`, increasing.
    pub ids: Vec<i32>,
    /// Copy without the forward header (Bot API `copyMessage(s)`).
    pub drop_author: bool,
    /// With `drop_author`: leave media captions out (`remove_caption`).
    pub drop_captions: bool,
    /// Silence and protection of the result (`reply_to` is not used: forwards are not
    /// replies).
    pub options: SendOptions,
}

fn rpc_400(name: &str) -> TelegramError {
    TelegramError::Rpc {
        code: 400,
        name: name.to_owned(),
        value: None,
    }
}

/// The MTProto action for a Bot API chat action (uploads at 0 % progress).
fn send_message_action(action: ChatAction) -> tl::enums::SendMessageAction {
    use tl::enums::SendMessageAction as A;
    match action {
        ChatAction::Typing => A::SendMessageTypingAction,
        ChatAction::UploadPhoto => {
            A::SendMessageUploadPhotoAction(tl::types::SendMessageUploadPhotoAction { progress: 0 })
        }
        ChatAction::RecordVideo => A::SendMessageRecordVideoAction,
        ChatAction::UploadVideo => {
            A::SendMessageUploadVideoAction(tl::types::SendMessageUploadVideoAction { progress: 0 })
        }
        ChatAction::RecordVoice => A::SendMessageRecordAudioAction,
        ChatAction::UploadVoice => {
            A::SendMessageUploadAudioAction(tl::types::SendMessageUploadAudioAction { progress: 0 })
        }
        ChatAction::UploadDocument => {
            A::SendMessageUploadDocumentAction(tl::types::SendMessageUploadDocumentAction {
                progress: 0,
            })
        }
        ChatAction::ChooseSticker => A::SendMessageChooseStickerAction,
        ChatAction::FindLocation => A::SendMessageGeoLocationAction,
        ChatAction::RecordVideoNote => A::SendMessageRecordRoundAction,
        ChatAction::UploadVideoNote => {
            A::SendMessageUploadRoundAction(tl::types::SendMessageUploadRoundAction { progress: 0 })
        }
    }
}

fn reaction(r: &ReactionType) -> Result<tl::enums::Reaction, TelegramError> {
    Ok(match r {
        ReactionType::Emoji { emoji } => tl::enums::Reaction::Emoji(tl::types::ReactionEmoji {
            emoticon: emoji.clone(),
        }),
        ReactionType::CustomEmoji { custom_emoji_id } => {
            let document_id = custom_emoji_id
                .parse()
                .map_err(|_| rpc_400("REACTION_INVALID"))?;
            tl::enums::Reaction::CustomEmoji(tl::types::ReactionCustomEmoji { document_id })
        }
        ReactionType::Paid => tl::enums::Reaction::Paid,
    })
}

impl Telegram {
    /// Forwards or copies messages; returns the new messages in id order (ids that do not
    /// exist in `from` are skipped, as Telegram does).
    ///
    /// Errors: `MESSAGE_ID_INVALID` when none exists, `CHAT_FORWARDS_RESTRICTED`,
    /// `CHAT_WRITE_FORBIDDEN`, `PEER_ID_INVALID`, … as RPC errors.
    pub async fn forward_messages(&self, f: Forward) -> Result<Vec<Message>, TelegramError> {
        let sent = Sent::Forwards {
            count: f.ids.len(),
            forwarded: !f.drop_author,
        };
        let to = f.to;
        let result = self
            .client
            .invoke(&tl::functions::messages::ForwardMessages {
                silent: f.options.silent,
                background: false,
                with_my_score: false,
                drop_author: f.drop_author,
                drop_media_captions: f.drop_author && f.drop_captions,
                noforwards: f.options.noforwards,
                allow_paid_floodskip: false,
                from_ephemeral: false,
                from_peer: (&f.from).into(),
                random_id: (0..f.ids.len()).map(outgoing::random_id).collect(),
                id: f.ids,
                to_peer: (&f.to).into(),
                top_msg_id: None,
                reply_to: None,
                schedule_date: None,
                schedule_repeat_period: None,
                send_as: None,
                quick_reply_shortcut: None,
                effect: None,
                video_timestamp: None,
                allow_paid_stars: None,
                suggested_post: None,
            })
            .await;
        match result {
            Ok(updates) => self.new_messages(updates).await,
            Err(e) if outgoing::is_duplicate(&e) => self.find_sent(to, sent).await,
            Err(e) => Err(e.into()),
        }
    }

    /// Shows `action` in the chat for a few seconds (`messages.setTyping`).
    pub async fn send_chat_action(
        &self,
        peer: Peer,
        action: ChatAction,
        top_msg_id: Option<i32>,
    ) -> Result<(), TelegramError> {
        self.client
            .invoke(&tl::functions::messages::SetTyping {
                peer: (&peer).into(),
                top_msg_id,
                action: send_message_action(action),
            })
            .await?;
        Ok(())
    }

    /// Pins (`pin = true`) or unpins one message (`messages.updatePinnedMessage`).
    ///
    /// Errors: `MESSAGE_ID_INVALID`, `CHAT_ADMIN_REQUIRED`, … as RPC errors.
    pub async fn set_pinned(
        &self,
        peer: Peer,
        message_id: i32,
        pin: bool,
        silent: bool,
    ) -> Result<(), TelegramError> {
        self.client
            .invoke(&tl::functions::messages::UpdatePinnedMessage {
                silent,
                unpin: !pin,
                pm_oneside: false,
                peer: (&peer).into(),
                id: message_id,
            })
            .await?;
        Ok(())
    }

    /// Unpins every pinned message of the chat (`messages.unpinAllMessages`).
    pub async fn unpin_all(&self, peer: Peer) -> Result<(), TelegramError> {
        self.client
            .invoke(&tl::functions::messages::UnpinAllMessages {
                peer: (&peer).into(),
                top_msg_id: None,
                saved_peer_id: None,
            })
            .await?;
        Ok(())
    }

    /// The id of the newest pinned message of the chat, if any: asks search for pins first,
    /// then scans the newest 300 (`PINNED_SCAN_LIMIT`) messages for the `pinned` flag.
    pub async fn latest_pinned(&self, peer: Peer) -> Result<Option<i32>, TelegramError> {
        let pinned = tl::enums::MessagesFilter::InputMessagesFilterPinned;
        if let Ok(found) = self.raw_search(peer, "", None, pinned, 0, 1).await
            && let Some(id) = found.messages.iter().find_map(pinned_id)
        {
            return Ok(Some(id));
        }
        let mut offset_id = 0;
        let mut scanned = 0;
        while scanned < PINNED_SCAN_LIMIT {
            let page = self.raw_history(peer, offset_id, 100).await?;
            if let Some(id) = page.messages.iter().find_map(pinned_id) {
                return Ok(Some(id));
            }
            let Some(oldest) = page.messages.iter().filter_map(message_id).min() else {
                break;
            };
            scanned += page.messages.len() as i32;
            offset_id = oldest;
        }
        Ok(None)
    }

    /// Sets the account's reactions on a message; an empty list removes them
    /// (`messages.sendReaction`). `big` plays the big animation.
    ///
    /// Errors: `MESSAGE_ID_INVALID`, `REACTION_INVALID`, `REACTIONS_TOO_MANY`, … as RPC errors.
    pub async fn set_reaction(
        &self,
        peer: Peer,
        message_id: i32,
        reactions: &[ReactionType],
        big: bool,
    ) -> Result<(), TelegramError> {
        let reaction = reactions
            .iter()
            .map(reaction)
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .invoke(&tl::functions::messages::SendReaction {
                big,
                add_to_recent: true,
                peer: (&peer).into(),
                msg_id: message_id,
                reaction: Some(reaction),
            })
            .await?;
        Ok(())
    }

    /// Deletes those of `ids` that exist in the chat, for everyone; returns how many went.
    /// Ids of other chats are never touched (basic groups and private chats share one id
    /// space, so they are checked first).
    ///
    /// Errors: `MESSAGE_DELETE_FORBIDDEN`, `CHAT_ADMIN_REQUIRED`, … as RPC errors.
    pub async fn delete_messages(&self, peer: Peer, ids: &[i32]) -> Result<usize, TelegramError> {
        let existing: Vec<i32> = self
            .raw_messages_by_id(peer, ids)
            .await?
            .messages
            .iter()
            .filter_map(message_id)
            .collect();
        if existing.is_empty() {
            return Ok(0);
        }
        let tl::enums::messages::AffectedMessages::Messages(affected) =
            if peer.id().kind() == PeerKind::Channel {
                self.client
                    .invoke(&tl::functions::channels::DeleteMessages {
                        channel: (&peer).into(),
                        id: existing,
                    })
                    .await?
            } else {
                self.client
                    .invoke(&tl::functions::messages::DeleteMessages {
                        revoke: true,
                        id: existing,
                    })
                    .await?
            };
        Ok(affected.pts_count.max(0) as usize)
    }
}

fn message_id(m: &tl::enums::Message) -> Option<i32> {
    match m {
        tl::enums::Message::Message(m) => Some(m.id),
        tl::enums::Message::Service(m) => Some(m.id),
        tl::enums::Message::Empty(_) => None,
    }
}

fn pinned_id(m: &tl::enums::Message) -> Option<i32> {
    match m {
        tl::enums::Message::Message(m) if m.pinned => Some(m.id),
        _ => None,
    }
}
