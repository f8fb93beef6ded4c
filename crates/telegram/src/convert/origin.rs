//! A forwarded message's MTProto `messageFwdHeader` → Bot API `forward_origin`
//! (<https://core.telegram.org/bots/api#messageorigin>).

use botapi::types::{ChatType, MessageOrigin};
use grammers_tl_types as tl;

use crate::peers::PeerLookup;

/// The Bot API origin of a forward header: a user, a hidden user (only a name), a channel post
/// (channel + post id), or a chat (anonymous admin, channel writing in a group). `None` for a
/// header with neither author nor name (e.g. imported history).
pub fn forward_origin(
    header: &tl::enums::MessageFwdHeader,
    peers: &PeerLookup,
) -> Option<MessageOrigin> {
    let tl::enums::MessageFwdHeader::Header(h) = header;
    let date = i64::from(h.date);
    let author_signature = h.post_author.clone();
    match &h.from_id {
        Some(tl::enums::Peer::User(u)) => Some(MessageOrigin::User {
            date,
            sender_user: peers.bot_api_user(u.user_id),
        }),
        Some(peer) => {
            let chat = peers.bot_api_chat(peer);
            match (chat.kind, h.channel_post) {
                (ChatType::Channel, Some(message_id)) => Some(MessageOrigin::Channel {
                    date,
                    chat,
                    message_id,
                    author_signature,
                }),
                _ => Some(MessageOrigin::Chat {
                    date,
                    sender_chat: chat,
                    author_signature,
                }),
            }
        }
        None => h
            .from_name
            .clone()
            .map(|sender_user_name| MessageOrigin::HiddenUser {
                date,
                sender_user_name,
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(
        from_id: Option<tl::enums::Peer>,
        from_name: Option<&str>,
    ) -> tl::enums::MessageFwdHeader {
        tl::enums::MessageFwdHeader::Header(tl::types::MessageFwdHeader {
            imported: false,
            saved_out: false,
            from_id,
            from_name: from_name.map(Into::into),
            date: 1_700_000_000,
            channel_post: Some(9),
            post_author: Some("Ed".into()),
            saved_from_peer: None,
            saved_from_msg_id: None,
            saved_from_id: None,
            saved_from_name: None,
            saved_date: None,
            psa_type: None,
        })
    }

    #[test]
    fn users_hidden_users_and_channels_map_to_their_origin_types() {
        let peers = PeerLookup::default();
        let user = tl::enums::Peer::User(tl::types::PeerUser { user_id: 7 });
        let Some(MessageOrigin::User { date, sender_user }) =
            forward_origin(&header(Some(user), None), &peers)
        else {
            panic!("not a user origin");
        };
        assert_eq!((date, sender_user.id), (1_700_000_000, 7));
        assert_eq!(
            forward_origin(&header(None, Some("Anon")), &peers),
            Some(MessageOrigin::HiddenUser {
                date: 1_700_000_000,
                sender_user_name: "Anon".into()
            })
        );
        let channel = tl::enums::Peer::Channel(tl::types::PeerChannel { channel_id: 5 });
        let Some(MessageOrigin::Channel {
            message_id,
            author_signature,
            chat,
            ..
        }) = forward_origin(&header(Some(channel), None), &peers)
        else {
            panic!("not a channel origin");
        };
        assert_eq!((message_id, author_signature.as_deref()), (9, Some("Ed")));
        assert_eq!(chat.id, -1_000_000_000_005);
        assert_eq!(forward_origin(&header(None, None), &peers), None);
    }
}
