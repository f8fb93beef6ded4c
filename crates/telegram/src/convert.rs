//! MTProto message → Bot API `Message` (<https://core.telegram.org/bots/api#message>).
//!
//! Submodules: `content` (location, venue, contact, poll, dice), `origin` (`forward_origin`).

mod content;
mod origin;

pub use origin::forward_origin;

use botapi::types::{Message, User};
use grammers_tl_types as tl;

use crate::entities;
use crate::media::{self, ReceivedMedia};
use crate::peers::PeerLookup;

/// The user the Bot API puts in `from` for messages of anonymous group admins
/// (@GroupAnonymousBot), so handlers that expect `from` keep working.
pub const GROUP_ANONYMOUS_BOT_ID: i64 = 1_087_968_824;
/// The user the Bot API puts in `from` for messages sent on behalf of a channel (@Channel_Bot).
pub const CHANNEL_BOT_ID: i64 = 136_817_688;

fn service_user(id: i64, first_name: &str, username: &str) -> User {
    User {
        id,
        is_bot: true,
        first_name: first_name.into(),
        last_name: None,
        username: Some(username.into()),
        language_code: None,
        is_premium: None,
        can_join_groups: None,
        can_read_all_group_messages: None,
        supports_inline_queries: None,
        has_main_web_app: None,
    }
}

/// Converts one MTProto message. `None` for `messageEmpty` (deleted or inaccessible).
///
/// Sender rules follow the Bot API: a user sender fills `from`; a broadcast post has only
/// `sender_chat` (the channel); a message sent as a chat (anonymous admin, or a channel
/// writing in a group) has `sender_chat` plus the service user in `from`.
/// Service messages keep their id, date and chat with no text.
pub fn message(raw: &tl::enums::Message, peers: &PeerLookup) -> Option<Message> {
    match raw {
        tl::enums::Message::Empty(_) => None,
        tl::enums::Message::Service(m) => Some(Message::new(
            m.id,
            i64::from(m.date),
            peers.bot_api_chat(&m.peer_id),
        )),
        tl::enums::Message::Message(m) => Some(regular(m, peers)),
    }
}

fn regular(m: &tl::types::Message, peers: &PeerLookup) -> Message {
    let chat = peers.bot_api_chat(&m.peer_id);
    let mut out = Message::new(m.id, i64::from(m.date), chat.clone());
    let sender = m.from_id.clone().or_else(|| match &m.peer_id {
        // Private chats may omit from_id: the sender is the other user (or the account).
        tl::enums::Peer::User(_) if !m.out => Some(m.peer_id.clone()),
        _ => None,
    });
    match sender {
        Some(tl::enums::Peer::User(u)) => out.from = Some(peers.bot_api_user(u.user_id)),
        Some(peer) => {
            let sender_chat = peers.bot_api_chat(&peer);
            out.from = Some(if sender_chat.id == chat.id {
                service_user(GROUP_ANONYMOUS_BOT_ID, "Group", "GroupAnonymousBot")
            } else {
                service_user(CHANNEL_BOT_ID, "Channel", "Channel_Bot")
            });
            out.sender_chat = Some(sender_chat);
        }
        None if m.post => out.sender_chat = Some(chat.clone()),
        None => {}
    }
    out.edit_date = m.edit_date.map(i64::from);
    out.forward_origin = m.fwd_from.as_ref().and_then(|h| forward_origin(h, peers));
    out.media_group_id = m.grouped_id.map(|id| id.to_string());
    let media = media_of(m, chat.id);
    if let Some(media) = &media {
        media.apply_to(&mut out);
    } else if let Some(other) = &m.media {
        content::apply(other, &mut out);
    }
    out.reply_markup = m
        .reply_markup
        .as_ref()
        .and_then(crate::markup::inline_from_tl);
    if !m.message.is_empty() {
        let ents = entities::from_tl(m.entities.as_deref().unwrap_or_default());
        let ents = (!ents.is_empty()).then_some(ents);
        // A media message's text is its caption (Bot API "Message.caption").
        if media.is_some() {
            out.caption = Some(m.message.clone());
            out.caption_entities = ents;
        } else {
            out.text = Some(m.message.clone());
            out.entities = ents;
        }
    }
    out
}

/// The media of a message, with `file_id`s that remember the message (to refresh references).
pub fn media_of(m: &tl::types::Message, bot_api_chat_id: i64) -> Option<ReceivedMedia> {
    media::received(m.media.as_ref()?, Some((bot_api_chat_id, m.id)))
}

/// The replied-to message id of a raw message, if it replies within its chat.
pub fn reply_to_id(raw: &tl::enums::Message) -> Option<i32> {
    match raw {
        tl::enums::Message::Message(tl::types::Message {
            reply_to: Some(tl::enums::MessageReplyHeader::Header(h)),
            ..
        }) if h.reply_to_peer_id.is_none() => h.reply_to_msg_id,
        _ => None,
    }
}
