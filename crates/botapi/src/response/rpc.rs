//! The one table mapping MTProto RPC errors to Bot API errors.
//!
//! Modelled on what the official Bot API server answers (tdlib/telegram-bot-api
//! `Client::fail_query_with_error` plus TDLib's own rewording in `MessagesManager`): known
//! names get Telegram's sentence, other 400s pass the RPC name through ("Bad Request: NAME"),
//! 403s whose text is a bare RPC name are downgraded to 400 exactly as the server does, and
//! 420 FLOOD_WAIT becomes 429 with `retry_after`.

use super::ApiError;

/// Which Bot API method family made the failing call; selects among context-dependent
/// wordings (e.g. `MESSAGE_ID_INVALID` is "message to edit not found" for edits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RpcContext {
    /// sendMessage, sendPhoto, … (a bad message id is the replied-to message).
    Send,
    /// editMessageText, editMessageCaption, …
    Edit,
    /// deleteMessage, deleteMessages.
    Delete,
    /// forwardMessage(s).
    Forward,
    /// copyMessage(s).
    Copy,
    /// pinChatMessage.
    Pin,
    /// unpinChatMessage.
    Unpin,
    /// setMessageReaction.
    React,
    /// Anything else (getChat, pinChatMessage, …).
    Other,
}

/// Maps an MTProto RPC error to the Bot API error Telegram's server would answer.
///
/// `code` is the RPC error code (400, 401, 403, 420, 500, …); `name` the error name as
/// grammers reports it, with the numeric suffix split off into `value` (`FLOOD_WAIT` +
/// `Some(31)`); a name that still carries its suffix (`FLOOD_WAIT_31`) is accepted too.
/// Never returns a 404: python-telegram-bot reads 404 as a bad token.
pub fn rpc_error_to_api_error(
    code: i32,
    name: &str,
    value: Option<u32>,
    method_family: RpcContext,
) -> ApiError {
    let (base, value) = split_value(name, value);
    if let Some(error) = known_error(base, value, method_family) {
        return error;
    }
    let full_name = match value {
        Some(value) => format!("{base}_{value}"),
        None => base.to_owned(),
    };
    match code {
        401 => ApiError::unauthorized(),
        420 | 429 => ApiError::too_many_requests(value.unwrap_or(1)),
        // The server reports 403s that are bare RPC names as 400s.
        403 if !is_rpc_name(&full_name) => ApiError::forbidden(lowercase_first(&full_name)),
        code if code >= 500 => ApiError::internal(full_name),
        _ if base == "INTERNAL" || base.ends_with("_INTERNAL") => ApiError::internal(full_name),
        // Codes below 400, 404, 406 and bare-name 403s: the server answers 400.
        _ => ApiError::bad_request(full_name),
    }
}

/// Telegram's sentence for the RPC names it rewords, independent of the code.
fn known_error(base: &str, value: Option<u32>, context: RpcContext) -> Option<ApiError> {
    let error = match base {
        "FLOOD_WAIT" | "FLOOD_PREMIUM_WAIT" | "SLOWMODE_WAIT" => {
            ApiError::too_many_requests(value.unwrap_or(1))
        }
        "PEER_ID_INVALID"
        | "CHAT_ID_INVALID"
        | "CHANNEL_INVALID"
        | "USERNAME_NOT_OCCUPIED"
        | "USERNAME_INVALID" => ApiError::chat_not_found(),
        "MESSAGE_ID_INVALID" | "MSG_ID_INVALID" => message_not_found(context),
        "MESSAGE_IDS_EMPTY" => ApiError::bad_request("message identifiers are not specified"),
        "MESSAGE_NOT_MODIFIED" => ApiError::message_not_modified(),
        "MESSAGE_EMPTY" => ApiError::message_text_empty(),
        "MESSAGE_TOO_LONG" => ApiError::message_too_long(),
        "MEDIA_CAPTION_TOO_LONG" => ApiError::bad_request("message caption is too long"),
        "MESSAGE_DELETE_FORBIDDEN" => ApiError::bad_request("message can't be deleted"),
        "MESSAGE_EDIT_TIME_EXPIRED" | "MESSAGE_AUTHOR_REQUIRED" => {
            ApiError::bad_request("message can't be edited")
        }
        "CHAT_FORWARDS_RESTRICTED" => {
            ApiError::bad_request("message has protected content and can't be forwarded")
        }
        "MEDIA_EMPTY" => ApiError::bad_request("wrong file identifier/HTTP URL specified"),
        "REPLY_MARKUP_TOO_LONG" => ApiError::bad_request("reply markup is too long"),
        // A user account calling a bots.* method or answering a callback query.
        "USER_BOT_REQUIRED" => ApiError::bad_request("method is available only for bots"),
        "QUERY_ID_INVALID" => ApiError::bad_request(
            "query is too old and response timeout expired or query ID is invalid",
        ),
        "INPUT_USER_DEACTIVATED" | "USER_DEACTIVATED" => ApiError::forbidden("user is deactivated"),
        // Telegram's text is "bot was blocked by the user"; this gateway fronts a user account.
        "USER_IS_BLOCKED" => ApiError::forbidden("blocked by the user"),
        "CHAT_WRITE_FORBIDDEN" | "CHAT_SEND_PLAIN_FORBIDDEN" => match context {
            RpcContext::Send | RpcContext::Forward | RpcContext::Copy => {
                ApiError::forbidden("not enough rights to send text messages to the chat")
            }
            _ => ApiError::forbidden("have no write access to the chat"),
        },
        "CHAT_ADMIN_REQUIRED" => ApiError::forbidden("need administrator rights in the chat"),
        "CHANNEL_PRIVATE" => ApiError::forbidden("the chat is private"),
        _ => return None,
    };
    Some(error)
}

fn message_not_found(context: RpcContext) -> ApiError {
    match context {
        RpcContext::Send => ApiError::message_to_reply_not_found(),
        RpcContext::Edit => ApiError::message_to_edit_not_found(),
        RpcContext::Delete => ApiError::message_to_delete_not_found(),
        RpcContext::Forward => ApiError::message_to_forward_not_found(),
        RpcContext::Copy => ApiError::bad_request("message to copy not found"),
        RpcContext::Pin => ApiError::bad_request("message to pin not found"),
        RpcContext::Unpin => ApiError::bad_request("message to unpin not found"),
        RpcContext::React => ApiError::bad_request("message to react not found"),
        RpcContext::Other => ApiError::bad_request("message not found"),
    }
}

/// Splits `FLOOD_WAIT_31` into (`FLOOD_WAIT`, 31) when `value` was not given separately.
fn split_value(name: &str, value: Option<u32>) -> (&str, Option<u32>) {
    if value.is_some() {
        return (name, value);
    }
    match name.rsplit_once('_') {
        Some((base, digits))
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            match digits.parse() {
                Ok(value) => (base, Some(value)),
                Err(_) => (name, None),
            }
        }
        _ => (name, None),
    }
}

/// Whether `text` looks like an RPC error name: only `A-Z`, digits and `_`.
fn is_rpc_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b == b'_' || b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The server lowercases the first letter of a sentence after the "Forbidden: " prefix.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RpcContext::*;

    fn map(code: i32, name: &str, value: Option<u32>, context: RpcContext) -> (u16, String) {
        let error = rpc_error_to_api_error(code, name, value, context);
        (error.error_code, error.description)
    }

    #[test]
    fn unresolvable_peers_are_chat_not_found() {
        for name in [
            "PEER_ID_INVALID",
            "CHAT_ID_INVALID",
            "CHANNEL_INVALID",
            "USERNAME_NOT_OCCUPIED",
            "USERNAME_INVALID",
        ] {
            assert_eq!(
                map(400, name, None, Send),
                (400, "Bad Request: chat not found".into())
            );
        }
    }

    #[test]
    fn message_id_invalid_depends_on_method_family() {
        let cases = [
            (Edit, "Bad Request: message to edit not found"),
            (Delete, "Bad Request: message to delete not found"),
            (Forward, "Bad Request: message to forward not found"),
            (Copy, "Bad Request: message to copy not found"),
            (Pin, "Bad Request: message to pin not found"),
            (Unpin, "Bad Request: message to unpin not found"),
            (React, "Bad Request: message to react not found"),
            (Send, "Bad Request: message to be replied not found"),
            (Other, "Bad Request: message not found"),
        ];
        for (context, description) in cases {
            assert_eq!(
                map(400, "MESSAGE_ID_INVALID", None, context),
                (400, description.into())
            );
        }
    }

    #[test]
    fn content_errors_use_telegram_sentences() {
        assert_eq!(
            map(400, "MESSAGE_NOT_MODIFIED", None, Edit),
            (400, ApiError::message_not_modified().description)
        );
        assert_eq!(
            map(400, "MESSAGE_EMPTY", None, Send),
            (400, "Bad Request: message text is empty".into())
        );
        assert_eq!(
            map(400, "MESSAGE_TOO_LONG", None, Send),
            (400, "Bad Request: message is too long".into())
        );
        assert_eq!(
            map(400, "MESSAGE_IDS_EMPTY", None, Delete),
            (
                400,
                "Bad Request: message identifiers are not specified".into()
            )
        );
        assert_eq!(
            map(400, "REACTION_INVALID", None, React),
            (400, "Bad Request: REACTION_INVALID".into())
        );
    }

    #[test]
    fn bot_method_refusals_use_telegram_sentences() {
        assert_eq!(
            map(400, "USER_BOT_REQUIRED", None, Other),
            (400, "Bad Request: method is available only for bots".into())
        );
        assert_eq!(
            map(400, "QUERY_ID_INVALID", None, Other),
            (
                400,
                "Bad Request: query is too old and response timeout expired or query ID is \
                 invalid"
                    .into()
            )
        );
        assert_eq!(
            map(400, "BOT_COMMAND_INVALID", None, Other),
            (400, "Bad Request: BOT_COMMAND_INVALID".into())
        );
    }

    #[test]
    fn access_errors_are_forbidden() {
        assert_eq!(
            map(403, "CHAT_WRITE_FORBIDDEN", None, Send),
            (
                403,
                "Forbidden: not enough rights to send text messages to the chat".into()
            )
        );
        assert_eq!(
            map(400, "INPUT_USER_DEACTIVATED", None, Send),
            (403, "Forbidden: user is deactivated".into())
        );
        assert_eq!(
            map(400, "USER_IS_BLOCKED", None, Send),
            (403, "Forbidden: blocked by the user".into())
        );
        assert_eq!(
            map(400, "CHAT_ADMIN_REQUIRED", None, Delete),
            (
                403,
                "Forbidden: need administrator rights in the chat".into()
            )
        );
        assert_eq!(
            map(400, "CHANNEL_PRIVATE", None, Other),
            (403, "Forbidden: the chat is private".into())
        );
    }

    #[test]
    fn flood_wait_becomes_429_with_retry_after() {
        let error = rpc_error_to_api_error(420, "FLOOD_WAIT", Some(31), Send);
        assert_eq!(error, ApiError::too_many_requests(31));
        let error = rpc_error_to_api_error(420, "FLOOD_WAIT_7", None, Send);
        assert_eq!(error, ApiError::too_many_requests(7));
        let error = rpc_error_to_api_error(400, "SLOWMODE_WAIT", Some(5), Send);
        assert_eq!(error, ApiError::too_many_requests(5));
    }

    #[test]
    fn unknown_errors_follow_server_fallbacks() {
        assert_eq!(
            map(400, "PHOTO_INVALID_DIMENSIONS", None, Send),
            (400, "Bad Request: PHOTO_INVALID_DIMENSIONS".into())
        );
        assert_eq!(
            map(400, "FILE_PART", Some(3), Send),
            (400, "Bad Request: FILE_PART_3".into())
        );
        // A 403 that is a bare RPC name is reported as 400 by the server.
        assert_eq!(
            map(403, "USER_RESTRICTED", None, Send),
            (400, "Bad Request: USER_RESTRICTED".into())
        );
        assert_eq!(
            map(403, "Premium required", None, Send),
            (403, "Forbidden: premium required".into())
        );
        assert_eq!(
            map(401, "AUTH_KEY_UNREGISTERED", None, Other),
            (401, "Unauthorized".into())
        );
        assert_eq!(
            map(500, "RPC_CALL_FAIL", None, Other),
            (500, "Internal Server Error: RPC_CALL_FAIL".into())
        );
        assert_eq!(
            map(400, "INTERNAL", None, Other),
            (500, "Internal Server Error: INTERNAL".into())
        );
        assert_eq!(
            map(404, "NOT_FOUND", None, Other),
            (400, "Bad Request: NOT_FOUND".into())
        );
    }
}
