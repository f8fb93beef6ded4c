//! The reply parameters every send method shares: `reply_parameters`, or the legacy
//! `reply_to_message_id` + `allow_sending_without_reply`, `reply_markup`, and `send_request!`,
//! which adds them (with `disable_notification`, `protect_content`, `message_thread_id`) to a
//! parameter struct.
//!
//! `reply_markup` (Bot API "InlineKeyboardMarkup", "ReplyKeyboardMarkup", "ReplyKeyboardRemove",
//! "ForceReply") is checked when the request is parsed; Telegram honours it from bot sessions
//! only. A user account's message is sent without it — Telegram drops a user's markup — and
//! the returned Message shows no `reply_markup`.

use botapi::RpcContext;
use botapi::types::{ReplyMarkup, ReplyParameters};
use telegram::{Peer, SendOptions, Telegram};

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
    /// Keyboard to attach (bot sessions; see the module docs).
    pub reply_markup: Option<ReplyMarkup>,
}

impl ReplyFields {
    /// The id of the message of `peer` to reply to, checked to exist.
    ///
    /// Errors: 400 "message to be replied not found" (unless `allow_sending_without_reply`,
    /// then no reply), 400 for a `reply_parameters.chat_id` of another chat (cross-chat
    /// replies need a different MTProto reply header; not supported yet), "chat not found".
    pub async fn resolve(&self, tg: &Telegram, peer: Peer) -> Result<Option<i32>, ApiError> {
        let ctx = RpcContext::Send;
        let reply = self.reply_parameters.as_ref();
        if let Some(reply_chat) = reply.and_then(|r| r.chat_id.as_ref())
            && tg.resolve_chat(reply_chat).await.or_api(ctx)? != peer
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

impl ReplyFields {
    /// The send options of a request: the reply target checked by [`ReplyFields::resolve`],
    /// `disable_notification` and `protect_content` (absent: `false`), `reply_markup`.
    pub async fn options(
        &self,
        tg: &Telegram,
        peer: Peer,
        disable_notification: Option<bool>,
        protect_content: Option<bool>,
    ) -> Result<SendOptions, ApiError> {
        Ok(SendOptions {
            reply_to: self.resolve(tg, peer).await?,
            silent: disable_notification.unwrap_or(false),
            noforwards: protect_content.unwrap_or(false),
            reply_markup: self.reply_markup.clone(),
        })
    }
}

/// Defines a send method's parameter struct: the listed fields plus the ones every send
/// method shares (`message_thread_id`, `disable_notification`, `protect_content`,
/// `reply_to_message_id`, `reply_parameters`, `allow_sending_without_reply`, `reply_markup`),
/// and an `options()` method turning the shared ones into [`telegram::SendOptions`].
/// `send_request! { without reply_markup; … }` leaves `reply_markup` out, for the methods
/// whose Bot API section has none (`sendMediaGroup`).
macro_rules! send_request {
    (without reply_markup; $($rest:tt)*) => {
        $crate::routes::reply::send_request!(@build [] $($rest)*);
    };
    (@build [$($markup:ident)?]
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
            /// Forum topic. Accepted and ignored: messages go to the chat's main thread.
            pub message_thread_id: Option<i32>,
            /// Send silently.
            pub disable_notification: Option<bool>,
            /// Forbid forwarding and saving.
            pub protect_content: Option<bool>,
            /// Legacy form of `reply_parameters.message_id`.
            pub reply_to_message_id: Option<i32>,
            /// The message to reply to; wins over `reply_to_message_id`.
            pub reply_parameters: Option<botapi::types::ReplyParameters>,
            /// Legacy form of `reply_parameters.allow_sending_without_reply`.
            pub allow_sending_without_reply: Option<bool>,
            $(
            /// Inline keyboard, custom reply keyboard, keyboard removal or force-reply
            /// (Bot API "InlineKeyboardMarkup" …); honoured for bot sessions only, a user
            /// account's message is sent without it (Telegram drops it).
            pub $markup: Option<botapi::types::ReplyMarkup>,
            )?
        }

        impl $name {
            /// The shared send options, the reply target checked to exist in `peer`.
            pub async fn options(
                &self,
                tg: &telegram::Telegram,
                peer: telegram::Peer,
            ) -> Result<telegram::SendOptions, $crate::error::ApiError> {
                let reply = $crate::routes::reply::ReplyFields {
                    reply_to_message_id: self.reply_to_message_id,
                    reply_parameters: self.reply_parameters.clone(),
                    allow_sending_without_reply: self.allow_sending_without_reply,
                    reply_markup: None $(.or_else(|| self.$markup.clone()))?,
                };
                reply
                    .options(tg, peer, self.disable_notification, self.protect_content)
                    .await
            }
        }
    };
    ($($rest:tt)*) => {
        $crate::routes::reply::send_request!(@build [reply_markup] $($rest)*);
    };
}
pub(crate) use send_request;
