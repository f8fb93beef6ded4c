//! `telegram::Event` → the outbox row to deliver: its kind, ordering lane (chat), natural key
//! (for de-duplicating replays), JSON body in the configured format and the files to download
//! first. Filters (`ALLOWED_CHAT_IDS`, `IGNORED_CHAT_IDS`, `ALLOWED_UPDATES`,
//! `FORWARD_OUTGOING`) decide what is stored at all.

use botapi::payload::format_unix_date;
use botapi::types::{self as bot, ChatType};
use clap::ValueEnum;
use serde_json::{Value, json};
use sha2_11::{Digest, Sha256};
use telegram::{Event, IncomingMessage};

use crate::media::object::{MediaObject, request_from_bot_message};
use crate::payload::webhook_payload;
use outbox::{Download, NewUpdate, now_ms};

/// The JSON shape POSTed (`WEBHOOK_FORMAT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// The legacy payload (`account_phone_number`, `message`, …) plus `update_id` and `event`;
    /// media is downloaded and linked.
    #[default]
    Legacy,
    /// A Bot API `Update`, as Telegram would POST it to a bot's webhook.
    BotApi,
}

/// Update kinds, named as in the Bot API's `allowed_updates` (`ALLOWED_UPDATES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum UpdateKind {
    /// New messages in private chats and groups.
    Message,
    /// Edits of those.
    EditedMessage,
    /// New posts in broadcast channels.
    ChannelPost,
    /// Edits of those.
    EditedChannelPost,
    /// Messages deleted for everyone (gateway extension).
    DeletedMessages,
    /// Reaction counts of a message changed.
    MessageReactionCount,
    /// Inline button presses (bot accounts).
    CallbackQuery,
}

impl UpdateKind {
    /// The `allowed_updates` name, also the legacy payload's `event`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::EditedMessage => "edited_message",
            Self::ChannelPost => "channel_post",
            Self::EditedChannelPost => "edited_channel_post",
            Self::DeletedMessages => "deleted_messages",
            Self::MessageReactionCount => "message_reaction_count",
            Self::CallbackQuery => "callback_query",
        }
    }
}

/// What is forwarded, and how.
#[derive(Clone, Debug, Default)]
pub struct Normalizer {
    /// `WEBHOOK_FORMAT`.
    pub format: WebhookFormat,
    /// `account_phone_number` of legacy payloads.
    pub account_phone: Option<String>,
    /// `account_id` of legacy payloads: the account's Telegram user id (which account of many
    /// received the update).
    pub account_id: Option<i64>,
    /// `FORWARD_OUTGOING`.
    pub forward_outgoing: bool,
    /// `ALLOWED_CHAT_IDS` (empty: all).
    pub allowed_chats: Vec<i64>,
    /// `IGNORED_CHAT_IDS`.
    pub ignored_chats: Vec<i64>,
    /// `ALLOWED_UPDATES` (empty: all).
    pub allowed_kinds: Vec<UpdateKind>,
}

fn short_hash(value: &impl serde::Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(&bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Normalizer {
    /// The same normalizer naming `account_id` in its payloads.
    pub fn with_account_id(mut self, account_id: i64) -> Self {
        self.account_id = Some(account_id);
        self
    }

    /// The row for `event`, or `None` when a filter drops it.
    pub fn row(&self, event: &Event) -> Option<NewUpdate> {
        let (kind, chat) = kind_and_chat(event);
        if !self.allowed_kinds.is_empty() && !self.allowed_kinds.contains(&kind) {
            return None;
        }
        if self.ignored_chats.contains(&chat.unwrap_or(0))
            || (!self.allowed_chats.is_empty()
                && !chat.is_some_and(|c| self.allowed_chats.contains(&c)))
        {
            return None;
        }
        if let Event::NewMessage(m) | Event::EditedMessage(m) = event
            && m.outgoing
            && !self.forward_outgoing
        {
            return None;
        }
        let natural_key = natural_key(event, kind);
        // The Bot API `Update` is kept beside a legacy body: getUpdates and a webhook set
        // with setWebhook hand out Bot API updates whatever WEBHOOK_FORMAT says.
        let (body, downloads, update_json) = match self.format {
            WebhookFormat::BotApi => (bot_api_body(event, kind), Vec::new(), None),
            WebhookFormat::Legacy => {
                let (body, downloads) = self.legacy_body(event, kind);
                (body, downloads, Some(bot_api_body(event, kind)))
            }
        };
        Some(NewUpdate {
            natural_key,
            kind: kind.as_str(),
            chat_id: chat.unwrap_or(0),
            body,
            downloads,
            update_json,
        })
    }

    fn legacy_body(&self, event: &Event, kind: UpdateKind) -> (Value, Vec<Download>) {
        let head = json!({
            "update_id": null,
            "event": kind.as_str(),
            "account_phone_number": self.account_phone,
            "account_id": self.account_id,
        });
        let mut downloads = Vec::new();
        let rest = match event {
            Event::NewMessage(m) | Event::EditedMessage(m) => {
                let (value, files) = legacy_message(m, self.account_phone.as_deref());
                downloads = files;
                value
            }
            Event::Deleted(d) => json!({"chat_id": d.chat_id, "message_ids": d.message_ids}),
            Event::Reactions(r) => json!({
                "chat": {"id": r.chat.id, "type": r.chat.kind, "title": r.chat.title},
                "message_id": r.message_id,
                "reactions": reaction_counts(&r.reactions),
            }),
            Event::CallbackQuery(q) => json!({"callback_query": callback_query(q)}),
        };
        let mut body = head;
        if let (Value::Object(body), Value::Object(rest)) = (&mut body, rest) {
            body.extend(rest);
        }
        (body, downloads)
    }
}

fn kind_and_chat(event: &Event) -> (UpdateKind, Option<i64>) {
    let channel = |m: &IncomingMessage| m.message.chat.kind == ChatType::Channel;
    match event {
        Event::NewMessage(m) if channel(m) => (UpdateKind::ChannelPost, Some(m.message.chat.id)),
        Event::NewMessage(m) => (UpdateKind::Message, Some(m.message.chat.id)),
        Event::EditedMessage(m) if channel(m) => {
            (UpdateKind::EditedChannelPost, Some(m.message.chat.id))
        }
        Event::EditedMessage(m) => (UpdateKind::EditedMessage, Some(m.message.chat.id)),
        Event::Deleted(d) => (UpdateKind::DeletedMessages, d.chat_id),
        Event::Reactions(r) => (UpdateKind::MessageReactionCount, Some(r.chat.id)),
        Event::CallbackQuery(q) => (UpdateKind::CallbackQuery, q.chat.as_ref().map(|c| c.id)),
    }
}

/// Names the update itself, so a replay (getDifference after a crash) finds its row.
fn natural_key(event: &Event, kind: UpdateKind) -> String {
    match event {
        Event::NewMessage(m) => format!("new:{}:{}", m.message.chat.id, m.message.message_id),
        Event::EditedMessage(m) => {
            let mut content = m.message.clone();
            content.reply_to_message = None;
            format!(
                "edit:{}:{}:{}:{}",
                m.message.chat.id,
                m.message.message_id,
                m.message.edit_date.unwrap_or_default(),
                short_hash(&content)
            )
        }
        Event::Deleted(d) => format!(
            "del:{}:{}",
            d.chat_id.unwrap_or(0),
            short_hash(&d.message_ids)
        ),
        // Not journaled by Telegram (never replayed): each one is new.
        Event::Reactions(r) => format!(
            "{}:{}:{}:{}",
            kind.as_str(),
            r.chat.id,
            r.message_id,
            now_ms()
        ),
        Event::CallbackQuery(q) => format!("cbq:{}", q.id),
    }
}

fn reaction_counts(reactions: &[(bot::ReactionType, i32)]) -> Vec<bot::ReactionCount> {
    reactions
        .iter()
        .map(|(kind, total_count)| bot::ReactionCount {
            kind: kind.clone(),
            total_count: *total_count,
        })
        .collect()
}

fn callback_query(q: &telegram::CallbackQueryEvent) -> bot::CallbackQuery {
    bot::CallbackQuery {
        id: q.id.to_string(),
        from: q.from.clone(),
        message: q.chat.clone().zip(q.message_id).map(|(chat, message_id)| {
            bot::InaccessibleMessage {
                chat,
                message_id,
                date: 0,
            }
        }),
        inline_message_id: q.inline_message_id.clone(),
        chat_instance: q.chat_instance.to_string(),
        data: q.data.clone(),
        game_short_name: q.game_short_name.clone(),
    }
}

fn bot_api_body(event: &Event, kind: UpdateKind) -> Value {
    let mut update = bot::Update::default();
    match event {
        Event::NewMessage(m) | Event::EditedMessage(m) => {
            let message = Some(m.message.clone());
            match kind {
                UpdateKind::ChannelPost => update.channel_post = message,
                UpdateKind::EditedChannelPost => update.edited_channel_post = message,
                UpdateKind::EditedMessage => update.edited_message = message,
                _ => update.message = message,
            }
        }
        Event::Deleted(d) => {
            update.deleted_messages = Some(bot::DeletedMessages {
                chat_id: d.chat_id,
                message_ids: d.message_ids.clone(),
            });
        }
        Event::Reactions(r) => {
            update.message_reaction_count = Some(bot::MessageReactionCountUpdated {
                chat: r.chat.clone(),
                message_id: r.message_id,
                date: now_ms() / 1000,
                reactions: reaction_counts(&r.reactions),
            });
        }
        Event::CallbackQuery(q) => update.callback_query = Some(callback_query(q)),
    }
    serde_json::to_value(update).unwrap_or(Value::Null)
}

/// The legacy payload of a message (`message`, with `edit_date` for edits, an ISO 8601 date
/// with `+00:00` like `date`) and its downloads:
/// the message's own file (URL into `media_url`, the reason for skipping into `media.skipped`)
/// and its replied-to message's file.
fn legacy_message(m: &IncomingMessage, phone: Option<&str>) -> (Value, Vec<Download>) {
    let mut payload = webhook_payload(m, phone);
    let mut downloads = Vec::new();
    if let Some(media) = &m.media {
        payload.message.media = Some(MediaObject::new(media, None).to_value());
        downloads.push(Download {
            file_id: media.file.encode(),
            size: media.file_size,
            mime_type: media.mime_type.clone(),
            file_name: media.file_name.clone(),
            url_at: "/message/media_url".into(),
            skipped_at: Some("/message/media/skipped".into()),
        });
    }
    let replied = m.message.reply_to_message.as_deref();
    if let (Some((kind, request)), Some(reply)) = (
        replied.and_then(request_from_bot_message),
        payload.message.reply_to_message.as_mut(),
    ) {
        reply.media_type = Some(kind.to_owned());
        downloads.push(Download {
            file_id: request.file.encode(),
            size: request.size,
            mime_type: request.mime_type,
            file_name: request.file_name,
            url_at: "/message/reply_to_message/media_url".into(),
            skipped_at: None,
        });
    }
    let mut value = json!({ "message": payload.message });
    if let Some(edited) = m.message.edit_date.and_then(format_unix_date) {
        value["message"]["edit_date"] = edited.into();
    }
    (value, downloads)
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
