//! The hermetic Telegram's state as one account sees it (testdc keeps a world per account): the
//! account, the users and chats it knows, every message and the pts journals that
//! `updates.getDifference` replays.
//!
//! Message ids and pts follow Telegram's two kinds of message box
//! (<https://core.telegram.org/api/updates>): private chats and basic groups share the
//! account's *common* box (one id sequence, one pts), while every supergroup and channel has a
//! box of its own with its own ids and pts.

pub(crate) mod auth;
pub mod bots;
mod boxes;
mod fixtures;
pub mod media;
pub mod media_kind;
mod peer_actions;
mod population;
mod resolve;
mod retention;
pub mod rpc;
pub mod tl_build;

use std::collections::BTreeMap;

use grammers_tl_types as tl;
use serde::Serialize;

pub use boxes::{JournalEntry, MessageBox};
pub use fixtures::{Fixture, clock_start};
pub use retention::{RecentIds, Retention};

/// A chat from the account's point of view, by MTProto bare id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ChatRef {
    /// The private chat with a user.
    User(i64),
    /// A basic group.
    Chat(i64),
    /// A supergroup or broadcast channel.
    Channel(i64),
}

impl ChatRef {
    /// The Bot API `chat_id`: users positive, basic groups `-id`, channels `-100…`
    /// (<https://core.telegram.org/bots/api#chat>).
    pub fn bot_api_id(self) -> i64 {
        match self {
            ChatRef::User(id) => id,
            ChatRef::Chat(id) => -id,
            ChatRef::Channel(id) => -1_000_000_000_000 - id,
        }
    }

    /// The inverse of [`ChatRef::bot_api_id`]; `None` for 0.
    pub fn from_bot_api_id(id: i64) -> Option<Self> {
        match id {
            0 => None,
            id if id > 0 => Some(ChatRef::User(id)),
            id if id < -1_000_000_000_000 => Some(ChatRef::Channel(-1_000_000_000_000 - id)),
            id => Some(ChatRef::Chat(-id)),
        }
    }
}

/// A user of the world (the account itself included).
#[derive(Clone, Debug, Serialize)]
pub struct UserRec {
    /// MTProto user id.
    pub id: i64,
    /// First name.
    pub first_name: String,
    /// Last name, if any.
    pub last_name: Option<String>,
    /// Username without `@`, if any.
    pub username: Option<String>,
    /// IETF language tag of the user's client.
    pub lang_code: Option<String>,
    /// Phone number in international format without `+`, as MTProto gives it.
    pub phone: Option<String>,
    /// Whether the user is a bot.
    pub bot: bool,
}

/// A basic group.
#[derive(Clone, Debug, Serialize)]
pub struct ChatRec {
    /// MTProto chat id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Member user ids (the account included).
    pub members: Vec<i64>,
    /// Whether the account created it (and may delete anyone's messages).
    pub creator: bool,
    /// Creation date, unix seconds.
    pub date: i32,
}

/// A supergroup (`megagroup`) or broadcast channel, with its own message box.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelRec {
    /// MTProto channel id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Public username, if any.
    pub username: Option<String>,
    /// Supergroup (`true`) or broadcast channel (`false`).
    pub megagroup: bool,
    /// Member user ids (the account included).
    pub members: Vec<i64>,
    /// Whether the account created it (and may post and delete).
    pub creator: bool,
    /// Creation date, unix seconds.
    pub date: i32,
    /// The channel's own message box.
    #[serde(skip)]
    pub messages: MessageBox,
}

/// A message as the server stores it, from the account's point of view.
#[derive(Clone, Debug, Serialize)]
pub struct StoredMessage {
    /// Message id within its box.
    pub id: i32,
    /// Chat it belongs to.
    pub chat: ChatRef,
    /// Sender: a user, or the chat itself for channel posts and anonymous admins, or `None`
    /// for a broadcast post.
    pub from: Option<ChatRef>,
    /// Sent by the account.
    pub out: bool,
    /// Unix seconds.
    pub date: i32,
    /// Text (UTF-8).
    pub text: String,
    /// Formatting entities (UTF-16 offsets), as sent.
    #[serde(skip)]
    pub entities: Vec<tl::enums::MessageEntity>,
    /// Id of the replied-to message in the same chat.
    pub reply_to: Option<i32>,
    /// Unix seconds of the last edit.
    pub edit_date: Option<i32>,
    /// A broadcast channel post.
    pub post: bool,
    /// Attached photo or document, or inline media (location, contact, poll, dice…).
    #[serde(skip)]
    pub media: Option<media::MediaRef>,
    /// Where a forwarded copy came from.
    #[serde(skip)]
    pub fwd_from: Option<tl::enums::MessageFwdHeader>,
    /// Pinned in its chat.
    pub pinned: bool,
    /// Reactions as `(emoji, count, chosen by the account)`.
    pub reactions: Vec<(String, i32, bool)>,
    /// Album id shared by the messages of one `messages.sendMultiMedia`.
    pub grouped_id: Option<i64>,
    /// Set for a service message (`messageService`): what it announces. Its `reply_to` is
    /// the message the action is about.
    pub action: Option<ServiceAction>,
}

/// The `MessageAction` of a service message testdc creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ServiceAction {
    /// `messageActionPinMessage`: the account pinned the message in `reply_to`.
    PinMessage,
}

/// Something that happened in the world, for tests and the control API to await.
#[derive(Clone, Debug)]
pub enum WorldEvent {
    /// The account sent a message (through an RPC).
    Outgoing(StoredMessage),
}

/// An MTProto RPC error: Telegram's numeric code and UPPER_SNAKE message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RpcError {
    /// 400, 401, 403, 420, 500, …
    pub code: i32,
    /// For example `PEER_ID_INVALID` or `FLOOD_WAIT_7`.
    pub message: String,
}

impl RpcError {
    /// A 400 error, the kind Telegram gives for bad input.
    pub fn bad(message: &str) -> Self {
        Self {
            code: 400,
            message: message.to_owned(),
        }
    }

    /// An error from its message alone, with the code Telegram uses for it
    /// (`FLOOD_WAIT_*` 420, `INTERNAL` 500, `AUTH_KEY_*` 401, `*_FORBIDDEN`/`*_REQUIRED` 403).
    pub fn from_message(message: &str) -> Self {
        let code = if message.starts_with("FLOOD_WAIT_")
            || message.starts_with("FLOOD_PREMIUM_WAIT_")
            || message.starts_with("SLOWMODE_WAIT_")
        {
            420
        } else if message == "INTERNAL" || message.contains("TIMEOUT") {
            500
        } else if message.starts_with("AUTH_KEY_")
            || message == "SESSION_REVOKED"
            || message == "USER_DEACTIVATED"
        {
            401
        } else if message.ends_with("_FORBIDDEN") || message.ends_with("_REQUIRED") {
            403
        } else if message.starts_with("PHONE_MIGRATE_") || message.starts_with("FILE_MIGRATE_") {
            303
        } else {
            400
        };
        Self {
            code,
            message: message.to_owned(),
        }
    }
}

/// What a stored message's TL form reads besides the message: the stored files (their
/// current file references) and the inline keyboards sent with messages.
pub(crate) struct TlView<'a> {
    media: &'a media::MediaStore,
    bots: &'a bots::Bots,
}

impl TlView<'_> {
    /// `m` as TL, its media built with the file's current reference.
    pub(crate) fn message(&self, m: &StoredMessage) -> tl::enums::Message {
        let media = match &m.media {
            Some(media::MediaRef::File { file_id }) => {
                self.media.files.get(file_id).map(|f| f.tl_media(2))
            }
            Some(media::MediaRef::Inline(media)) => Some((**media).clone()),
            None => None,
        };
        if let Some(action) = m.action {
            return tl_build::service_message(m, action);
        }
        let mut message = tl_build::message(m, media);
        if let (tl::enums::Message::Message(raw), Some(markup)) =
            (&mut message, self.bots.markup(m.chat, m.id))
        {
            raw.reply_markup = Some(markup.clone());
        }
        message
    }
}

/// The whole mutable state of one hosted account's universe (the test DC holds one per
/// account, sharing nothing between them).
#[derive(Debug)]
pub struct World {
    /// The account's user id.
    pub self_id: i64,
    /// Every user, the account included.
    pub users: BTreeMap<i64, UserRec>,
    /// Basic groups.
    pub chats: BTreeMap<i64, ChatRec>,
    /// Supergroups and channels.
    pub channels: BTreeMap<i64, ChannelRec>,
    /// The account's common message box (private chats and basic groups).
    pub common: MessageBox,
    /// Secondary (qts) sequence; unused by this slice but reported truthfully.
    pub qts: i32,
    /// Salt mixed into access hashes so they are unguessable per run.
    pub hash_salt: i64,
    /// `random_id`s already used by the account (Telegram refuses duplicates), the newest
    /// ones under a [`Retention`] limit.
    pub random_ids: RecentIds,
    /// What the world forgets as it grows (nothing by default).
    pub retention: Retention,
    /// Uploads and stored files.
    pub media: media::MediaStore,
    /// Which auth keys are signed in as whom, login codes, the 2FA password.
    pub(crate) auth: auth::Auth,
    /// Callback queries sent to bots and their answers; inline keyboards of sent messages.
    pub(crate) bots: bots::Bots,
}

/// Current unix time in seconds.
pub fn now() -> i32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i32)
        .unwrap_or(0)
}

impl World {
    /// The access hash the account must present for a user or channel
    /// (Telegram's hashes are per account; here per run through `hash_salt`).
    pub fn access_hash(&self, id: i64) -> i64 {
        // SplitMix64 finaliser: cheap, deterministic and well mixed.
        let mut z = (id as u64) ^ (self.hash_salt as u64);
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as i64
    }

    /// The TL user object for `id`, if it exists.
    pub fn tl_user(&self, id: i64) -> Option<tl::enums::User> {
        let u = self.users.get(&id)?;
        Some(tl_build::user(u, id == self.self_id, self.access_hash(id)))
    }

    /// A stored message as TL, its media built with the file's current reference.
    pub fn tl_message(&self, m: &StoredMessage) -> tl::enums::Message {
        self.tl_view().message(m)
    }

    fn tl_view(&self) -> TlView<'_> {
        TlView {
            media: &self.media,
            bots: &self.bots,
        }
    }

    /// The TL chat object (basic group or channel) for a non-user chat.
    pub fn tl_chat(&self, chat: ChatRef) -> Option<tl::enums::Chat> {
        match chat {
            ChatRef::User(_) => None,
            ChatRef::Chat(id) => self.chats.get(&id).map(tl_build::chat),
            ChatRef::Channel(id) => self
                .channels
                .get(&id)
                .map(|c| tl_build::channel(c, self.access_hash(id))),
        }
    }

    /// Users and chats referenced by `messages`, as Telegram attaches them to every result.
    pub fn peers_of<'a>(
        &self,
        messages: impl IntoIterator<Item = &'a StoredMessage>,
    ) -> (Vec<tl::enums::User>, Vec<tl::enums::Chat>) {
        let mut users = BTreeMap::new();
        let mut chats = BTreeMap::new();
        let mut add = |r: ChatRef| match r {
            ChatRef::User(id) => {
                if let Some(u) = self.tl_user(id) {
                    users.insert(id, u);
                }
            }
            other => {
                if let Some(c) = self.tl_chat(other) {
                    chats.insert(other, c);
                }
            }
        };
        for m in messages {
            add(m.chat);
            if let Some(from) = m.from {
                add(from);
            }
            if let Some(tl::enums::MessageFwdHeader::Header(h)) = &m.fwd_from
                && let Some(author) = &h.from_id
            {
                add(rpc::peer_ref(author));
            }
        }
        add(ChatRef::User(self.self_id));
        (users.into_values().collect(), chats.into_values().collect())
    }

    /// The message box that holds `chat`'s messages.
    pub fn box_of(&self, chat: ChatRef) -> Option<&MessageBox> {
        match chat {
            ChatRef::Channel(id) => self.channels.get(&id).map(|c| &c.messages),
            _ => Some(&self.common),
        }
    }

    /// Mutable access to the box that holds `chat`'s messages.
    pub fn box_of_mut(&mut self, chat: ChatRef) -> Option<&mut MessageBox> {
        match chat {
            ChatRef::Channel(id) => self.channels.get_mut(&id).map(|c| &mut c.messages),
            _ => Some(&mut self.common),
        }
    }

    /// `chat`'s box for a change, with what building its messages as TL reads (borrowed
    /// apart from the boxes). Errors: `CHANNEL_INVALID` for a channel the world does not have
    /// (private chats and basic groups share the common box, which always exists).
    pub(crate) fn box_for_write(
        &mut self,
        chat: ChatRef,
    ) -> Result<(&mut MessageBox, TlView<'_>), RpcError> {
        let World {
            channels,
            common,
            media,
            bots,
            ..
        } = self;
        let mbox = match chat {
            ChatRef::Channel(id) => match channels.get_mut(&id) {
                Some(channel) => &mut channel.messages,
                None => return Err(RpcError::bad("CHANNEL_INVALID")),
            },
            _ => common,
        };
        Ok((mbox, TlView { media, bots }))
    }

    /// Whether `chat` exists and the account is in it.
    pub fn chat_exists(&self, chat: ChatRef) -> bool {
        match chat {
            ChatRef::User(id) => self.users.contains_key(&id),
            ChatRef::Chat(id) => self.chats.contains_key(&id),
            ChatRef::Channel(id) => self.channels.contains_key(&id),
        }
    }

    /// A chat's messages, newest first, as the server holds them.
    pub fn history(&self, chat: ChatRef) -> Vec<StoredMessage> {
        self.box_of(chat)
            .map(|b| {
                b.messages
                    .values()
                    .rev()
                    .filter(|m| m.chat == chat)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stores a new message in its chat's box (which gives it its id), journals its
    /// `updateNew(Channel)Message` and returns it with the update to push; then forgets what
    /// [`World::retention`] does not keep of that box. Errors:
    /// `CHANNEL_INVALID` for a channel the world does not have.
    pub fn store_new(
        &mut self,
        message: StoredMessage,
    ) -> Result<(StoredMessage, tl::enums::Update), RpcError> {
        let retention = self.retention;
        let chat = message.chat;
        let (mbox, tl) = self.box_for_write(chat)?;
        let stored = mbox.store_new(message, &tl, retention);
        let forgotten = mbox.forget(chat, retention);
        if retention.messages_per_chat.is_some() {
            if let Some(file) = stored.0.media.as_ref().and_then(media::MediaRef::file_id) {
                self.media.hold(file);
            }
            for old in forgotten {
                if let Some(file) = old.media.as_ref().and_then(media::MediaRef::file_id) {
                    self.media.release(file);
                }
            }
        }
        Ok(stored)
    }

    /// Wraps updates in an `updates` constructor with the users and chats they mention.
    pub fn wrap_updates(
        &self,
        updates: Vec<tl::enums::Update>,
        mentioned: &[StoredMessage],
    ) -> tl::enums::Updates {
        let (users, chats) = self.peers_of(mentioned);
        tl::enums::Updates::Updates(tl::types::Updates {
            updates,
            users,
            chats,
            date: now(),
            seq: 0,
        })
    }
}
