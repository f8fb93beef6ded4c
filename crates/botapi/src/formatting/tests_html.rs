//! Tests for `parse_html` against the Bot API "HTML style" rules.

use super::*;
use crate::types::{MessageEntity, MessageEntityType as T};

fn parse(input: &str) -> FormattedText {
    parse_html(input).expect("valid HTML")
}

fn entity(kind: T, offset: u32, length: u32) -> MessageEntity {
    MessageEntity::new(kind, offset, length)
}

fn error(input: &str) -> String {
    parse_html(input).expect_err("invalid HTML").to_string()
}

#[test]
fn basic_tags_and_synonyms() {
    let parsed = parse(
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>",
    );
    assert_eq!(parsed.text, "bsieunskd");
    let kinds: Vec<_> = parsed
        .entities
        .iter()
        .map(|e| (e.kind, e.offset, e.length))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (T::Bold, 0, 1),
            (T::Bold, 1, 1),
            (T::Italic, 2, 1),
            (T::Italic, 3, 1),
            (T::Underline, 4, 1),
            (T::Underline, 5, 1),
            (T::Strikethrough, 6, 1),
            (T::Strikethrough, 7, 1),
            (T::Strikethrough, 8, 1),
        ]
    );
}

#[test]
fn nested_entities_sort_outer_first() {
    let parsed = parse("<b>bold <i>both</i></b>");
    assert_eq!(parsed.text, "bold both");
    assert_eq!(
        parsed.entities,
        vec![entity(T::Bold, 0, 9), entity(T::Italic, 5, 4)]
    );
}

#[test]
fn offsets_count_utf16_code_units_for_emoji_and_cjk() {
    let parsed = parse("👍漢<b>字👍x</b>");
    assert_eq!(parsed.text, "👍漢字👍x");
    assert_eq!(parsed.entities, vec![entity(T::Bold, 3, 4)]);
}

#[test]
fn spoilers_both_spellings() {
    let parsed = parse(r#"<tg-spoiler>a</tg-spoiler><span class="tg-spoiler">b</span>"#);
    assert_eq!(
        parsed.entities,
        vec![entity(T::Spoiler, 0, 1), entity(T::Spoiler, 1, 1)]
    );
    assert_eq!(
        error(r#"<span class="x">b</span>"#),
        "can't parse entities: Tag \"span\" must have class \"tg-spoiler\" at byte offset 0"
    );
}

#[test]
fn links_and_user_mentions() {
    let parsed = parse(
        r#"<a href="https://t.me/">t</a> <a href="tg://user?id=42">u</a> <a>example.com</a>"#,
    );
    assert_eq!(parsed.text, "t u example.com");
    assert_eq!(
        parsed.entities,
        vec![
            MessageEntity::text_link(0, 1, "https://t.me/"),
            MessageEntity::text_link(2, 1, "tg://user?id=42"),
            MessageEntity::text_link(4, 11, "http://example.com"),
        ]
    );
    assert_eq!(mention_user_id("tg://user?id=42"), Some(42));
}

#[test]
fn custom_emoji_needs_numeric_id() {
    let parsed = parse(r#"<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>"#);
    assert_eq!(
        parsed.entities,
        vec![MessageEntity::custom_emoji(0, 2, "5368324170671202286")]
    );
    assert_eq!(
        error(r#"<tg-emoji emoji-id="abc">👍</tg-emoji>"#),
        "can't parse entities: Invalid custom emoji identifier specified"
    );
}

#[test]
fn code_pre_and_language() {
    let parsed =
        parse(r#"<code>x</code> <pre>y</pre> <pre><code class="language-rust">fn</code></pre>"#);
    assert_eq!(parsed.text, "x y fn");
    assert_eq!(
        parsed.entities,
        vec![
            entity(T::Code, 0, 1),
            MessageEntity::pre(2, 1, None),
            MessageEntity::pre(4, 2, Some("rust".into())),
        ]
    );
}

#[test]
fn blockquotes_plain_and_expandable() {
    let parsed = parse("<blockquote>q</blockquote><blockquote expandable>e</blockquote>");
    assert_eq!(
        parsed.entities,
        vec![
            entity(T::Blockquote, 0, 1),
            entity(T::ExpandableBlockquote, 1, 1)
        ]
    );
}

#[test]
fn html_entities_are_decoded() {
    let parsed = parse("&lt;b&gt; &amp; &quot; &#65;&#x42; &#128077; &nbsp; & x");
    assert_eq!(parsed.text, "<b> & \" AB 👍 &nbsp; & x");
    assert!(parsed.entities.is_empty());
    assert_eq!(
        error("&#xD83D;"),
        "can't parse entities: Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"
    );
}

#[test]
fn entity_in_attribute_value_is_decoded() {
    let parsed = parse(r#"<a href="https://x.y/?a=1&amp;b=2">l</a>"#);
    assert_eq!(
        parsed.entities[0].url.as_deref(),
        Some("https://x.y/?a=1&b=2")
    );
}

#[test]
fn tags_are_case_insensitive_and_empty_ones_dropped() {
    let parsed = parse("<B>x</B><i></i>");
    assert_eq!(parsed.entities, vec![entity(T::Bold, 0, 1)]);
}

#[test]
fn errors_use_telegram_wordings() {
    let cases = [
        (
            "<foo>x</foo>",
            "Unsupported start tag \"foo\" at byte offset 0",
        ),
        ("a < b", "Unsupported start tag \"\" at byte offset 2"),
        ("x<b", "Unclosed start tag at byte offset 1"),
        (
            "<b>x",
            "Can't find end tag corresponding to start tag \"b\"",
        ),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        (
            "<b>x</i>",
            "Unmatched end tag at byte offset 4, expected \"</b>\", found \"</i>\"",
        ),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        (
            "<a href=x!>y</a>",
            "Unexpected end of name token at byte offset 8",
        ),
        (
            "<a =x>y</a>",
            "Empty attribute name in the tag \"a\" at byte offset 0",
        ),
        ("<a href", "Unclosed start tag \"a\" at byte offset 0"),
    ];
    for (input, message) in cases {
        assert_eq!(
            error(input),
            format!("can't parse entities: {message}"),
            "{input}"
        );
    }
}

#[test]
fn error_becomes_bad_request() {
    let api = parse_html("<foo>").expect_err("invalid").to_api_error();
    assert_eq!(api.error_code, 400);
    assert_eq!(
        api.description,
        "Bad Request: can't parse entities: Unsupported start tag \"foo\" at byte offset 0"
    );
}
