//! Polls: the Bot API `Poll`, `PollOption` and `InputPollOption` objects
//! (<https://core.telegram.org/bots/api#poll>).

use serde::{Deserialize, Serialize};

use super::MessageEntity;

/// One answer option of a poll (Bot API "PollOption").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PollOption {
    /// Identifier of the option within its poll, unchanged when options are added or removed
    /// (Bot API 9.6, required): the MTProto option bytes in lowercase hex.
    pub persistent_id: String,
    /// Option text, 1–100 characters.
    pub text: String,
    /// Entities of `text` (custom emoji only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_entities: Option<Vec<MessageEntity>>,
    /// Votes for this option.
    pub voter_count: i32,
}

/// A poll (Bot API "Poll"). `type` is `regular` or `quiz`; dates are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Poll {
    /// Unique poll identifier (decimal string of the MTProto poll id).
    pub id: String,
    /// Question, 1–300 characters.
    pub question: String,
    /// Entities of `question`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question_entities: Option<Vec<MessageEntity>>,
    /// The options.
    pub options: Vec<PollOption>,
    /// Everyone who voted.
    pub total_voter_count: i32,
    /// No more votes accepted.
    pub is_closed: bool,
    /// Voters are not shown.
    pub is_anonymous: bool,
    /// `regular` or `quiz`.
    #[serde(rename = "type")]
    pub kind: String,
    /// More than one option may be chosen.
    pub allows_multiple_answers: bool,
    /// Voters may take their vote back (required in Bot API 10.1; MTProto: not
    /// `revoting_disabled`).
    pub allows_revoting: bool,
    /// Only members of the chat may vote (required in Bot API 10.1; MTProto
    /// `subscribers_only`).
    pub members_only: bool,
    /// ISO 3166-1 alpha-2 codes of the countries whose users may vote, when restricted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_codes: Option<Vec<String>>,
    /// Quiz only: indexes of the correct options, when known (Bot API 10.x).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct_option_ids: Option<Vec<i32>>,
    /// Quiz only: the first of [`Poll::correct_option_ids`]. Not in Bot API 10.x: kept for
    /// clients built against older versions (a documented extension in `spec/overlay.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct_option_id: Option<i32>,
    /// Quiz only: the explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// Seconds the poll stays open after creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_period: Option<i32>,
    /// When the poll closes, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_date: Option<i64>,
}

/// An option of a poll to send (Bot API "InputPollOption"). `sendPoll` also accepts a bare
/// string per option; see [`InputPollOptionParam`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct InputPollOption {
    /// Option text, 1–100 characters.
    pub text: String,
    /// `parse_mode` of `text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_parse_mode: Option<String>,
    /// Explicit entities of `text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_entities: Option<Vec<MessageEntity>>,
}

/// One element of `sendPoll`'s `options`: an [`InputPollOption`] or, as older clients send,
/// a bare string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum InputPollOptionParam {
    /// `"Yes"`.
    Text(String),
    /// `{"text":"Yes"}`.
    Option(InputPollOption),
}

impl InputPollOptionParam {
    /// The option's text either way.
    pub fn text(&self) -> &str {
        match self {
            Self::Text(text) => text,
            Self::Option(option) => &option.text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_may_be_strings_or_objects() {
        let options: Vec<InputPollOptionParam> =
            serde_json::from_str(r#"["a",{"text":"b"}]"#).expect("deserialize");
        let texts: Vec<&str> = options.iter().map(InputPollOptionParam::text).collect();
        assert_eq!(texts, ["a", "b"]);
    }

    #[test]
    fn poll_type_is_serialized_under_type() {
        let poll = Poll {
            id: "1".into(),
            question: "?".into(),
            question_entities: None,
            options: vec![],
            total_voter_count: 0,
            is_closed: false,
            is_anonymous: true,
            kind: "regular".into(),
            allows_multiple_answers: false,
            allows_revoting: true,
            members_only: false,
            country_codes: None,
            correct_option_ids: None,
            correct_option_id: None,
            explanation: None,
            open_period: None,
            close_date: None,
        };
        let json = serde_json::to_value(&poll).expect("serialize");
        assert_eq!(json["type"], "regular");
        assert!(json.get("explanation").is_none());
    }
}
