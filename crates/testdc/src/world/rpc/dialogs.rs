//! `messages.getDialogs`: the account's chats ordered by their newest message.

use grammers_tl_types::{self as tl, functions as f};

use crate::world::{ChatRef, StoredMessage, World, tl_build};

impl World {
    /// Every chat the account has, newest activity first, each with its top message.
    fn dialog_list(&self) -> Vec<(ChatRef, StoredMessage)> {
        let private = self
            .users
            .keys()
            .filter(|&&id| id != self.self_id)
            .map(|&id| ChatRef::User(id));
        let groups = self.chats.keys().map(|&id| ChatRef::Chat(id));
        let channels = self.channels.keys().map(|&id| ChatRef::Channel(id));
        let mut list: Vec<(ChatRef, StoredMessage)> = private
            .chain(groups)
            .chain(channels)
            .filter_map(|chat| Some((chat, self.history(chat).into_iter().next()?)))
            .collect();
        list.sort_by_key(|(chat, top)| std::cmp::Reverse((top.date, top.id, *chat)));
        list
    }

    /// `messages.getDialogs`, paginated by `offset_peer` (the last dialog of the previous page,
    /// which is what grammers' `iter_dialogs` sends) or, failing that, by `offset_date`.
    pub(super) fn get_dialogs(
        &self,
        req: &f::messages::GetDialogs,
    ) -> tl::enums::messages::Dialogs {
        let all = self.dialog_list();
        let after_peer = self.resolve_peer(&req.offset_peer).ok().and_then(|offset| {
            all.iter()
                .position(|(chat, _)| *chat == offset)
                .map(|i| i + 1)
        });
        let start = after_peer.unwrap_or_else(|| {
            all.iter()
                .position(|(_, m)| req.offset_date <= 0 || m.date < req.offset_date)
                .unwrap_or(all.len())
        });
        let limit = req.limit.clamp(1, 100) as usize;
        let page = &all[start..(start + limit).min(all.len())];
        let dialogs = page
            .iter()
            .map(|(chat, top)| {
                tl::enums::Dialog::Dialog(tl::types::Dialog {
                    pinned: false,
                    unread_mark: false,
                    view_forum_as_messages: false,
                    peer: tl_build::peer(*chat),
                    top_message: top.id,
                    read_inbox_max_id: top.id,
                    read_outbox_max_id: top.id,
                    unread_count: 0,
                    unread_mentions_count: 0,
                    unread_reactions_count: 0,
                    unread_poll_votes_count: 0,
                    notify_settings: tl::enums::PeerNotifySettings::Settings(
                        tl::types::PeerNotifySettings {
                            show_previews: None,
                            silent: None,
                            mute_until: None,
                            ios_sound: None,
                            android_sound: None,
                            other_sound: None,
                            stories_muted: None,
                            stories_hide_sender: None,
                            stories_ios_sound: None,
                            stories_android_sound: None,
                            stories_other_sound: None,
                        },
                    ),
                    pts: match chat {
                        ChatRef::Channel(id) => Some(self.channels[id].messages.pts),
                        _ => None,
                    },
                    draft: None,
                    folder_id: None,
                    ttl_period: None,
                })
            })
            .collect();
        let tops: Vec<StoredMessage> = page.iter().map(|(_, m)| m.clone()).collect();
        let (users, mut chats) = self.peers_of(&tops);
        // Private dialogs need their user even when the top message is the account's own.
        let mut users = users;
        for (chat, _) in page {
            if let ChatRef::User(id) = chat
                && let Some(u) = self.tl_user(*id)
                && !users
                    .iter()
                    .any(|x| matches!(x, tl::enums::User::User(x) if x.id == *id))
            {
                users.push(u);
            }
            if !matches!(chat, ChatRef::User(_))
                && let Some(c) = self.tl_chat(*chat)
                && !chats.contains(&c)
            {
                chats.push(c);
            }
        }
        let messages = tops.iter().map(|m| self.tl_message(m)).collect();
        if start == 0 && page.len() == all.len() {
            tl::enums::messages::Dialogs::Dialogs(tl::types::messages::Dialogs {
                dialogs,
                messages,
                chats,
                users,
            })
        } else {
            tl::enums::messages::Dialogs::Slice(tl::types::messages::DialogsSlice {
                count: all.len() as i32,
                dialogs,
                messages,
                chats,
                users,
            })
        }
    }
}
