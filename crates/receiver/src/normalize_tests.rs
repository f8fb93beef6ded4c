//! Kinds, filters, natural keys and both body formats.

use botapi::types::{Chat, ChatType, Message, User};
use telegram::{DeletedMessages, Event, IncomingMessage};

use super::*;

fn incoming(chat: Chat, outgoing: bool) -> IncomingMessage {
    let mut message = Message::new(9, 1_672_574_400, chat);
    message.from = Some(User::new(200_000_001, "Alice"));
    message.text = Some("hi".into());
    IncomingMessage {
        message,
        outgoing,
        sender_phone: None,
        media: None,
    }
}

fn private() -> Chat {
    Chat::new(200_000_001, ChatType::Private)
}

#[test]
fn channel_posts_and_edits_get_their_own_kinds() {
    let n = Normalizer::default();
    let channel = Chat::new(-1_001_400_000_002, ChatType::Channel);
    let post = n.row(&Event::NewMessage(incoming(channel.clone(), false)));
    assert_eq!(post.expect("row").kind, "channel_post");
    let mut edited = incoming(channel, false);
    edited.message.edit_date = Some(1_672_574_500);
    let row = n.row(&Event::EditedMessage(edited)).expect("row");
    assert_eq!(row.kind, "edited_channel_post");
    assert!(
        row.natural_key
            .starts_with("edit:-1001400000002:9:1672574500:")
    );
    assert_eq!(
        row.body["message"]["edit_date"],
        "2023-01-01T12:01:40+00:00"
    );
}

#[test]
fn filters_drop_outgoing_ignored_and_unlisted_updates() {
    let mut n = Normalizer::default();
    assert!(
        n.row(&Event::NewMessage(incoming(private(), true)))
            .is_none()
    );
    n.forward_outgoing = true;
    assert!(
        n.row(&Event::NewMessage(incoming(private(), true)))
            .is_some()
    );
    n.ignored_chats = vec![200_000_001];
    assert!(
        n.row(&Event::NewMessage(incoming(private(), false)))
            .is_none()
    );
    n.ignored_chats.clear();
    n.allowed_chats = vec![5];
    assert!(
        n.row(&Event::NewMessage(incoming(private(), false)))
            .is_none()
    );
    n.allowed_chats.clear();
    n.allowed_kinds = vec![UpdateKind::EditedMessage];
    assert!(
        n.row(&Event::NewMessage(incoming(private(), false)))
            .is_none()
    );
}

#[test]
fn bot_api_format_is_a_bot_api_update() {
    let n = Normalizer {
        format: WebhookFormat::BotApi,
        account_id: None,
        ..Normalizer::default()
    };
    let row = n
        .row(&Event::NewMessage(incoming(private(), false)))
        .expect("row");
    assert_eq!(row.natural_key, "new:200000001:9");
    assert_eq!(row.body["message"]["text"], "hi");
    assert_eq!(row.body["message"]["date"], 1_672_574_400);
    let deleted = Event::Deleted(DeletedMessages {
        chat_id: None,
        message_ids: vec![1, 2],
    });
    let row = n.row(&deleted).expect("row");
    assert_eq!((row.kind, row.chat_id), ("deleted_messages", 0));
    assert_eq!(row.body["deleted_messages"]["message_ids"][1], 2);
}

#[test]
fn legacy_format_keeps_the_old_keys_and_adds_the_event() {
    let n = Normalizer {
        account_phone: Some("+10000000000".into()),
        ..Normalizer::default()
    };
    let row = n
        .row(&Event::NewMessage(incoming(private(), false)))
        .expect("row");
    assert_eq!(row.body["event"], "message");
    assert_eq!(row.body["account_phone_number"], "+10000000000");
    assert_eq!(row.body["message"]["date"], "2023-01-01T12:00:00+00:00");
    assert_eq!(row.body["message"]["from"]["first_name"], "Alice");
    assert!(row.downloads.is_empty());
}

#[test]
fn media_without_caption_has_empty_text_only_in_the_legacy_format() {
    let mut dice = incoming(private(), false);
    dice.message.text = None;
    dice.message.dice = Some(botapi::types::Dice {
        emoji: "🎲".into(),
        value: 4,
    });
    let event = Event::NewMessage(dice);
    let legacy = Normalizer::default().row(&event).expect("row");
    assert_eq!(legacy.body["message"]["text"], "");
    let bot_api = Normalizer {
        format: WebhookFormat::BotApi,
        account_id: None,
        ..Normalizer::default()
    };
    let row = bot_api.row(&event).expect("row");
    assert!(row.body["message"].get("text").is_none(), "{}", row.body);
    assert_eq!(row.body["message"]["date"], 1_672_574_400);
}
