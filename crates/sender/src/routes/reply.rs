//! The reply parameters every send method shares: `reply_parameters`, or the legacy
//! `reply_to_message_id` + `allow_sending_without_reply`.

use botapi::RpcContext;
use botapi::types::ReplyParameters;
use grammers_session::types::PeerRef;
use telegram::Telegram;

use crate::error::{ApiError, TelegramResultExt};

/// The reply fields of a send request. Copied out of each request struct rather than
/// `#[serde(flatten)]`ed into it: flatten buffers values and would bypass the form coercions of
/// [`crate::extract::Lenient`].
#[derive(Debug, Clone, Default)]
pub struct ReplyFields {
    /// Legacy form of `reply_parameters.message_id`.
    pub reply_to_message_id: Option<i32>,
    /// The message to reply to; wins over `reply_to_message_id`.
    pub reply_parameters: Option<ReplyParameters>,
    /// Legacy form of `reply_parameters.allow_sending_without_reply`.
    pub allow_sending_without_reply: Option<bool>,
}

impl ReplyFields {
    /// The id of the message of `peer` to reply to, checked to exist.
    ///
    /// Errors: 400 "message to be replied not found" (unless `allow_sending_without_reply`,
    /// then no reply), 400 for a `reply_parameters.chat_id` of another chat (cross-chat
    /// replies need a different MTProto reply header; not supported yet), "chat not found".
    pub async fn resolve(&self, tg: &Telegram, peer: PeerRef) -> Result<Option<i32>, ApiError> {
        let ctx = RpcContext::Send;
        let reply = self.reply_parameters.as_ref();
        if let Some(reply_chat) = reply.and_then(|r| r.chat_id.as_ref())
            && tg.resolve_chat(reply_chat).await.or_api(ctx)?.id != peer.id
        {
            return Err(botapi::ApiError::bad_request(
                "replying to a message of another chat is not supported",
            )
            .into());
        }
        let allow_without_reply = reply
            .and_then(|r| r.allow_sending_without_reply)
            .or(self.allow_sending_without_reply)
            .unwrap_or(false);
        let Some(id) = reply.map(|r| r.message_id).or(self.reply_to_message_id) else {
            return Ok(None);
        };
        // Telegram silently drops a reply to a missing message; the Bot API refuses instead
        // unless asked to send anyway.
        if tg.get_message(peer, id).await.or_api(ctx)?.is_some() {
            Ok(Some(id))
        } else if allow_without_reply {
            Ok(None)
        } else {
            Err(botapi::ApiError::message_to_reply_not_found().into())
        }
    }
}
