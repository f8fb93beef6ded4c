//! Conversations: a handler claims one sender in one chat, and until it lets go every new
//! message of that sender there is handed to it (in order, queued while it is busy) instead of
//! to the handlers. [`Conversation::ask`] sends a question and awaits the next such message.
//! A message that comes before the handler started its conversation goes to the handlers as
//! usual, and messages still queued when a conversation ends are not handled again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use botapi::types::Message;
use telegram::TelegramError;
use tokio::sync::mpsc;

use super::chat::Chat;

/// Why a conversation step failed.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// The sender wrote nothing within the timeout.
    #[error("no answer from {sender_id} in chat {chat_id} within {} s", waited.as_secs_f64())]
    Timeout {
        /// Bot API chat id.
        chat_id: i64,
        /// The sender waited for (user id, or the chat id of an anonymous sender).
        sender_id: i64,
        /// How long it waited.
        waited: Duration,
    },
    /// Another conversation already holds this sender in this chat.
    #[error("{sender_id} is already in a conversation in chat {chat_id}")]
    Busy {
        /// Bot API chat id.
        chat_id: i64,
        /// The sender.
        sender_id: i64,
    },
    /// The receiver is shutting down: no further message will come.
    #[error("the receiver is shutting down")]
    Closed,
    /// Sending the question failed.
    #[error("cannot send in the chat: {0}")]
    Send(#[from] TelegramError),
}

/// Who a message belongs to for conversations and ordering: (chat id, sender id).
pub(crate) type SenderKey = (i64, i64);

/// The sender of `message`: the user, else the chat it was sent on behalf of, else the chat.
pub(crate) fn sender_key(message: &Message) -> SenderKey {
    let sender = message
        .from
        .as_ref()
        .map(|u| u.id)
        .or_else(|| message.sender_chat.as_ref().map(|c| c.id))
        .unwrap_or(message.chat.id);
    (message.chat.id, sender)
}

struct Claim {
    token: u64,
    tx: mpsc::UnboundedSender<Message>,
}

/// The senders held by conversations, shared by the router and the conversations.
#[derive(Clone, Default)]
pub(crate) struct Claims {
    inner: Arc<Mutex<ClaimsInner>>,
}

#[derive(Default)]
struct ClaimsInner {
    held: HashMap<SenderKey, Claim>,
    /// Set at shutdown: no new claims.
    closed: bool,
}

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

impl Claims {
    fn lock(&self) -> std::sync::MutexGuard<'_, ClaimsInner> {
        // A poisoned lock only means a panic elsewhere while holding it; the map stays usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `message` to the conversation holding its sender; gives it back when none does.
    pub(crate) fn offer(&self, message: Message) -> Option<Message> {
        let key = sender_key(&message);
        let mut inner = self.lock();
        let Some(claim) = inner.held.get(&key) else {
            return Some(message);
        };
        match claim.tx.send(message) {
            Ok(()) => None,
            Err(mpsc::error::SendError(message)) => {
                inner.held.remove(&key);
                Some(message)
            }
        }
    }

    /// Ends every conversation (their waits fail with [`ConversationError::Closed`]) and
    /// refuses new ones.
    pub(crate) fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        inner.held.clear();
    }

    fn claim(
        &self,
        key: SenderKey,
    ) -> Result<(u64, mpsc::UnboundedReceiver<Message>), ConversationError> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(ConversationError::Closed);
        }
        if inner.held.get(&key).is_some_and(|c| !c.tx.is_closed()) {
            return Err(ConversationError::Busy {
                chat_id: key.0,
                sender_id: key.1,
            });
        }
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        inner.held.insert(key, Claim { token, tx });
        Ok((token, rx))
    }

    fn release(&self, key: SenderKey, token: u64) {
        let mut inner = self.lock();
        if inner.held.get(&key).is_some_and(|c| c.token == token) {
            inner.held.remove(&key);
        }
    }
}

/// A conversation with one sender in one chat, from [`super::Context::conversation`]. While it
/// exists, that sender's new messages in that chat come here (and still reach the webhook)
/// instead of to the handlers; dropping it hands them back.
pub struct Conversation {
    chat: Chat,
    key: SenderKey,
    token: u64,
    claims: Claims,
    rx: mpsc::UnboundedReceiver<Message>,
}

impl Conversation {
    pub(crate) fn start(
        chat: Chat,
        key: SenderKey,
        claims: Claims,
    ) -> Result<Self, ConversationError> {
        let (token, rx) = claims.claim(key)?;
        Ok(Self {
            chat,
            key,
            token,
            claims,
            rx,
        })
    }

    /// Bot API id of the chat.
    pub fn chat_id(&self) -> i64 {
        self.key.0
    }

    /// The sender it listens to (user id, or the chat id of an anonymous sender).
    pub fn sender_id(&self) -> i64 {
        self.key.1
    }

    /// Sends `text` in the chat, then returns the sender's next message (one already queued
    /// counts). Errors: [`ConversationError::Send`] when sending fails,
    /// [`ConversationError::Timeout`] when nothing comes within `timeout`,
    /// [`ConversationError::Closed`] at shutdown.
    pub async fn ask(
        &mut self,
        text: impl Into<String>,
        timeout: Duration,
    ) -> Result<Message, ConversationError> {
        self.chat.send(text.into(), None).await?;
        self.next_message(timeout).await
    }

    /// Sends `text` in the chat (no wait); returns the sent message.
    /// Errors: [`ConversationError::Send`].
    pub async fn say(&self, text: impl Into<String>) -> Result<Message, ConversationError> {
        Ok(self.chat.send(text.into(), None).await?)
    }

    /// The sender's next message, within `timeout`. Errors: [`ConversationError::Timeout`],
    /// [`ConversationError::Closed`].
    pub async fn next_message(&mut self, timeout: Duration) -> Result<Message, ConversationError> {
        match tokio::time::timeout(timeout, self.rx.recv()).await {
            Ok(Some(message)) => Ok(message),
            Ok(None) => Err(ConversationError::Closed),
            Err(_) => Err(ConversationError::Timeout {
                chat_id: self.key.0,
                sender_id: self.key.1,
                waited: timeout,
            }),
        }
    }
}

impl Drop for Conversation {
    fn drop(&mut self) {
        self.claims.release(self.key, self.token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use botapi::types::{Chat as BotChat, ChatType, User};

    fn from(user: i64, chat: i64, text: &str) -> Message {
        let mut m = Message::new(1, 0, BotChat::new(chat, ChatType::Group));
        let user: User = serde_json::from_value(
            serde_json::json!({"id": user, "is_bot": false, "first_name": "U"}),
        )
        .expect("user");
        m.from = Some(user);
        m.text = Some(text.into());
        m
    }

    #[test]
    fn a_claim_takes_its_senders_messages_in_its_chat_only_until_released() {
        let claims = Claims::default();
        let (token, mut rx) = claims.claim((5, 1)).expect("free");
        assert!(matches!(
            claims.claim((5, 1)),
            Err(ConversationError::Busy {
                chat_id: 5,
                sender_id: 1
            })
        ));
        assert!(claims.offer(from(1, 5, "mine")).is_none());
        assert!(claims.offer(from(2, 5, "other sender")).is_some());
        assert!(claims.offer(from(1, 6, "other chat")).is_some());
        assert_eq!(rx.try_recv().expect("queued").text.as_deref(), Some("mine"));
        claims.release((5, 1), token + 1000);
        assert!(claims.offer(from(1, 5, "still held")).is_none());
        claims.release((5, 1), token);
        assert!(claims.offer(from(1, 5, "free")).is_some());
        let (_, mut rx) = claims.claim((5, 1)).expect("free again");
        claims.close();
        assert!(rx.try_recv().is_err());
        assert!(matches!(
            claims.claim((5, 2)),
            Err(ConversationError::Closed)
        ));
    }
}
