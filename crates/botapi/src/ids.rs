//! Bot API chat ids <-> MTProto peers, and the `chat_id` request parameter.
//!
//! Source of the ranges: TDLib, which the official Bot API server is built on
//! (`td/telegram/DialogId.cpp`, `UserId.h`, `ChatId.h`, `ChannelId.h`), and the Bot API docs
//! for `chat_id` ("Integer or String: unique identifier for the target chat or username of the
//! target channel (in the format @channelusername)").

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::response::ApiError;

/// Largest valid user id: 2^40 - 1 (TDLib `UserId::MAX_USER_ID`).
pub const MAX_USER_ID: i64 = (1 << 40) - 1;
/// Largest valid basic-group id: 10^12 - 1 (TDLib `ChatId::MAX_CHAT_ID`).
pub const MAX_CHAT_ID: i64 = 999_999_999_999;
/// Bot API channel ids are `ZERO_CHANNEL_ID - channel_id` (TDLib `DialogId::ZERO_CHANNEL_ID`).
pub const ZERO_CHANNEL_ID: i64 = -1_000_000_000_000;
/// Regular channel ids are `< 10^12 - 2^31` (exclusive; TDLib `ChannelId::MAX_CHANNEL_ID`).
/// The 2^31 ids after them are reserved for secret chats, which this gateway does not map.
pub const MAX_CHANNEL_ID: i64 = 1_000_000_000_000 - (1 << 31);
/// First channel id of the second, "monoforum" range (TDLib `ChannelId::MIN_MONOFORUM_CHANNEL_ID`).
pub const MIN_MONOFORUM_CHANNEL_ID: i64 = 1_000_000_000_000 + (1 << 31) + 1;
/// End (exclusive) of the monoforum channel range (TDLib `ChannelId::MAX_MONOFORUM_CHANNEL_ID`).
pub const MAX_MONOFORUM_CHANNEL_ID: i64 = 3_000_000_000_000;

/// Which MTProto peer constructor a Bot API chat id denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerKind {
    /// `peerUser`: a private chat; bare id = Bot API id.
    User,
    /// `peerChat`: a basic group; Bot API id = `-bare`.
    Chat,
    /// `peerChannel`: a supergroup or channel; Bot API id = `-1000000000000 - bare`.
    Channel,
}

/// The Bot API chat id of the MTProto peer `(kind, bare_id)`.
///
/// Users keep their id, basic groups become `-id`, channels and supergroups become
/// `-1000000000000 - id` (TDLib `DialogId` constructors). Pure arithmetic: an out-of-range
/// `bare_id` gives an id that [`peer_from_bot_api_chat_id`] rejects (it saturates instead of
/// overflowing).
pub fn bot_api_chat_id(kind: PeerKind, bare_id: i64) -> i64 {
    match kind {
        PeerKind::User => bare_id,
        PeerKind::Chat => bare_id.saturating_neg(),
        PeerKind::Channel => ZERO_CHANNEL_ID.saturating_sub(bare_id),
    }
}

/// The MTProto peer `(kind, bare_id)` that the Bot API chat id `chat_id` denotes, or `None`
/// if it lies in no valid range (zero, above 2^40 - 1, in the secret-chat range, or beyond
/// the monoforum channel range).
///
/// Ranges (TDLib `DialogId::get_type`): users `1..=2^40-1`; basic groups `-(10^12-1)..=-1`;
/// channels `-10^12 - id` for id in `1..10^12-2^31` or in `10^12+2^31+1..3*10^12`.
pub fn peer_from_bot_api_chat_id(chat_id: i64) -> Option<(PeerKind, i64)> {
    if chat_id > 0 {
        return (chat_id <= MAX_USER_ID).then_some((PeerKind::User, chat_id));
    }
    if (-MAX_CHAT_ID..0).contains(&chat_id) {
        return Some((PeerKind::Chat, -chat_id));
    }
    let channel_id = ZERO_CHANNEL_ID.checked_sub(chat_id)?;
    let regular = 0 < channel_id && channel_id < MAX_CHANNEL_ID;
    let monoforum = (MIN_MONOFORUM_CHANNEL_ID..MAX_MONOFORUM_CHANNEL_ID).contains(&channel_id);
    (regular || monoforum).then_some((PeerKind::Channel, channel_id))
}

/// The `chat_id` request parameter: a Bot API chat id or a public `@username`.
///
/// Deserializes from a JSON integer, a numeric string (`"-100123"`, as form and multipart
/// bodies carry it) or `"@username"`; serializes back as an integer or `"@username"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChatIdParam {
    /// A numeric Bot API chat id.
    Id(i64),
    /// A username, stored without the leading `@`.
    Username(String),
}

/// Why a `chat_id` value was rejected. Display names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatIdError {
    /// The value was an empty string (Telegram: "Bad Request: chat_id is empty").
    #[error("chat_id is empty")]
    Empty,
    /// Neither an integer nor `@username`.
    #[error("chat_id must be an Integer or a String starting with '@', got {0:?}")]
    Invalid(String),
}

impl ChatIdError {
    /// The error Telegram answers with: 400 "chat_id is empty" for an empty value, and
    /// 400 "chat not found" for anything else unparseable (the Bot API server reads such a
    /// value as id 0, which matches no chat).
    pub fn to_api_error(&self) -> ApiError {
        match self {
            Self::Empty => ApiError::bad_request("chat_id is empty"),
            Self::Invalid(_) => ApiError::chat_not_found(),
        }
    }
}

impl ChatIdParam {
    /// Parses the string form of `chat_id`: digits with an optional sign, or `@username`.
    pub fn parse(value: &str) -> Result<Self, ChatIdError> {
        if value.is_empty() {
            return Err(ChatIdError::Empty);
        }
        if let Some(username) = value.strip_prefix('@') {
            let valid = !username.is_empty()
                && username
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            return if valid {
                Ok(Self::Username(username.to_owned()))
            } else {
                Err(ChatIdError::Invalid(value.to_owned()))
            };
        }
        value
            .parse::<i64>()
            .map(Self::Id)
            .map_err(|_| ChatIdError::Invalid(value.to_owned()))
    }
}

impl FromStr for ChatIdParam {
    type Err = ChatIdError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl fmt::Display for ChatIdParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Username(name) => write!(f, "@{name}"),
        }
    }
}

impl Serialize for ChatIdParam {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Id(id) => serializer.serialize_i64(*id),
            Self::Username(_) => serializer.collect_str(self),
        }
    }
}

struct ChatIdVisitor;

impl Visitor<'_> for ChatIdVisitor {
    type Value = ChatIdParam;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("chat_id as an Integer or a String (\"-100123\" or \"@username\")")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<ChatIdParam, E> {
        Ok(ChatIdParam::Id(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<ChatIdParam, E> {
        i64::try_from(value)
            .map(ChatIdParam::Id)
            .map_err(|_| E::custom(format!("chat_id {value} is out of range")))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<ChatIdParam, E> {
        ChatIdParam::parse(value).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for ChatIdParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ChatIdVisitor)
    }
}

/// OpenAPI schema of `chat_id`: an integer or a string (`"-100123"`, `"@username"`).
#[cfg(feature = "utoipa")]
impl utoipa::PartialSchema for ChatIdParam {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Integer))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "Bot API chat id (`-100…` for supergroups and channels) or `@username`",
            ))
            .into()
    }
}

#[cfg(feature = "utoipa")]
impl utoipa::ToSchema for ChatIdParam {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_ids_map_to_expected_peers() {
        assert_eq!(
            peer_from_bot_api_chat_id(777000),
            Some((PeerKind::User, 777000))
        );
        assert_eq!(peer_from_bot_api_chat_id(-123), Some((PeerKind::Chat, 123)));
        assert_eq!(
            peer_from_bot_api_chat_id(-1001234567890),
            Some((PeerKind::Channel, 1234567890))
        );
        assert_eq!(
            bot_api_chat_id(PeerKind::Channel, 1234567890),
            -1001234567890
        );
        assert_eq!(bot_api_chat_id(PeerKind::Chat, 123), -123);
    }

    #[test]
    fn boundaries_follow_tdlib_ranges() {
        assert_eq!(peer_from_bot_api_chat_id(0), None);
        assert_eq!(
            peer_from_bot_api_chat_id(MAX_USER_ID),
            Some((PeerKind::User, MAX_USER_ID))
        );
        assert_eq!(peer_from_bot_api_chat_id(MAX_USER_ID + 1), None);
        assert_eq!(
            peer_from_bot_api_chat_id(-MAX_CHAT_ID),
            Some((PeerKind::Chat, MAX_CHAT_ID))
        );
        // -10^12 itself is neither a group nor a channel.
        assert_eq!(peer_from_bot_api_chat_id(ZERO_CHANNEL_ID), None);
        assert_eq!(
            peer_from_bot_api_chat_id(ZERO_CHANNEL_ID - 1),
            Some((PeerKind::Channel, 1))
        );
        let last_regular = ZERO_CHANNEL_ID - (MAX_CHANNEL_ID - 1);
        assert_eq!(
            peer_from_bot_api_chat_id(last_regular),
            Some((PeerKind::Channel, MAX_CHANNEL_ID - 1))
        );
        // Secret-chat range, between regular and monoforum channels.
        assert_eq!(peer_from_bot_api_chat_id(-2_000_000_000_001), None);
        let monoforum = bot_api_chat_id(PeerKind::Channel, MIN_MONOFORUM_CHANNEL_ID);
        assert_eq!(
            peer_from_bot_api_chat_id(monoforum),
            Some((PeerKind::Channel, MIN_MONOFORUM_CHANNEL_ID))
        );
        assert_eq!(peer_from_bot_api_chat_id(-4_000_000_000_000), None);
        assert_eq!(peer_from_bot_api_chat_id(i64::MIN), None);
    }

    #[test]
    fn chat_id_param_accepts_integer_numeric_string_and_username() {
        let from_int: ChatIdParam = serde_json::from_str("-100123").expect("int");
        let from_str: ChatIdParam = serde_json::from_str(r#""-100123""#).expect("str");
        let from_name: ChatIdParam = serde_json::from_str(r#""@durov""#).expect("name");
        assert_eq!(from_int, ChatIdParam::Id(-100123));
        assert_eq!(from_str, ChatIdParam::Id(-100123));
        assert_eq!(from_name, ChatIdParam::Username("durov".into()));
        assert_eq!(
            serde_json::to_string(&from_name).expect("ser"),
            r#""@durov""#
        );
        assert_eq!(serde_json::to_string(&from_str).expect("ser"), "-100123");
    }

    #[test]
    fn chat_id_param_errors_name_the_parameter() {
        let err = serde_json::from_str::<ChatIdParam>(r#""hello""#).expect_err("invalid");
        assert!(err.to_string().contains("chat_id"), "{err}");
        let err = serde_json::from_str::<ChatIdParam>("true").expect_err("bool");
        assert!(err.to_string().contains("chat_id"), "{err}");
        assert_eq!(ChatIdParam::parse(""), Err(ChatIdError::Empty));
        assert_eq!(
            ChatIdError::Empty.to_api_error().description,
            "Bad Request: chat_id is empty"
        );
        assert_eq!(
            ChatIdParam::parse("@").map_err(|e| e.to_api_error().description),
            Err("Bad Request: chat not found".to_owned())
        );
    }

    proptest! {
        #[test]
        fn user_ids_round_trip(bare in 1..=MAX_USER_ID) {
            let id = bot_api_chat_id(PeerKind::User, bare);
            prop_assert_eq!(peer_from_bot_api_chat_id(id), Some((PeerKind::User, bare)));
        }

        #[test]
        fn group_ids_round_trip(bare in 1..=MAX_CHAT_ID) {
            let id = bot_api_chat_id(PeerKind::Chat, bare);
            prop_assert_eq!(peer_from_bot_api_chat_id(id), Some((PeerKind::Chat, bare)));
        }

        #[test]
        fn channel_ids_round_trip(bare in prop_oneof![1..MAX_CHANNEL_ID, MIN_MONOFORUM_CHANNEL_ID..MAX_MONOFORUM_CHANNEL_ID]) {
            let id = bot_api_chat_id(PeerKind::Channel, bare);
            prop_assert_eq!(peer_from_bot_api_chat_id(id), Some((PeerKind::Channel, bare)));
        }

        #[test]
        fn every_accepted_id_maps_back_to_itself(id in any::<i64>()) {
            if let Some((kind, bare)) = peer_from_bot_api_chat_id(id) {
                prop_assert_eq!(bot_api_chat_id(kind, bare), id);
            }
        }
    }
}
