//! The legacy webhook payload: the JSON this gateway POSTs to the account owner's webhook.
//!
//! This is not a Bot API type; its shape is fixed by existing consumers, those of the Python
//! service (Telethon + FastAPI) this gateway replaces. Unlike Bot API objects every key is
//! always present (`null` when unknown), and dates are timezone-aware ISO 8601 strings in UTC,
//! seconds precision, with an explicit `+00:00` offset (`2023-01-01T12:00:00+00:00`), as
//! Python's `datetime.isoformat()` writes an aware UTC date and that service sent them.
//!
//! The values of shared keys follow that service (issue #14): `reply_to_message.sender_name`
//! is the sender's first name (a chat's title for chat senders), and `text` is `""` for a
//! message with media and no caption. Keys it did not send (`chat.type`, `chat.title`,
//! `media`, …) are extra; consumers that index by key see a superset.

use chrono::DateTime;
use serde::{Serialize, Serializer};

use crate::types::ChatType;

/// Top-level payload: `{"account_phone_number": …, "message": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookPayload {
    /// Phone number of the account that received the message, `+` and digits, or `null`.
    pub account_phone_number: Option<String>,
    /// The received message.
    pub message: PayloadMessage,
}

/// The received message. Keys: message_id, chat, date, text, media, media_url, from,
/// reply_to_message — all always present.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PayloadMessage {
    /// Message id inside its chat.
    pub message_id: i32,
    /// The chat the message arrived in.
    pub chat: PayloadChat,
    /// Send time as unix seconds, serialized as `%Y-%m-%dT%H:%M:%S+00:00` (UTC, see
    /// [`format_unix_date`]).
    #[serde(serialize_with = "serialize_unix_date")]
    pub date: i64,
    /// Text or caption; `""` for a message with media (or a location, contact, poll, …) but no
    /// caption, as the Python service sent Telethon's `message.text`; `null` only for a
    /// message with neither (a service message).
    pub text: Option<String>,
    /// Media description; its shape is defined by later work (`null` for text messages).
    pub media: Option<serde_json::Value>,
    /// URL where the gateway serves the downloaded media, or `null`.
    pub media_url: Option<String>,
    /// The sender. For channel posts and anonymous group admins this is the chat itself as a
    /// pseudo-sender: `id` = the Bot API chat id (negative), `first_name` = the chat title,
    /// other fields `null`/the chat's username.
    pub from: PayloadSender,
    /// The replied-to message, or `null`.
    pub reply_to_message: Option<PayloadReply>,
}

/// The chat of a payload message: `id` (Bot API chat id) plus `type` and `title`, extra keys
/// consumers may use (`title` is `null` for private chats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadChat {
    /// Bot API chat id (users: the user id; basic groups: `-id`; supergroups and channels: `-100…`).
    pub id: i64,
    /// `"private"`, `"group"`, `"supergroup"` or `"channel"`.
    #[serde(rename = "type")]
    pub kind: ChatType,
    /// Group or channel title; `null` for private chats.
    pub title: Option<String>,
}

/// The sender of a payload message (a user, or a chat as pseudo-sender; see
/// [`PayloadMessage::from`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadSender {
    /// User id, or Bot API chat id for a chat pseudo-sender.
    pub id: i64,
    /// First name, or the chat title for a chat pseudo-sender.
    pub first_name: String,
    /// Last name or `null`.
    pub last_name: Option<String>,
    /// Username without `@`, or `null`.
    pub username: Option<String>,
    /// Sender's language code when Telegram reports it, or `null`.
    pub language_code: Option<String>,
    /// Phone number when visible to the account, or `null`.
    pub phone_number: Option<String>,
}

/// A flattened view of the replied-to message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadReply {
    /// Id of the replied-to message.
    pub message_id: i32,
    /// Its text or caption: `""` and `null` as in [`PayloadMessage::text`].
    pub text: Option<String>,
    /// URL of its media on the gateway's media server, or `null`.
    pub media_url: Option<String>,
    /// Kind of its media (e.g. `"photo"`), or `null`.
    pub media_type: Option<String>,
    /// Sender id (user id, or Bot API chat id for chat senders), or `null` if unknown.
    pub sender_id: Option<i64>,
    /// The sender's first name (`"Alice"`, not `"Alice Smith"`: the Python service sent
    /// Telethon's `sender.first_name`), or the chat's title for a chat sender (a channel, an
    /// anonymous admin), or `null` if unknown.
    pub sender_name: Option<String>,
    /// Its send time as unix seconds, serialized like [`PayloadMessage::date`].
    #[serde(serialize_with = "serialize_unix_date")]
    pub date: i64,
}

/// Formats unix seconds as `%Y-%m-%dT%H:%M:%S+00:00`: ISO 8601 in UTC with the offset
/// written out (`2023-01-01T12:00:00+00:00`), the legacy format's date everywhere (payload
/// dates, `edit_date`, the sender's legacy answers). `None` outside chrono's range.
pub fn format_unix_date(unix_seconds: i64) -> Option<String> {
    DateTime::from_timestamp(unix_seconds, 0)
        .map(|date| date.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
}

fn serialize_unix_date<S: Serializer>(
    unix_seconds: &i64,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match format_unix_date(*unix_seconds) {
        Some(date) => serializer.serialize_str(&date),
        None => Err(serde::ser::Error::custom(format!(
            "date {unix_seconds} is outside the representable range"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn sample() -> WebhookPayload {
        WebhookPayload {
            account_phone_number: Some("+10000000000".into()),
            message: PayloadMessage {
                message_id: 2345,
                chat: PayloadChat {
                    id: 1111111,
                    kind: ChatType::Private,
                    title: None,
                },
                date: 1_672_574_400,
                text: Some("Hi".into()),
                media: None,
                media_url: None,
                from: PayloadSender {
                    id: 777000,
                    first_name: "User".into(),
                    last_name: None,
                    username: Some("user".into()),
                    language_code: Some("en".into()),
                    phone_number: None,
                },
                reply_to_message: Some(PayloadReply {
                    message_id: 1234,
                    text: Some("Original".into()),
                    media_url: None,
                    media_type: None,
                    sender_id: Some(1111111),
                    sender_name: Some("Other".into()),
                    date: 1_672_574_340,
                }),
            },
        }
    }

    #[test]
    fn text_message_payload_matches_legacy_shape() {
        let json = serde_json::to_string_pretty(&sample()).expect("serialize");
        expect![[r#"
            {
              "account_phone_number": "+10000000000",
              "message": {
                "message_id": 2345,
                "chat": {
                  "id": 1111111,
                  "type": "private",
                  "title": null
                },
                "date": "2023-01-01T12:00:00+00:00",
                "text": "Hi",
                "media": null,
                "media_url": null,
                "from": {
                  "id": 777000,
                  "first_name": "User",
                  "last_name": null,
                  "username": "user",
                  "language_code": "en",
                  "phone_number": null
                },
                "reply_to_message": {
                  "message_id": 1234,
                  "text": "Original",
                  "media_url": null,
                  "media_type": null,
                  "sender_id": 1111111,
                  "sender_name": "Other",
                  "date": "2023-01-01T11:59:00+00:00"
                }
              }
            }"#]]
        .assert_eq(&json);
    }

    #[test]
    fn legacy_example_keys_are_a_subset_with_equal_values() {
        let legacy: serde_json::Value = serde_json::from_str(
            r#"{"account_phone_number": "+10000000000",
             "message": {"message_id": 2345, "chat": {"id": 1111111}, "date": "2023-01-01T12:00:00+00:00", "text": "Hi",
               "media": null, "media_url": null,
               "from": {"id": 777000, "first_name": "User", "last_name": null, "username": "user",
                        "language_code": "en", "phone_number": null},
               "reply_to_message": {"message_id": 1234, "text": "Original", "media_url": null, "media_type": null,
                        "sender_id": 1111111, "sender_name": "Other", "date": "2023-01-01T11:59:00+00:00"}}}"#,
        )
        .expect("legacy example");
        let mut ours = serde_json::to_value(sample()).expect("serialize");
        // `type` and `title` are the extra chat keys; the rest must equal the example.
        let chat = ours["message"]["chat"]
            .as_object_mut()
            .expect("chat is an object");
        chat.retain(|key, _| key == "id");
        assert_eq!(ours, legacy);
    }

    #[test]
    fn null_reply_and_channel_pseudo_sender() {
        let mut payload = sample();
        payload.account_phone_number = None;
        payload.message.chat = PayloadChat {
            id: -1001234567890,
            kind: ChatType::Channel,
            title: Some("News".into()),
        };
        payload.message.from = PayloadSender {
            id: -1001234567890,
            first_name: "News".into(),
            last_name: None,
            username: None,
            language_code: None,
            phone_number: None,
        };
        payload.message.reply_to_message = None;
        let value = serde_json::to_value(&payload).expect("serialize");
        assert!(value["account_phone_number"].is_null());
        assert!(value["message"]["reply_to_message"].is_null());
        assert_eq!(value["message"]["from"]["first_name"], "News");
        assert_eq!(value["message"]["chat"]["type"], "channel");
    }

    #[test]
    fn dates_are_utc_seconds_with_an_explicit_offset() {
        assert_eq!(
            format_unix_date(0).as_deref(),
            Some("1970-01-01T00:00:00+00:00")
        );
        assert_eq!(
            format_unix_date(1_672_574_399).as_deref(),
            Some("2023-01-01T11:59:59+00:00")
        );
        assert_eq!(
            format_unix_date(-1).as_deref(),
            Some("1969-12-31T23:59:59+00:00")
        );
        assert_eq!(format_unix_date(i64::MAX), None);
    }
}
