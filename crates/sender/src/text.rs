//! Bot API text parameters (`text` + `parse_mode` or `entities`, link preview switches) → what
//! the Telegram layer sends (Bot API section "Formatting options").

use botapi::formatting::{FormattedText, ParseMode};
use botapi::types::{LinkPreviewOptions, MessageEntity};

use crate::error::ApiError;

/// The text to send and its entities (UTF-16 offsets), from the request's `text`,
/// `parse_mode` and `entities`.
///
/// As the Bot API server does, a non-empty `parse_mode` other than `none` wins over `entities`
/// (matched case-insensitively). Errors, all 400: "unsupported parse_mode", the parser's
/// "can't parse entities: …", and "message text is empty" when nothing but whitespace is left.
pub fn formatted(
    text: &str,
    parse_mode: Option<&str>,
    entities: Option<Vec<MessageEntity>>,
) -> Result<FormattedText, ApiError> {
    let mode = parse_mode
        .map(str::trim)
        .filter(|m| !m.is_empty() && !m.eq_ignore_ascii_case("none"));
    let formatted = match mode {
        Some(mode) if !text.is_empty() => {
            let mode: ParseMode = mode.parse().map_err(botapi::ApiError::bad_request)?;
            mode.parse(text).map_err(|e| e.to_api_error())?
        }
        _ => FormattedText {
            text: text.to_owned(),
            entities: entities.unwrap_or_default(),
        },
    };
    if formatted.text.trim().is_empty() {
        return Err(botapi::ApiError::message_text_empty().into());
    }
    Ok(formatted)
}

/// A media caption from `caption`, `parse_mode` and `caption_entities`, like [`formatted`]
/// except that it may be absent or empty (then no caption, no entities).
pub fn caption(
    caption: Option<&str>,
    parse_mode: Option<&str>,
    entities: Option<Vec<MessageEntity>>,
) -> Result<FormattedText, ApiError> {
    match caption {
        Some(text) if !text.trim().is_empty() => match formatted(text, parse_mode, entities) {
            // Markup that leaves nothing (`<b></b>`) is an empty caption, not an error.
            Err(e) if e == botapi::ApiError::message_text_empty().into() => {
                Ok(FormattedText::default())
            }
            other => other,
        },
        _ => Ok(FormattedText::default()),
    }
}

/// Whether to suppress the link preview: `link_preview_options.is_disabled`, else the legacy
/// `disable_web_page_preview`, else `false`.
pub fn no_webpage(options: Option<&LinkPreviewOptions>, legacy_disable: Option<bool>) -> bool {
    options
        .and_then(|o| o.is_disabled)
        .or(legacy_disable)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use botapi::types::MessageEntityType;

    #[test]
    fn html_becomes_text_and_utf16_entities() {
        let out = formatted("👍 <b>bold</b>", Some("HTML"), None).expect("parse");
        assert_eq!(out.text, "👍 bold");
        assert_eq!(
            out.entities,
            vec![MessageEntity::new(MessageEntityType::Bold, 3, 4)]
        );
    }

    #[test]
    fn parse_mode_wins_over_entities_and_none_means_plain() {
        let given = vec![MessageEntity::new(MessageEntityType::Italic, 0, 1)];
        let out = formatted("<b>x</b>", Some("html"), Some(given.clone())).expect("parse");
        assert_eq!(out.entities[0].kind, MessageEntityType::Bold);
        let out = formatted("*x*", Some("None"), Some(given.clone())).expect("plain");
        assert_eq!((out.text.as_str(), out.entities), ("*x*", given));
    }

    #[test]
    fn bad_input_is_a_bad_request() {
        let description =
            |r: Result<FormattedText, ApiError>| r.expect_err("rejected").0.description;
        assert_eq!(
            description(formatted("x", Some("rst"), None)),
            "Bad Request: unsupported parse_mode"
        );
        assert_eq!(
            description(formatted("  ", None, None)),
            "Bad Request: message text is empty"
        );
        assert_eq!(
            description(formatted("<b></b>", Some("HTML"), None)),
            "Bad Request: message text is empty"
        );
        assert!(
            description(formatted("<x>", Some("HTML"), None))
                .starts_with("Bad Request: can't parse entities")
        );
    }

    #[test]
    fn captions_may_be_absent_or_empty() {
        assert_eq!(caption(None, None, None).expect("none").text, "");
        assert_eq!(caption(Some("  "), None, None).expect("blank").text, "");
        assert_eq!(
            caption(Some("<b></b>"), Some("HTML"), None)
                .expect("empty")
                .text,
            ""
        );
        let bold = caption(Some("<b>hi</b>"), Some("HTML"), None).expect("bold");
        assert_eq!((bold.text.as_str(), bold.entities.len()), ("hi", 1));
        assert!(caption(Some("<b>"), Some("HTML"), None).is_err());
    }

    #[test]
    fn link_preview_options_override_the_legacy_flag() {
        let disabled = LinkPreviewOptions {
            is_disabled: Some(true),
            ..Default::default()
        };
        assert!(no_webpage(Some(&disabled), Some(false)));
        assert!(no_webpage(None, Some(true)));
        assert!(!no_webpage(Some(&LinkPreviewOptions::default()), None));
    }
}
