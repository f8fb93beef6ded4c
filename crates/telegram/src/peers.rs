//! The users and chats that come with every MTProto result, looked up by id, and their Bot API
//! shapes (<https://core.telegram.org/bots/api#user>, `#chat`).

use std::collections::HashMap;

use botapi::types::{Chat, ChatType, User};
use grammers_session::types::PeerId;
use grammers_tl_types as tl;

/// Users and chats by bare id, from one result.
#[derive(Default, Clone, Debug)]
pub struct PeerLookup {
    users: HashMap<i64, tl::types::User>,
    chats: HashMap<i64, tl::enums::Chat>,
}

fn chat_bare_id(chat: &tl::enums::Chat) -> i64 {
    use tl::enums::Chat as C;
    match chat {
        C::Empty(c) => c.id,
        C::Chat(c) => c.id,
        C::Forbidden(c) => c.id,
        C::Channel(c) => c.id,
        C::ChannelForbidden(c) => c.id,
        C::CommunityForbidden(c) => c.id,
        C::Community(c) => c.id,
    }
}

impl PeerLookup {
    /// Indexes the `users` and `chats` vectors of a result.
    pub fn new(users: &[tl::enums::User], chats: &[tl::enums::Chat]) -> Self {
        let mut lookup = Self::default();
        lookup.extend(users, chats);
        lookup
    }

    /// Adds more users and chats (later entries win).
    pub fn extend(&mut self, users: &[tl::enums::User], chats: &[tl::enums::Chat]) {
        for u in users {
            if let tl::enums::User::User(u) = u {
                self.users.insert(u.id, u.clone());
            }
        }
        for c in chats {
            self.chats.insert(chat_bare_id(c), c.clone());
        }
    }

    /// The raw user, if present.
    pub fn user(&self, id: i64) -> Option<&tl::types::User> {
        self.users.get(&id)
    }

    /// The Bot API `User` for a user id (a placeholder name when the user is unknown, as
    /// Telegram shows "Deleted Account").
    pub fn bot_api_user(&self, id: i64) -> User {
        match self.users.get(&id) {
            Some(u) => user_from_tl(u),
            None => User {
                id,
                is_bot: false,
                first_name: "Deleted Account".into(),
                last_name: None,
                username: None,
                language_code: None,
                is_premium: None,
                can_join_groups: None,
                can_read_all_group_messages: None,
                supports_inline_queries: None,
                has_main_web_app: None,
            },
        }
    }

    /// The Bot API `Chat` for a peer.
    pub fn bot_api_chat(&self, peer: &tl::enums::Peer) -> Chat {
        let id = PeerId::from(peer).bot_api_dialog_id_unchecked();
        match peer {
            tl::enums::Peer::User(p) => {
                let mut chat = Chat::new(id, ChatType::Private);
                if let Some(u) = self.users.get(&p.user_id) {
                    chat.first_name = Some(u.first_name.clone().unwrap_or_default());
                    chat.last_name = u.last_name.clone();
                    chat.username = u.username.clone();
                }
                chat
            }
            tl::enums::Peer::Chat(p) => {
                let mut chat = Chat::new(id, ChatType::Group);
                if let Some(tl::enums::Chat::Chat(c)) = self.chats.get(&p.chat_id) {
                    chat.title = Some(c.title.clone());
                }
                chat
            }
            tl::enums::Peer::Channel(p) => match self.chats.get(&p.channel_id) {
                Some(tl::enums::Chat::Channel(c)) => {
                    let kind = if c.megagroup || c.gigagroup {
                        ChatType::Supergroup
                    } else {
                        ChatType::Channel
                    };
                    let mut chat = Chat::new(id, kind);
                    chat.title = Some(c.title.clone());
                    chat.username = c.username.clone();
                    chat.is_forum = c.forum.then_some(true);
                    chat
                }
                _ => Chat::new(id, ChatType::Channel),
            },
        }
    }
}

/// The Bot API `User` for a raw MTProto user.
pub fn user_from_tl(u: &tl::types::User) -> User {
    User {
        id: u.id,
        is_bot: u.bot,
        first_name: u.first_name.clone().unwrap_or_default(),
        last_name: u.last_name.clone(),
        username: u.username.clone(),
        language_code: u.lang_code.clone(),
        is_premium: u.premium.then_some(true),
        can_join_groups: None,
        can_read_all_group_messages: None,
        supports_inline_queries: None,
        has_main_web_app: None,
    }
}
