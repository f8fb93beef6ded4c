//! The bot's own methods through a raw grammers client: command lists per scope and language,
//! name and descriptions per language, markup edits; the account is refused each `bots.*`
//! method with `USER_BOT_REQUIRED`, as Telegram refuses a user.

use grammers_client::message::{Button, InputMessage, ReplyMarkup};
use grammers_client::session::types::{PeerAuth, PeerId, PeerRef};
use grammers_client::tl;
use testdc::{ChatRef, CommandScope, Fixture};

use crate::bots::both;
use crate::rpc_name;

fn command(name: &str, description: &str) -> tl::enums::BotCommand {
    tl::types::BotCommand {
        ephemeral: false,
        command: name.into(),
        description: description.into(),
    }
    .into()
}

fn set(
    scope: tl::enums::BotCommandScope,
    lang: &str,
    commands: Vec<tl::enums::BotCommand>,
) -> tl::functions::bots::SetBotCommands {
    tl::functions::bots::SetBotCommands {
        scope,
        lang_code: lang.into(),
        commands,
    }
}

fn get(scope: tl::enums::BotCommandScope, lang: &str) -> tl::functions::bots::GetBotCommands {
    tl::functions::bots::GetBotCommands {
        scope,
        lang_code: lang.into(),
    }
}

fn alice_ref(dc: &testdc::TestDc) -> PeerRef {
    let alice = Fixture::DEFAULT.alice;
    PeerRef {
        id: PeerId::user(alice).unwrap(),
        auth: PeerAuth::from_hash(dc.with_world(|w| w.access_hash(alice))),
    }
}

#[tokio::test]
async fn command_lists_are_kept_per_scope_and_language() {
    let b = both().await;
    let bot = &b.bot.0;
    use tl::enums::BotCommandScope as S;
    let start = vec![command("start", "Start over")];
    assert!(
        bot.invoke(&set(S::Users, "en", start.clone()))
            .await
            .unwrap()
    );
    assert_eq!(bot.invoke(&get(S::Users, "en")).await.unwrap(), start);
    assert!(bot.invoke(&get(S::Users, "de")).await.unwrap().is_empty());
    assert!(bot.invoke(&get(S::Default, "")).await.unwrap().is_empty());

    let alice: tl::enums::InputPeer = alice_ref(&b.dc).into();
    let peer = S::Peer(tl::types::BotCommandScopePeer {
        peer: alice.clone(),
    });
    let help = vec![command("help", "Help")];
    assert!(bot.invoke(&set(peer.clone(), "", help)).await.unwrap());
    let alice_id = Fixture::DEFAULT.alice;
    let stored = b.dc.with_world(|w| {
        w.bot_commands(
            Fixture::DEFAULT.bot,
            CommandScope::Peer(ChatRef::User(alice_id)),
            "",
        )
        .map(|c| c[0].command.clone())
    });
    assert_eq!(stored.as_deref(), Some("help"));
    // Admin scopes name groups, not private chats.
    let admins = S::PeerAdmins(tl::types::BotCommandScopePeerAdmins { peer: alice });
    let refused = bot.invoke(&set(admins, "", vec![command("a", "b")])).await;
    assert_eq!(rpc_name(refused), "PEER_ID_INVALID");

    let reset = tl::functions::bots::ResetBotCommands {
        scope: S::Users,
        lang_code: "en".into(),
    };
    assert!(bot.invoke(&reset).await.unwrap());
    assert!(bot.invoke(&get(S::Users, "en")).await.unwrap().is_empty());

    for (list, lang, error) in [
        (vec![command("Start", "x")], "", "BOT_COMMAND_INVALID"),
        (vec![command("/start", "x")], "", "BOT_COMMAND_INVALID"),
        (
            vec![command("start", "")],
            "",
            "BOT_COMMAND_DESCRIPTION_INVALID",
        ),
        (vec![command("start", "x")], "english", "LANG_CODE_INVALID"),
        (vec![command("a", "b"); 101], "", "BOT_COMMANDS_TOO_MUCH"),
    ] {
        let result = bot.invoke(&set(S::Default, lang, list)).await;
        assert_eq!(rpc_name(result), error);
    }
}

#[tokio::test]
async fn name_and_descriptions_are_kept_per_language() {
    let b = both().await;
    let bot = &b.bot.0;
    let info = |lang: &str| tl::functions::bots::GetBotInfo {
        bot: None,
        lang_code: lang.into(),
    };
    let tl::enums::bots::BotInfo::Info(default) = bot.invoke(&info("")).await.unwrap();
    assert_eq!(
        (default.name.as_str(), default.about.as_str()),
        ("Test Bot", "")
    );
    let set = |name: Option<&str>, about: Option<&str>| tl::functions::bots::SetBotInfo {
        bot: None,
        lang_code: "de".into(),
        name: name.map(Into::into),
        about: about.map(Into::into),
        description: None,
    };
    assert!(
        bot.invoke(&set(Some("Helfer"), Some("Hilft")))
            .await
            .unwrap()
    );
    // Fields not given keep their value.
    assert!(bot.invoke(&set(None, Some("Hilft gern"))).await.unwrap());
    let tl::enums::bots::BotInfo::Info(de) = bot.invoke(&info("de")).await.unwrap();
    assert_eq!(
        (de.name.as_str(), de.about.as_str(), de.description.as_str()),
        ("Helfer", "Hilft gern", "")
    );
    let long = "n".repeat(65);
    let refused = bot.invoke(&set(Some(&long), None)).await;
    assert_eq!(rpc_name(refused), "BOT_INFO_TOO_LONG");
    let other = tl::functions::bots::SetBotInfo {
        bot: Some(alice_ref(&b.dc).into()),
        ..set(Some("x"), None)
    };
    assert_eq!(rpc_name(bot.invoke(&other).await), "BOT_INVALID");
}

#[tokio::test]
async fn the_account_is_refused_every_bots_method() {
    let b = both().await;
    let account = &b.account.0;
    use tl::enums::BotCommandScope as S;
    let refusals = [
        rpc_name(account.invoke(&set(S::Default, "", vec![])).await),
        rpc_name(account.invoke(&get(S::Default, "")).await),
        rpc_name(
            account
                .invoke(&tl::functions::bots::GetBotInfo {
                    bot: None,
                    lang_code: String::new(),
                })
                .await,
        ),
    ];
    assert!(
        refusals.iter().all(|r| r == "USER_BOT_REQUIRED"),
        "{refusals:?}"
    );
}

#[tokio::test]
async fn the_bot_replaces_and_removes_the_keyboard_of_its_message() {
    let b = both().await;
    let bot = &b.bot.0;
    let peer = alice_ref(&b.dc);
    let first = ReplyMarkup::from_buttons(&[vec![Button::data("Vote", b"v".to_vec())]]);
    let sent = bot
        .send_message(peer, InputMessage::new().text("Poll").reply_markup(first))
        .await
        .unwrap();
    let chat = ChatRef::User(Fixture::DEFAULT.alice);
    let stored = || {
        b.dc.with_world(|w| w.reply_markup(chat, sent.id()).cloned())
    };
    let closed = ReplyMarkup::from_buttons(&[vec![Button::data("Closed", b"x".to_vec())]]);
    let edit = |markup: Option<tl::enums::ReplyMarkup>| tl::functions::messages::EditMessage {
        no_webpage: false,
        invert_media: false,
        peer: peer.into(),
        id: sent.id(),
        message: None,
        media: None,
        reply_markup: markup,
        entities: None,
        schedule_date: None,
        schedule_repeat_period: None,
        quick_reply_shortcut_id: None,
        rich_message: None,
    };
    bot.invoke(&edit(Some(closed.raw.clone()))).await.unwrap();
    assert_eq!(stored(), Some(closed.raw.clone()));
    let same = bot.invoke(&edit(Some(closed.raw))).await;
    assert_eq!(rpc_name(same), "MESSAGE_NOT_MODIFIED");
    // An edit without a markup removes the keyboard, as Telegram does for bots.
    bot.invoke(&edit(None)).await.unwrap();
    assert_eq!(stored(), None);

    // Media sends keep theirs too.
    let geo = tl::functions::messages::SendMedia {
        silent: false,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer: peer.into(),
        reply_to: None,
        media: tl::types::InputMediaGeoPoint {
            geo_point: tl::types::InputGeoPoint {
                lat: 52.5,
                long: 13.4,
                accuracy_radius: None,
            }
            .into(),
        }
        .into(),
        message: String::new(),
        random_id: 7,
        reply_markup: Some(
            ReplyMarkup::from_buttons(&[vec![Button::data("Go", b"g".to_vec())]]).raw,
        ),
        entities: None,
        schedule_date: None,
        schedule_repeat_period: None,
        send_as: None,
        quick_reply_shortcut: None,
        effect: None,
        allow_paid_stars: None,
        suggested_post: None,
    };
    bot.invoke(&geo).await.unwrap();
    let last = b.dc.with_world(|w| {
        w.find(chat, sent.id() + 1)
            .map(|m| w.reply_markup(chat, m.id).is_some())
    });
    assert_eq!(last, Some(true));
}
