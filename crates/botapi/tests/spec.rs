//! The Bot API types this crate builds without Telegram (`ChatFullInfo`'s defaults, polls,
//! keyboards as `Message.reply_markup` shows them),
//! serialized and checked against the Bot API spec in `spec/` (`testkit::botapi_spec`).
#![allow(clippy::unwrap_used, missing_docs)]

use botapi::types::{Chat, ChatFullInfo, ChatType, Poll, PollOption, ReplyMarkup};
use testkit::botapi_spec::spec;

#[test]
fn chat_full_info_defaults_are_complete_for_every_chat_type() {
    for (id, kind) in [
        (14, ChatType::Private),
        (-5, ChatType::Group),
        (-1_000_000_000_007, ChatType::Supergroup),
        (-1_000_000_000_008, ChatType::Channel),
    ] {
        let info = ChatFullInfo::new(Chat::new(id, kind));
        spec().assert_type("ChatFullInfo", &serde_json::to_value(&info).unwrap());
    }
}

#[test]
fn a_quiz_with_every_field_set_is_a_valid_poll() {
    let option = |id: &str, text: &str| PollOption {
        persistent_id: id.into(),
        text: text.into(),
        text_entities: None,
        voter_count: 1,
    };
    let poll = Poll {
        id: "5".into(),
        question: "2+2?".into(),
        question_entities: None,
        options: vec![option("30", "3"), option("31", "4")],
        total_voter_count: 2,
        is_closed: false,
        is_anonymous: true,
        kind: "quiz".into(),
        allows_multiple_answers: false,
        allows_revoting: false,
        members_only: true,
        country_codes: Some(vec!["DE".into()]),
        correct_option_ids: Some(vec![1]),
        correct_option_id: Some(1),
        explanation: Some("arithmetic".into()),
        open_period: Some(60),
        close_date: Some(1_800_000_000),
    };
    spec().assert_type("Poll", &serde_json::to_value(&poll).unwrap());
}

#[test]
fn an_inline_keyboard_with_the_10_3_fields_is_valid_reply_markup() {
    let json = r#"{"inline_keyboard":[[{"text":"soon","disabled":{}},{"text":"go","url":"https://example.org"}]],"force_reply":true}"#;
    let markup: ReplyMarkup = serde_json::from_str(json).unwrap();
    let keyboard = markup.inline_keyboard().unwrap();
    spec().assert_type(
        "InlineKeyboardMarkup",
        &serde_json::to_value(keyboard).unwrap(),
    );
}
