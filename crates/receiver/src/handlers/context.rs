//! What a handler gets: the message (Bot API shape), sending in its chat through the
//! receiver's own Telegram connection, and conversations with its sender.

use std::sync::Arc;

use botapi::types::Message;
use telegram::{Telegram, TelegramError};

use super::chat::Chat;
use super::conversation::{Claims, Conversation, ConversationError, sender_key};
use super::filter::command_args;

/// One handler invocation: the message it matched and ways to answer.
pub struct Context {
    message: Message,
    update_id: i64,
    handler: Arc<str>,
    me: Option<Arc<str>>,
    chat: Chat,
    claims: Claims,
}

impl Context {
    pub(crate) fn new(
        message: Message,
        update_id: i64,
        handler: Arc<str>,
        me: Option<Arc<str>>,
        telegram: Arc<Telegram>,
        claims: Claims,
    ) -> Self {
        let chat = Chat::new(message.chat.id, telegram);
        Self {
            message,
            update_id,
            handler,
            me,
            chat,
            claims,
        }
    }

    /// The message, as the Bot API shapes it.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The message's `update_id` in the outbox (the one its webhook payload carries).
    pub fn update_id(&self) -> i64 {
        self.update_id
    }

    /// The name the handler was registered with.
    pub fn handler(&self) -> &str {
        &self.handler
    }

    /// Bot API id of the chat.
    pub fn chat_id(&self) -> i64 {
        self.message.chat.id
    }

    /// The sender's user id (`None` for channel posts and anonymous admins).
    pub fn user_id(&self) -> Option<i64> {
        self.message.from.as_ref().map(|u| u.id)
    }

    /// The text, or the caption of media, or `""`.
    pub fn text(&self) -> &str {
        self.message
            .text
            .as_deref()
            .or(self.message.caption.as_deref())
            .unwrap_or_default()
    }

    /// What follows the command `/name` (trimmed, `""` when nothing), or `None` when the text
    /// is not that command.
    pub fn command_args(&self, name: &str) -> Option<&str> {
        let text = self.message.text.as_deref()?;
        command_args(text, name.trim_start_matches('/'), self.me.as_deref())
    }

    /// The receiver's Telegram connection, for anything beyond sending text.
    pub fn telegram(&self) -> &Arc<Telegram> {
        &self.chat.telegram
    }

    /// Sends `text` in the chat as a reply to the message; returns the sent message.
    /// Errors: as [`Telegram::send_text`] (`CHAT_WRITE_FORBIDDEN`, flood waits, …).
    pub async fn reply(&self, text: impl Into<String>) -> Result<Message, TelegramError> {
        self.chat
            .send(text.into(), Some(self.message.message_id))
            .await
    }

    /// Sends `text` in the chat; returns the sent message. Errors: as [`Telegram::send_text`].
    pub async fn send(&self, text: impl Into<String>) -> Result<Message, TelegramError> {
        self.chat.send(text.into(), None).await
    }

    /// Starts a conversation with the message's sender in this chat: from now until the
    /// [`Conversation`] is dropped, their new messages here go to it, not to the handlers.
    /// Errors: [`ConversationError::Busy`] when another conversation holds them,
    /// [`ConversationError::Closed`] at shutdown.
    pub fn conversation(&self) -> Result<Conversation, ConversationError> {
        Conversation::start(
            self.chat.clone(),
            sender_key(&self.message),
            self.claims.clone(),
        )
    }
}
