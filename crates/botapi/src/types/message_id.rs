//! The Bot API `MessageId` object (<https://core.telegram.org/bots/api#messageid>).

use serde::{Deserialize, Serialize};

/// Result of `copyMessage` and element of `copyMessages`/`forwardMessages` results
/// (Bot API section "MessageId").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MessageId {
    /// Unique message identifier inside its chat.
    pub message_id: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_single_key_object() {
        let json = serde_json::to_string(&MessageId { message_id: 7 }).expect("serialize");
        assert_eq!(json, r#"{"message_id":7}"#);
    }
}
