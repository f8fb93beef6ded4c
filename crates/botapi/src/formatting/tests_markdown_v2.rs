//! Tests for `parse_markdown_v2` against the Bot API "MarkdownV2 style" rules.

use super::*;
use crate::types::{MessageEntity, MessageEntityType as T};

fn parse(input: &str) -> FormattedText {
    parse_markdown_v2(input).expect("valid MarkdownV2")
}

fn entity(kind: T, offset: u32, length: u32) -> MessageEntity {
    MessageEntity::new(kind, offset, length)
}

fn error(input: &str) -> String {
    parse_markdown_v2(input)
        .expect_err("invalid MarkdownV2")
        .to_string()
}

#[test]
fn all_inline_styles() {
    let parsed = parse("*b* _i_ __u__ ~s~ ||p|| `c`");
    assert_eq!(parsed.text, "b i u s p c");
    assert_eq!(
        parsed.entities,
        vec![
            entity(T::Bold, 0, 1),
            entity(T::Italic, 2, 1),
            entity(T::Underline, 4, 1),
            entity(T::Strikethrough, 6, 1),
            entity(T::Spoiler, 8, 1),
            entity(T::Code, 10, 1),
        ]
    );
}

#[test]
fn docs_nesting_example() {
    // From the Bot API docs: *bold _italic bold ~italic bold strikethrough ||…||~ __underline italic bold___ bold*
    let parsed = parse("*bold _italic bold ~strike ||spoiler||~ __under___ bold*");
    assert_eq!(parsed.text, "bold italic bold strike spoiler under bold");
    assert_eq!(
        parsed.entities,
        vec![
            entity(T::Bold, 0, 42),
            entity(T::Italic, 5, 32),
            entity(T::Strikethrough, 17, 14),
            entity(T::Spoiler, 24, 7),
            entity(T::Underline, 32, 5),
        ]
    );
}

#[test]
fn escapes_and_reserved_characters() {
    let parsed = parse(r"1\.5 \* \\ \_");
    assert_eq!(parsed.text, r"1.5 * \ _");
    assert_eq!(
        error("Hello."),
        "can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"
    );
    assert_eq!(
        error("a-b"),
        "can't parse entities: Character '-' is reserved and must be escaped with the preceding '\\'"
    );
    assert_eq!(
        error("a|b"),
        "can't parse entities: Character '|' is reserved and must be escaped with the preceding '\\'"
    );
}

#[test]
fn links_mentions_and_escaped_urls() {
    let parsed = parse(r"[site](https://t.me/a\)b) [u](tg://user?id=7)");
    assert_eq!(parsed.text, "site u");
    assert_eq!(
        parsed.entities,
        vec![
            MessageEntity::text_link(0, 4, "https://t.me/a)b"),
            MessageEntity::text_link(5, 1, "tg://user?id=7"),
        ]
    );
    assert_eq!(
        error("[x](https://t.me"),
        "can't parse entities: Can't find end of a URL at byte offset 4"
    );
}

#[test]
fn custom_emoji() {
    let parsed = parse("![👍](tg://emoji?id=5368324170671202286) ok");
    assert_eq!(parsed.text, "👍 ok");
    assert_eq!(
        parsed.entities,
        vec![MessageEntity::custom_emoji(0, 2, "5368324170671202286")]
    );
    assert_eq!(
        error("![👍](https://t.me)"),
        "can't parse entities: Invalid tg://emoji or tg://time URL specified"
    );
    assert_eq!(
        error("![👍]"),
        "can't parse entities: The entity must contain a tg://emoji or tg://time URL"
    );
}

#[test]
fn code_keeps_reserved_characters() {
    let parsed = parse(r"`a.b*c\`d\\`");
    assert_eq!(parsed.text, r"a.b*c`d\");
    assert_eq!(parsed.entities, vec![entity(T::Code, 0, 8)]);
}

#[test]
fn pre_with_language() {
    let parsed = parse("```rust\nlet x = 1;\n```");
    assert_eq!(parsed.text, "let x = 1;\n");
    assert_eq!(
        parsed.entities,
        vec![MessageEntity::pre(0, 11, Some("rust".into()))]
    );
    let parsed = parse("```\nplain```");
    assert_eq!(parsed.entities, vec![MessageEntity::pre(0, 5, None)]);
}

#[test]
fn blockquote_lines_merge_and_end_at_plain_line() {
    let parsed = parse(">one\n>two\nafter");
    assert_eq!(parsed.text, "one\ntwo\nafter");
    assert_eq!(parsed.entities, vec![entity(T::Blockquote, 0, 8)]);
    let parsed = parse(">only");
    assert_eq!(parsed.entities, vec![entity(T::Blockquote, 0, 4)]);
}

#[test]
fn expandable_blockquote_from_docs() {
    let parsed = parse("**>The expandable\n>continued\n>last||\nafter");
    assert_eq!(parsed.text, "The expandable\ncontinued\nlast\nafter");
    assert_eq!(
        parsed.entities,
        vec![entity(T::ExpandableBlockquote, 0, 30)]
    );
    let parsed = parse("**>hidden||");
    assert_eq!(parsed.text, "hidden");
    assert_eq!(parsed.entities, vec![entity(T::ExpandableBlockquote, 0, 6)]);
}

#[test]
fn greater_than_mid_line_is_reserved() {
    assert_eq!(
        error("a>b"),
        "can't parse entities: Character '>' is reserved and must be escaped with the preceding '\\'"
    );
}

#[test]
fn utf16_offsets_with_emoji_and_cjk() {
    let parsed = parse("👍漢 *字👍* _é_");
    assert_eq!(parsed.text, "👍漢 字👍 é");
    assert_eq!(
        parsed.entities,
        vec![entity(T::Bold, 4, 3), entity(T::Italic, 8, 1)]
    );
}

#[test]
fn unclosed_entities_name_their_kind() {
    assert_eq!(
        error("*bold"),
        "can't parse entities: Can't find end of Bold entity at byte offset 0"
    );
    assert_eq!(
        error("x __u"),
        "can't parse entities: Can't find end of Underline entity at byte offset 2"
    );
    assert_eq!(
        error("```py\nx"),
        "can't parse entities: Can't find end of PreCode entity at byte offset 0"
    );
    assert_eq!(
        error(">*q\nz"),
        "can't parse entities: Can't find end of Bold entity at byte offset 1"
    );
}

#[test]
fn parse_mode_dispatches() {
    let parsed = ParseMode::MarkdownV2.parse("*x*").expect("valid");
    assert_eq!(parsed.entities, vec![entity(T::Bold, 0, 1)]);
}
