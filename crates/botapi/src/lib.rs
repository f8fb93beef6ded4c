//! Bot API types and pure Bot API logic for the gateway: no I/O, not async, no MTProto types.
//!
//! Modules:
//! - [`types`]: `User`, `Chat`, `ChatFullInfo`, `Message` (with `MessageOrigin`, `Location`,
//!   `Venue`, `Contact`, `Poll`, `Dice`), `File`, `InputMedia`, `ReactionType`, `ChatAction`,
//!   `MessageEntity`, `MessageId`, `ReplyParameters`,
//!   `LinkPreviewOptions`, serialized exactly as the Bot API does.
//! - [`response`]: the `{"ok":…}` envelope, [`ApiError`] with Telegram's wordings, and
//!   [`rpc_error_to_api_error`], the one MTProto-error → Bot API-error table.
//! - [`formatting`]: `parse_mode` (HTML, MarkdownV2, Markdown) → text + UTF-16 entities.
//! - [`ids`]: Bot API chat id ↔ MTProto peer, and the `chat_id` parameter.
//! - [`payload`]: the legacy webhook payload posted to the account owner.
//!
//! Converting grammers/MTProto objects into these types is the `telegram` crate's job.

pub mod formatting;
pub mod ids;
pub mod payload;
pub mod response;
pub mod types;

pub use response::{ApiError, Response, RpcContext, rpc_error_to_api_error};
