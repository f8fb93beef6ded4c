//! Tests for legacy `parse_markdown` against the Bot API "Markdown style" rules.

use super::*;
use crate::types::{MessageEntity, MessageEntityType as T};

fn parse(input: &str) -> FormattedText {
    parse_markdown(input).expect("valid Markdown")
}

#[test]
fn bold_italic_code_and_links() {
    let parsed = parse("*b* _i_ `c` [t](https://t.me/) [example.com]");
    assert_eq!(parsed.text, "b i c t example.com");
    assert_eq!(
        parsed.entities,
        vec![
            MessageEntity::new(T::Bold, 0, 1),
            MessageEntity::new(T::Italic, 2, 1),
            MessageEntity::new(T::Code, 4, 1),
            MessageEntity::text_link(6, 1, "https://t.me/"),
            MessageEntity::text_link(8, 11, "http://example.com"),
        ]
    );
}

#[test]
fn pre_with_language_skips_first_line_break() {
    let parsed = parse("```python\nprint(1)\n```");
    assert_eq!(parsed.text, "print(1)\n");
    assert_eq!(
        parsed.entities,
        vec![MessageEntity::pre(0, 9, Some("python".into()))]
    );
}

#[test]
fn no_nesting_and_escapes() {
    let parsed = parse(r"*a _b_* \*x\_ 2.5!");
    assert_eq!(parsed.text, "a _b_ *x_ 2.5!");
    assert_eq!(parsed.entities, vec![MessageEntity::new(T::Bold, 0, 5)]);
}

#[test]
fn utf16_offsets() {
    let parsed = parse("👍 *漢字👍*");
    assert_eq!(parsed.entities, vec![MessageEntity::new(T::Bold, 3, 4)]);
}

#[test]
fn unclosed_entity_reports_byte_offset() {
    let error = parse_markdown("👍 *bold").expect_err("unclosed");
    assert_eq!(
        error.to_string(),
        "can't parse entities: Can't find end of the entity starting at byte offset 5"
    );
}
