//! The Bot API `User` object (<https://core.telegram.org/bots/api#user>).

use serde::{Deserialize, Serialize};

/// A Telegram user or bot (Bot API section "User").
///
/// `id` is the positive Bot API user id (equal to the MTProto user id). The last four fields are
/// returned only by `getMe`; teloxide refuses a `getMe` result without them, so the sender fills
/// them in there and leaves them `None` everywhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct User {
    /// Unique identifier, positive, at most 2^40 - 1 (see [`crate::ids`]).
    pub id: i64,
    /// `true` for bots; a user account talking through this gateway is `false`.
    pub is_bot: bool,
    /// First name; Telegram never sends it empty.
    pub first_name: String,
    /// Last name, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Username without the leading `@`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// IETF language tag of the user's client, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
    /// `Some(true)` if the user has Telegram Premium; Telegram omits the key otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_premium: Option<bool>,
    /// getMe only: whether the bot can be invited to groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_join_groups: Option<bool>,
    /// getMe only: whether privacy mode is disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_read_all_group_messages: Option<bool>,
    /// getMe only: whether the bot supports inline queries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supports_inline_queries: Option<bool>,
    /// getMe only: whether the bot has a main Web App.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_main_web_app: Option<bool>,
}

impl User {
    /// A non-bot user with only the required fields set.
    pub fn new(id: i64, first_name: impl Into<String>) -> Self {
        Self {
            id,
            is_bot: false,
            first_name: first_name.into(),
            last_name: None,
            username: None,
            language_code: None,
            is_premium: None,
            can_join_groups: None,
            can_read_all_group_messages: None,
            supports_inline_queries: None,
            has_main_web_app: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_user_omits_optional_keys() {
        let json = serde_json::to_string(&User::new(42, "Ann")).expect("serialize");
        assert_eq!(json, r#"{"id":42,"is_bot":false,"first_name":"Ann"}"#);
    }

    #[test]
    fn get_me_flags_round_trip() {
        let user = User {
            can_join_groups: Some(true),
            can_read_all_group_messages: Some(true),
            supports_inline_queries: Some(false),
            has_main_web_app: Some(false),
            username: Some("ann".into()),
            ..User::new(42, "Ann")
        };
        let json = serde_json::to_value(&user).expect("serialize");
        assert_eq!(json["can_join_groups"], true);
        assert_eq!(json["has_main_web_app"], false);
        let back: User = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, user);
    }
}
