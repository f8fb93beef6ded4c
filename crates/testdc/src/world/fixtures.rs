//! The default world every testdc starts with: an account, three users, a bot, a basic group, a
//! supergroup and a broadcast channel, each with a little history. Every further account
//! testdc hosts gets the same world around itself ([`World::for_account`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    ChannelRec, ChatRec, ChatRef, MessageBox, Retention, StoredMessage, TlView, UserRec, World, now,
};

/// Well-known ids of the default world, for tests and the control API.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Fixture {
    /// The account.
    pub self_id: i64,
    /// "Alice Smith" (@alice, en).
    pub alice: i64,
    /// "Bob" (@bob, de).
    pub bob: i64,
    /// "Carol Jones" (no username, es).
    pub carol: i64,
    /// Basic group "Test Group" (account, Alice, Bob).
    pub group: i64,
    /// Supergroup "Test Supergroup" (@testsupergroup).
    pub supergroup: i64,
    /// Broadcast channel "Test Channel" (@testchannel), which the account follows but may not post in.
    pub channel: i64,
    /// "Test Bot" (@testdc_bot), a bot the world knows; [`Fixture::BOT_TOKEN`] signs in as it.
    pub bot: i64,
}

impl Fixture {
    /// The ids testdc uses unless told otherwise.
    pub const DEFAULT: Fixture = Fixture {
        self_id: 100_000_001,
        alice: 200_000_001,
        bob: 200_000_002,
        carol: 200_000_003,
        group: 300_000_001,
        supergroup: 1_400_000_001,
        channel: 1_500_000_001,
        bot: 700_000_001,
    };

    /// The account's phone number in international format.
    pub const PHONE: &'static str = "+10000000000";

    /// The bot's token for `auth.importBotAuthorization`: `<bot id>:<BOT_TOKEN_SECRET>`.
    pub const BOT_TOKEN: &'static str = "700000001:testdc-bot-token";

    /// The part of every bot token after `<bot id>:`.
    pub const BOT_TOKEN_SECRET: &'static str = "testdc-bot-token";

    /// The hint `account.getPassword` shows once `TestDc::set_password` turned 2FA on.
    pub const PASSWORD_HINT: &'static str = "testdc hint";
}

fn user(id: i64, first: &str, last: Option<&str>, username: Option<&str>, lang: &str) -> UserRec {
    UserRec {
        id,
        first_name: first.into(),
        last_name: last.map(Into::into),
        username: username.map(Into::into),
        lang_code: Some(lang.into()),
        phone: None,
        bot: false,
    }
}

/// A counter start that grows with the clock: 4 per second since 2023-11-14 (unix
/// 1,700,000,000), so a testdc started later hands out pts and ids above those of any earlier
/// run that made fewer than 4 changes per second on average. Fits an `i32` until about 2040.
pub fn clock_start() -> i32 {
    let seconds = i64::from(now()) - 1_700_000_000;
    i32::try_from(seconds.max(0) * 4).unwrap_or(i32::MAX / 2)
}

impl World {
    /// Builds the default world with `hash_salt` mixed into access hashes.
    pub fn new(hash_salt: i64) -> Self {
        Self::with_counters_from(hash_salt, 0)
    }

    /// [`World::new`] with every pts, the qts and every message-id counter starting at
    /// `start` (the common box and each channel's box), as if that many changes had happened.
    pub fn with_counters_from(hash_salt: i64, start: i32) -> Self {
        let f = Fixture::DEFAULT;
        let mut me = user(
            f.self_id,
            "Test",
            Some("Account"),
            Some("testaccount"),
            "en",
        );
        me.phone = Some(Fixture::PHONE.trim_start_matches('+').into());
        Self::for_account(hash_salt, start, me)
    }

    /// The default world as seen by the account `me` instead of the fixture's: the same users,
    /// bot, groups and channels with the same ids and history, `me` in place of
    /// [`Fixture::self_id`] (as [`World::self_id`] and in every membership). Counters start at
    /// `start`, as in [`World::with_counters_from`]. This is how each account testdc hosts gets
    /// a universe of its own.
    pub fn for_account(hash_salt: i64, start: i32, me: UserRec) -> Self {
        let started = MessageBox {
            pts: start,
            last_id: start,
            ..MessageBox::default()
        };
        let f = Fixture {
            self_id: me.id,
            ..Fixture::DEFAULT
        };
        let date = now() - 86_400;
        let users = [
            me,
            user(f.alice, "Alice", Some("Smith"), Some("alice"), "en"),
            user(f.bob, "Bob", None, Some("bob"), "de"),
            user(f.carol, "Carol", Some("Jones"), None, "es"),
            UserRec {
                bot: true,
                ..user(f.bot, "Test Bot", None, Some("testdc_bot"), "en")
            },
        ]
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
        let chats = BTreeMap::from([(
            f.group,
            ChatRec {
                id: f.group,
                title: "Test Group".into(),
                members: vec![f.self_id, f.alice, f.bob],
                creator: true,
                date,
            },
        )]);
        let channel = |id, title: &str, username: &str, megagroup, members| ChannelRec {
            id,
            title: title.into(),
            username: Some(username.into()),
            megagroup,
            members,
            creator: false,
            date,
            messages: started.clone(),
        };
        let channels = BTreeMap::from([
            (
                f.supergroup,
                channel(
                    f.supergroup,
                    "Test Supergroup",
                    "testsupergroup",
                    true,
                    vec![f.self_id, f.alice, f.bob, f.carol],
                ),
            ),
            (
                f.channel,
                channel(
                    f.channel,
                    "Test Channel",
                    "testchannel",
                    false,
                    vec![f.self_id, f.alice],
                ),
            ),
        ]);
        let mut world = World {
            self_id: f.self_id,
            users,
            chats,
            channels,
            common: started.clone(),
            qts: start,
            hash_salt,
            random_ids: Default::default(),
            retention: Default::default(),
            media: Default::default(),
            auth: Default::default(),
            bots: Default::default(),
        };
        world.seed_history(date);
        world
    }

    /// One earlier message per chat, so history and dialogs are never empty.
    fn seed_history(&mut self, date: i32) {
        let f = Fixture::DEFAULT;
        let seed = |chat, from: Option<ChatRef>, text: &str| StoredMessage {
            id: 0,
            chat,
            from,
            out: false,
            date,
            text: text.into(),
            entities: Vec::new(),
            reply_to: None,
            edit_date: None,
            post: from.is_none(),
            media: None,
            fwd_from: None,
            pinned: false,
            reactions: Vec::new(),
            grouped_id: None,
            action: None,
        };
        let in_common = [
            (
                ChatRef::User(f.alice),
                Some(ChatRef::User(f.alice)),
                "Hi! Long time no see.",
            ),
            (ChatRef::User(f.bob), Some(ChatRef::User(f.bob)), "Hallo!"),
            (
                ChatRef::Chat(f.group),
                Some(ChatRef::User(f.bob)),
                "Welcome to the group",
            ),
        ];
        let World {
            common,
            channels,
            media,
            bots,
            ..
        } = self;
        let tl = TlView { media, bots };
        for (chat, from, text) in in_common {
            common.store_new(seed(chat, from, text), &tl, Retention::default());
        }
        // Each fixture channel has a box of its own; only those it has are seeded.
        for channel in channels.values_mut() {
            let (from, text) = match channel.id {
                id if id == f.supergroup => (Some(ChatRef::User(f.carol)), "Hola a todos"),
                id if id == f.channel => (None, "First post"),
                _ => continue,
            };
            let message = seed(ChatRef::Channel(channel.id), from, text);
            channel
                .messages
                .store_new(message, &tl, Retention::default());
        }
    }
}
