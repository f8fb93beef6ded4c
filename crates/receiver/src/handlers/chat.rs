//! Sending in a handler's chat through the receiver's Telegram connection, the peer resolved
//! once per chat.

use std::sync::Arc;

use botapi::ids::ChatIdParam;
use botapi::types::Message;
use telegram::{OutgoingText, Peer, SendOptions, Telegram, TelegramError};
use tokio::sync::OnceCell;

/// One chat to send in; the peer is resolved once, on the first send.
#[derive(Clone)]
pub(crate) struct Chat {
    pub id: i64,
    pub telegram: Arc<Telegram>,
    pub peer: Arc<OnceCell<Peer>>,
}

impl Chat {
    pub(crate) fn new(id: i64, telegram: Arc<Telegram>) -> Self {
        Self {
            id,
            telegram,
            peer: Arc::default(),
        }
    }

    pub(crate) async fn send(
        &self,
        text: String,
        reply_to: Option<i32>,
    ) -> Result<Message, TelegramError> {
        let peer = *self
            .peer
            .get_or_try_init(|| async {
                let chat = ChatIdParam::Id(self.id);
                self.telegram.resolve_chat(&chat).await
            })
            .await?;
        let out = OutgoingText {
            text,
            options: SendOptions {
                reply_to,
                ..SendOptions::default()
            },
            ..OutgoingText::default()
        };
        self.telegram.send_text(peer, out).await
    }
}
