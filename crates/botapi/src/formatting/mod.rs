//! Bot API `parse_mode` parsing: HTML, MarkdownV2 and legacy Markdown into plain text plus
//! entities, following <https://core.telegram.org/bots/api#formatting-options>.
//!
//! Offsets and lengths are UTF-16 code units. Error texts are the official server's (TDLib's
//! parsers); the caller answers 400 with [`ParseError::to_api_error`].

mod error;
mod html;
mod link;
mod markdown;
mod markdown_v2;
mod output;
#[cfg(test)]
mod tests_html;
#[cfg(test)]
mod tests_markdown;
#[cfg(test)]
mod tests_markdown_v2;

pub use error::ParseError;
pub use html::parse_html;
pub use link::mention_user_id;
pub use markdown::parse_markdown;
pub use markdown_v2::parse_markdown_v2;

use std::str::FromStr;

use crate::types::MessageEntity;

/// Plain text and its entities, the result of every parser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormattedText {
    /// Text with markup removed and HTML entities / escapes decoded.
    pub text: String,
    /// Entities sorted by offset, longer (outer) first on ties; UTF-16 offsets.
    pub entities: Vec<MessageEntity>,
}

/// The `parse_mode` parameter (Bot API "Formatting options").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseMode {
    /// `HTML`
    Html,
    /// `MarkdownV2`
    MarkdownV2,
    /// `Markdown` (legacy; no nesting, no underline/strike/spoiler).
    Markdown,
}

/// A `parse_mode` value that names no mode. Telegram's wording: "Unsupported parse_mode".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported parse_mode")]
pub struct UnknownParseMode;

impl FromStr for ParseMode {
    type Err = UnknownParseMode;

    /// Case-insensitive, as the Bot API server lowercases the value before matching.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "html" => Ok(Self::Html),
            "markdownv2" => Ok(Self::MarkdownV2),
            "markdown" => Ok(Self::Markdown),
            _ => Err(UnknownParseMode),
        }
    }
}

impl ParseMode {
    /// Parses `input` in this mode.
    pub fn parse(self, input: &str) -> Result<FormattedText, ParseError> {
        match self {
            Self::Html => parse_html(input),
            Self::MarkdownV2 => parse_markdown_v2(input),
            Self::Markdown => parse_markdown(input),
        }
    }
}

/// Length of `text` in UTF-16 code units, the unit of entity offsets.
pub fn utf16_len(text: &str) -> u32 {
    let len: usize = text.chars().map(char::len_utf16).sum();
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Orders entities as Telegram returns them: by offset, then longer first.
fn sort_entities(entities: &mut [MessageEntity]) {
    entities.sort_by_key(|entity| (entity.offset, std::cmp::Reverse(entity.length)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_mode_is_case_insensitive() {
        assert_eq!("HTML".parse(), Ok(ParseMode::Html));
        assert_eq!("html".parse(), Ok(ParseMode::Html));
        assert_eq!("MarkdownV2".parse(), Ok(ParseMode::MarkdownV2));
        assert_eq!("markdownv2".parse(), Ok(ParseMode::MarkdownV2));
        assert_eq!("MARKDOWN".parse(), Ok(ParseMode::Markdown));
        assert_eq!("rst".parse::<ParseMode>(), Err(UnknownParseMode));
    }

    fn entities_fit(parsed: &FormattedText) -> bool {
        let len = utf16_len(&parsed.text);
        parsed
            .entities
            .iter()
            .all(|e| e.length > 0 && e.offset + e.length <= len)
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic_and_entities_fit(
            input in "[<>&#;*_`|~\\\\\\[\\]()!>.\n a漢👍/=\"'bi-]{0,40}"
        ) {
            for mode in [ParseMode::Html, ParseMode::MarkdownV2, ParseMode::Markdown] {
                if let Ok(parsed) = mode.parse(&input) {
                    proptest::prop_assert!(entities_fit(&parsed), "{mode:?} {input:?} {parsed:?}");
                }
            }
        }
    }

    #[test]
    fn utf16_len_counts_surrogate_pairs() {
        assert_eq!(utf16_len("a"), 1);
        assert_eq!(utf16_len("漢字"), 2);
        assert_eq!(utf16_len("👍"), 2);
        assert_eq!(utf16_len("👨‍👩‍👧"), 8);
    }
}
