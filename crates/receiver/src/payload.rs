//! `telegram::IncomingMessage` → the legacy webhook payload ([`WebhookPayload`]) and the
//! one-line human summary printed on stdout.
//!
//! The values follow the Python service the legacy format comes from (issue #14): names in the
//! payload are first names (`from.first_name`, `reply_to_message.sender_name`), a chat's
//! title for chat senders; `text` is `""` for media without caption ([`legacy_text`]). The
//! `bot_api` format does not come through here and keeps the Bot API's own values.

use botapi::payload::{PayloadChat, PayloadMessage, PayloadReply, PayloadSender, WebhookPayload};
use botapi::types::{Chat, ChatType, Message, User};
use telegram::IncomingMessage;

/// Builds the payload for one incoming message.
///
/// `account_phone` becomes `account_phone_number`. The sender is the user in `from`, or — for
/// channel posts, anonymous group admins and channels writing in groups (`sender_chat` set) —
/// that chat as a pseudo-sender (`id` = its Bot API id, `first_name` = its title, or the other
/// party's first name for a private chat).
pub fn webhook_payload(incoming: &IncomingMessage, account_phone: Option<&str>) -> WebhookPayload {
    let message = &incoming.message;
    WebhookPayload {
        account_phone_number: account_phone.map(str::to_owned),
        message: PayloadMessage {
            message_id: message.message_id,
            chat: payload_chat(&message.chat),
            date: message.date,
            text: legacy_text(message),
            media: None,
            media_url: None,
            from: payload_sender(message, incoming.sender_phone.as_deref()),
            reply_to_message: message.reply_to_message.as_deref().map(payload_reply),
        },
    }
}

/// The text or caption of a message.
pub fn text_of(message: &Message) -> Option<&str> {
    message.text.as_deref().or(message.caption.as_deref())
}

/// The legacy payload's `text`: the text or caption; `""` for a message that has content but
/// neither (a photo, voice note, … without caption, a location, contact, poll, dice), since the
/// Python service sent Telethon's `message.text`, which is `""` there; `null` for a message
/// with no content at all (a service message).
pub fn legacy_text(message: &Message) -> Option<String> {
    match text_of(message) {
        Some(text) => Some(text.to_owned()),
        None if has_content(message) => Some(String::new()),
        None => None,
    }
}

/// Whether a message carries media or another non-text content.
fn has_content(m: &Message) -> bool {
    m.photo.is_some()
        || m.audio.is_some()
        || m.document.is_some()
        || m.video.is_some()
        || m.video_note.is_some()
        || m.voice.is_some()
        || m.animation.is_some()
        || m.sticker.is_some()
        || m.contact.is_some()
        || m.dice.is_some()
        || m.poll.is_some()
        || m.venue.is_some()
        || m.location.is_some()
}

fn payload_chat(chat: &Chat) -> PayloadChat {
    PayloadChat {
        id: chat.id,
        kind: chat.kind,
        title: match chat.kind {
            ChatType::Private => None,
            _ => chat.title.clone(),
        },
    }
}

/// The chat that speaks for a message: `sender_chat` when set, else the chat itself when there
/// is no user sender either (a service message).
fn speaking_chat(message: &Message) -> Option<&Chat> {
    match (&message.sender_chat, &message.from) {
        (Some(chat), _) => Some(chat),
        (None, None) => Some(&message.chat),
        (None, Some(_)) => None,
    }
}

fn payload_sender(message: &Message, phone: Option<&str>) -> PayloadSender {
    match (speaking_chat(message), &message.from) {
        (None, Some(user)) => user_sender(user, phone),
        (chat, _) => chat_sender(chat.unwrap_or(&message.chat)),
    }
}

fn user_sender(user: &User, phone: Option<&str>) -> PayloadSender {
    PayloadSender {
        id: user.id,
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        username: user.username.clone(),
        language_code: user.language_code.clone(),
        phone_number: phone.map(str::to_owned),
    }
}

fn chat_sender(chat: &Chat) -> PayloadSender {
    PayloadSender {
        id: chat.id,
        first_name: chat_first_name(chat),
        last_name: None,
        username: chat.username.clone(),
        language_code: None,
        phone_number: None,
    }
}

/// The replied-to message, flattened; `sender_name` is the sender's first name (see
/// [`PayloadReply::sender_name`]), the same name as `from.first_name` of a payload.
fn payload_reply(reply: &Message) -> PayloadReply {
    let (sender_id, sender_name) = match (speaking_chat(reply), &reply.from) {
        (None, Some(user)) => (user.id, user.first_name.clone()),
        (chat, _) => {
            let chat = chat.unwrap_or(&reply.chat);
            (chat.id, chat_first_name(chat))
        }
    };
    PayloadReply {
        message_id: reply.message_id,
        text: legacy_text(reply),
        media_url: None,
        media_type: None,
        sender_id: Some(sender_id),
        sender_name: Some(sender_name),
        date: reply.date,
    }
}

/// "First Last" (or just "First").
pub fn user_name(user: &User) -> String {
    join_name(&user.first_name, user.last_name.as_deref())
}

/// A chat's display name: its title, or the other party's name for a private chat.
pub fn chat_name(chat: &Chat) -> String {
    match (&chat.title, &chat.first_name) {
        (Some(title), _) => title.clone(),
        (None, Some(first)) => join_name(first, chat.last_name.as_deref()),
        (None, None) => chat.username.clone().unwrap_or_default(),
    }
}

/// A chat as a sender in the legacy payload: its title, or the other party's first name for a
/// private chat (a first name, like a user sender's).
fn chat_first_name(chat: &Chat) -> String {
    match (&chat.title, &chat.first_name) {
        (Some(title), _) => title.clone(),
        (None, Some(first)) => first.clone(),
        (None, None) => chat.username.clone().unwrap_or_default(),
    }
}

fn join_name(first: &str, last: Option<&str>) -> String {
    match last {
        Some(last) if !last.is_empty() => format!("{first} {last}"),
        _ => first.to_owned(),
    }
}

/// One human-readable line for stdout: time (UTC), chat id and name, sender id and name, a
/// media summary (`[voice 2s]`, `[photo 640x480]`, …) and the text or caption (quoted, so
/// newlines stay on one line); `[media]` for a message with neither.
///
/// `2023-01-01T12:00:00Z chat=-1001400000001 "Test Supergroup" from=200000001 "Alice Smith": "hi"`
/// `2023-01-01T12:00:00Z chat=200000001 "Alice Smith" from=200000001 "Alice Smith": [voice 2s]`
pub fn summary_line(payload: &WebhookPayload) -> String {
    let m = &payload.message;
    let time = botapi::payload::format_unix_date(m.date)
        .map(|date| date.trim_end_matches("+00:00").to_owned())
        .unwrap_or_else(|| m.date.to_string());
    let chat_title = m.chat.title.clone().unwrap_or_else(|| {
        // Private chats have no title: the other party is the sender.
        join_name(&m.from.first_name, m.from.last_name.as_deref())
    });
    let sender = join_name(&m.from.first_name, m.from.last_name.as_deref());
    let media = m.media.as_ref().map(crate::media::object::summary);
    // `""` is the legacy payload's text of media without caption: nothing to quote.
    let text = m.text.as_ref().filter(|text| !text.is_empty());
    let body = match (media, text) {
        (Some(media), Some(text)) => format!("{media} {text:?}"),
        (Some(media), None) => media,
        (None, Some(text)) => format!("{text:?}"),
        (None, None) => "[media]".to_owned(),
    };
    let reply = m
        .reply_to_message
        .as_ref()
        .map(|r| format!(" (reply to {})", r.message_id))
        .unwrap_or_default();
    format!(
        "{time}Z chat={} {chat_title:?} from={} {sender:?}{reply}: {body}",
        m.chat.id, m.from.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use telegram::convert::GROUP_ANONYMOUS_BOT_ID;

    fn alice() -> User {
        let mut user = User::new(200_000_001, "Alice");
        user.last_name = Some("Smith".into());
        user.username = Some("alice".into());
        user.language_code = Some("en".into());
        user
    }

    fn incoming(message: Message) -> IncomingMessage {
        IncomingMessage {
            message,
            outgoing: false,
            sender_phone: None,
            media: None,
        }
    }

    fn supergroup() -> Chat {
        let mut chat = Chat::new(-1_001_400_000_001, ChatType::Supergroup);
        chat.title = Some("Test Supergroup".into());
        chat.username = Some("testsupergroup".into());
        chat
    }

    #[test]
    fn private_reply_keeps_user_sender_and_flattens_the_reply() {
        let mut chat = Chat::new(200_000_001, ChatType::Private);
        chat.first_name = Some("Alice".into());
        let mut original = Message::new(5, 1_672_574_340, chat.clone());
        original.from = Some(alice());
        original.text = Some("Original".into());
        let mut message = Message::new(6, 1_672_574_400, chat);
        message.from = Some(alice());
        message.text = Some("Hi".into());
        message.reply_to_message = Some(Box::new(original));
        let payload = webhook_payload(&incoming(message), Some("+10000000000"));
        let value = serde_json::to_value(&payload).expect("serialize");
        assert_eq!(value["message"]["chat"]["id"], 200_000_001);
        assert_eq!(value["message"]["chat"]["title"], serde_json::Value::Null);
        assert_eq!(value["message"]["from"]["last_name"], "Smith");
        // The first name, as the Python service sent it; `from` keeps both parts.
        assert_eq!(value["message"]["reply_to_message"]["sender_name"], "Alice");
        assert_eq!(
            value["message"]["reply_to_message"]["date"],
            "2023-01-01T11:59:00+00:00"
        );
        assert_eq!(value["message"]["date"], "2023-01-01T12:00:00+00:00");
        assert_eq!(
            summary_line(&payload),
            r#"2023-01-01T12:00:00Z chat=200000001 "Alice Smith" from=200000001 "Alice Smith" (reply to 5): "Hi""#
        );
    }

    #[test]
    fn anonymous_admin_becomes_the_chat_pseudo_sender() {
        let mut message = Message::new(7, 0, supergroup());
        message.from = Some(User::new(GROUP_ANONYMOUS_BOT_ID, "Group"));
        message.sender_chat = Some(supergroup());
        let payload = webhook_payload(&incoming(message), None);
        assert_eq!(payload.message.from.id, -1_001_400_000_001);
        assert_eq!(payload.message.from.first_name, "Test Supergroup");
        assert_eq!(
            payload.message.from.username.as_deref(),
            Some("testsupergroup")
        );
        assert!(summary_line(&payload).ends_with(": [media]"));
    }

    #[test]
    fn media_messages_show_a_summary_and_their_caption() {
        let mut chat = Chat::new(200_000_001, ChatType::Private);
        chat.first_name = Some("Alice".into());
        let mut message = Message::new(8, 1_672_574_400, chat);
        message.from = Some(alice());
        let mut payload = webhook_payload(&incoming(message), None);
        payload.message.media = Some(serde_json::json!({
            "type": "voice", "file_name": null, "duration": 2, "width": null, "height": null,
            "skipped": null
        }));
        assert!(summary_line(&payload).ends_with(r#""Alice Smith": [voice 2s]"#));
        payload.message.text = Some("listen".into());
        assert!(summary_line(&payload).ends_with(r#": [voice 2s] "listen""#));
    }

    #[test]
    fn media_without_caption_has_empty_text_and_service_messages_null() {
        let mut chat = Chat::new(200_000_001, ChatType::Private);
        chat.first_name = Some("Alice".into());
        chat.last_name = Some("Smith".into());
        let mut photo = Message::new(8, 1_672_574_400, chat.clone());
        photo.from = Some(alice());
        photo.photo = Some(Vec::new());
        let mut reply = Message::new(9, 1_672_574_460, chat.clone());
        reply.from = Some(alice());
        reply.dice = Some(botapi::types::Dice {
            emoji: "🎲".into(),
            value: 3,
        });
        reply.reply_to_message = Some(Box::new(photo.clone()));
        let payload = webhook_payload(&incoming(reply), None);
        assert_eq!(payload.message.text.as_deref(), Some(""));
        let replied = payload.message.reply_to_message.as_ref().expect("reply");
        assert_eq!(replied.text.as_deref(), Some(""));
        photo.caption = Some("look".into());
        assert_eq!(legacy_text(&photo).as_deref(), Some("look"));
        assert_eq!(legacy_text(&Message::new(1, 0, chat)), None);
    }

    #[test]
    fn a_private_chat_speaking_for_itself_is_named_by_its_first_name() {
        let mut chat = Chat::new(200_000_001, ChatType::Private);
        chat.first_name = Some("Alice".into());
        chat.last_name = Some("Smith".into());
        let original = Message::new(5, 0, chat.clone());
        let mut message = Message::new(6, 0, chat);
        message.reply_to_message = Some(Box::new(original));
        let payload = webhook_payload(&incoming(message), None);
        assert_eq!(payload.message.from.first_name, "Alice");
        let replied = payload.message.reply_to_message.expect("reply");
        assert_eq!(replied.sender_name.as_deref(), Some("Alice"));
    }

    #[test]
    fn service_message_without_sender_uses_the_chat() {
        let payload = webhook_payload(&incoming(Message::new(1, 0, supergroup())), None);
        assert_eq!(payload.message.from.id, payload.message.chat.id);
    }
}
