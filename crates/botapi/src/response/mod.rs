//! The Bot API response envelope: `{"ok":true,"result":…}` and the error object.
//!
//! Shapes: <https://core.telegram.org/bots/api#making-requests>. Error wordings are the ones the
//! official Bot API server (tdlib/telegram-bot-api, `Client::fail_query_with_error`) produces.

mod error;
mod rpc;

pub use error::{ApiError, ResponseParameters};
pub use rpc::{RpcContext, rpc_error_to_api_error};

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// A successful Bot API answer, serialized as `{"ok":true,"result":T}` (plus `description`
/// when set, as Telegram adds to e.g. `setWebhook`: "Webhook was set").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<T> {
    /// The method's result object.
    pub result: T,
    /// Optional human-readable note.
    pub description: Option<String>,
}

impl<T> Response<T> {
    /// Wraps `result` without a description.
    pub fn ok(result: T) -> Self {
        Self {
            result,
            description: None,
        }
    }
}

impl<T: Serialize> Serialize for Response<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = if self.description.is_some() { 3 } else { 2 };
        let mut state = serializer.serialize_struct("Response", len)?;
        state.serialize_field("ok", &true)?;
        state.serialize_field("result", &self.result)?;
        if let Some(description) = &self.description {
            state.serialize_field("description", description)?;
        }
        state.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::MessageId;

    #[test]
    fn ok_envelope_wraps_result() {
        let json = serde_json::to_string(&Response::ok(true)).expect("serialize");
        assert_eq!(json, r#"{"ok":true,"result":true}"#);
        let json =
            serde_json::to_string(&Response::ok(MessageId { message_id: 3 })).expect("serialize");
        assert_eq!(json, r#"{"ok":true,"result":{"message_id":3}}"#);
    }

    #[test]
    fn ok_envelope_carries_description() {
        let response = Response {
            result: true,
            description: Some("Webhook was set".into()),
        };
        let json = serde_json::to_string(&response).expect("serialize");
        assert_eq!(
            json,
            r#"{"ok":true,"result":true,"description":"Webhook was set"}"#
        );
    }
}
