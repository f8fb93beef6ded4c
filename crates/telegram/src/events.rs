//! The updates the receiver forwards, in Bot API terms: new and edited messages (channel posts
//! included), deletions, reaction counts and callback queries, converted from grammers' raw
//! updates and the users/chats that came with them.

use base64::Engine as _;
use botapi::types::{Chat, Message, ReactionType, User};
use grammers_tl_types as tl;

use crate::peers::PeerLookup;

/// A new or edited message as the receiver handles it.
#[derive(Clone, Debug)]
pub struct IncomingMessage {
    /// The message in Bot API shape (`reply_to_message` filled when it is a reply).
    pub message: Message,
    /// Sent by this account (from another session or device).
    pub outgoing: bool,
    /// The sender's phone number in international format, when Telegram shares it
    /// (contacts only).
    pub sender_phone: Option<String>,
    /// The message's photo or file, to download (also shown in Bot API shape on `message`).
    pub media: Option<crate::media::ReceivedMedia>,
}

/// Messages deleted for everyone (`updateDeleteMessages` / `updateDeleteChannelMessages`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedMessages {
    /// Bot API id of the supergroup or channel; `None` for private chats and basic groups,
    /// where Telegram does not say which chat the ids belong to (their ids are unique per
    /// account).
    pub chat_id: Option<i64>,
    /// The deleted message ids.
    pub message_ids: Vec<i32>,
}

/// The new reaction counts of one message (`updateMessageReactions`), as the Bot API's
/// `message_reaction_count` update describes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactionCounts {
    /// The chat of the message.
    pub chat: Chat,
    /// The message.
    pub message_id: i32,
    /// Every reaction on the message and how many chose it (empty when all were removed).
    pub reactions: Vec<(ReactionType, i32)>,
}

/// A press on an inline button of a message sent by this account as a bot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackQueryEvent {
    /// Unique query id (the Bot API sends it as a string).
    pub id: i64,
    /// Who pressed the button.
    pub from: User,
    /// The chat of the message with the button; `None` for inline messages.
    pub chat: Option<Chat>,
    /// The message with the button; `None` for inline messages.
    pub message_id: Option<i32>,
    /// Identifier of an inline message (base64 of Telegram's `InputBotInlineMessageID`).
    pub inline_message_id: Option<String>,
    /// Global identifier of the chat the button was pressed in.
    pub chat_instance: i64,
    /// The button's `callback_data` (lossy UTF-8).
    pub data: Option<String>,
    /// Short name of a game, for game buttons.
    pub game_short_name: Option<String>,
}

/// One update the receiver forwards.
#[derive(Clone, Debug)]
pub enum Event {
    /// A new message, or a post in a broadcast channel.
    NewMessage(IncomingMessage),
    /// A message or channel post was edited (`message.edit_date` is set).
    EditedMessage(IncomingMessage),
    /// Messages were deleted.
    Deleted(DeletedMessages),
    /// Reactions on a message changed.
    Reactions(ReactionCounts),
    /// An inline button was pressed (bots only).
    CallbackQuery(CallbackQueryEvent),
}

/// `updateDeleteMessages` / `updateDeleteChannelMessages` → [`DeletedMessages`].
pub(crate) fn deleted(raw: &tl::enums::Update) -> Option<DeletedMessages> {
    match raw {
        tl::enums::Update::DeleteMessages(u) => Some(DeletedMessages {
            chat_id: None,
            message_ids: u.messages.clone(),
        }),
        tl::enums::Update::DeleteChannelMessages(u) => Some(DeletedMessages {
            chat_id: Some(channel_chat_id(u.channel_id)),
            message_ids: u.messages.clone(),
        }),
        _ => None,
    }
}

/// The Bot API id (`-100…`) of a channel's bare id.
fn channel_chat_id(channel_id: i64) -> i64 {
    -1_000_000_000_000 - channel_id
}

/// `updateMessageReactions` → [`ReactionCounts`].
pub(crate) fn reactions(raw: &tl::enums::Update, peers: &PeerLookup) -> Option<ReactionCounts> {
    let tl::enums::Update::MessageReactions(u) = raw else {
        return None;
    };
    let tl::enums::MessageReactions::Reactions(r) = &u.reactions;
    let reactions = r
        .results
        .iter()
        .filter_map(|tl::enums::ReactionCount::Count(c)| {
            Some((reaction_type(&c.reaction)?, c.count))
        })
        .collect();
    Some(ReactionCounts {
        chat: peers.bot_api_chat(&u.peer),
        message_id: u.msg_id,
        reactions,
    })
}

fn reaction_type(r: &tl::enums::Reaction) -> Option<ReactionType> {
    match r {
        tl::enums::Reaction::Emoji(e) => Some(ReactionType::Emoji {
            emoji: e.emoticon.clone(),
        }),
        tl::enums::Reaction::CustomEmoji(c) => Some(ReactionType::CustomEmoji {
            custom_emoji_id: c.document_id.to_string(),
        }),
        tl::enums::Reaction::Paid => Some(ReactionType::Paid),
        tl::enums::Reaction::Empty => None,
    }
}

/// `updateBotCallbackQuery` / `updateInlineBotCallbackQuery` → [`CallbackQueryEvent`].
pub(crate) fn callback_query(
    raw: &tl::enums::Update,
    peers: &PeerLookup,
) -> Option<CallbackQueryEvent> {
    let data = |d: &Option<Vec<u8>>| d.as_ref().map(|d| String::from_utf8_lossy(d).into_owned());
    match raw {
        tl::enums::Update::BotCallbackQuery(u) => Some(CallbackQueryEvent {
            id: u.query_id,
            from: peers.bot_api_user(u.user_id),
            chat: Some(peers.bot_api_chat(&u.peer)),
            message_id: Some(u.msg_id),
            inline_message_id: None,
            chat_instance: u.chat_instance,
            data: data(&u.data),
            game_short_name: u.game_short_name.clone(),
        }),
        tl::enums::Update::InlineBotCallbackQuery(u) => Some(CallbackQueryEvent {
            id: u.query_id,
            from: peers.bot_api_user(u.user_id),
            chat: None,
            message_id: None,
            inline_message_id: Some(inline_message_id(&u.msg_id)),
            chat_instance: u.chat_instance,
            data: data(&u.data),
            game_short_name: u.game_short_name.clone(),
        }),
        _ => None,
    }
}

/// The Bot API's `inline_message_id`: URL-safe base64 of the serialized TL object.
fn inline_message_id(id: &tl::enums::InputBotInlineMessageId) -> String {
    use tl::Serializable as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_deletions_name_the_channel_and_others_do_not() {
        let channel =
            tl::enums::Update::DeleteChannelMessages(tl::types::UpdateDeleteChannelMessages {
                channel_id: 1_400_000_001,
                messages: vec![3, 4],
                pts: 9,
                pts_count: 2,
            });
        assert_eq!(
            deleted(&channel),
            Some(DeletedMessages {
                chat_id: Some(-1_001_400_000_001),
                message_ids: vec![3, 4]
            })
        );
        let common = tl::enums::Update::DeleteMessages(tl::types::UpdateDeleteMessages {
            messages: vec![7],
            pts: 3,
            pts_count: 1,
        });
        assert_eq!(deleted(&common).and_then(|d| d.chat_id), None);
    }

    #[test]
    fn reaction_counts_keep_emoji_and_skip_empty() {
        let update = tl::enums::Update::MessageReactions(tl::types::UpdateMessageReactions {
            peer: tl::types::PeerUser { user_id: 5 }.into(),
            msg_id: 12,
            top_msg_id: None,
            saved_peer_id: None,
            reactions: tl::types::MessageReactions {
                min: false,
                can_see_list: false,
                reactions_as_tags: false,
                results: vec![
                    tl::types::ReactionCount {
                        chosen_order: None,
                        reaction: tl::types::ReactionEmoji {
                            emoticon: "👍".into(),
                        }
                        .into(),
                        count: 2,
                    }
                    .into(),
                    tl::types::ReactionCount {
                        chosen_order: None,
                        reaction: tl::enums::Reaction::Empty,
                        count: 1,
                    }
                    .into(),
                ],
                recent_reactions: None,
                top_reactors: None,
            }
            .into(),
        });
        let counts = reactions(&update, &PeerLookup::default()).expect("reactions");
        assert_eq!(counts.chat.id, 5);
        assert_eq!(counts.message_id, 12);
        assert_eq!(
            counts.reactions,
            vec![(
                ReactionType::Emoji {
                    emoji: "👍".into()
                },
                2
            )]
        );
    }
}
