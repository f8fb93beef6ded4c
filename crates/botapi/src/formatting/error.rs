//! Entity parsing errors, worded as the official Bot API server words them.

use crate::response::ApiError;

/// Why `parse_mode` text was rejected. Display is Telegram's text after "Bad Request: ",
/// e.g. `can't parse entities: Unsupported start tag "foo" at byte offset 0`. Byte offsets
/// are into the UTF-8 input as received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// HTML: `<` with no closing `>`.
    #[error("can't parse entities: Unclosed start tag at byte offset {offset}")]
    UnclosedStartTag {
        /// Byte offset of the `<`.
        offset: usize,
    },
    /// HTML: a tag name outside the supported list (a bare `<` must be written `&lt;`).
    #[error("can't parse entities: Unsupported start tag \"{tag}\" at byte offset {offset}")]
    UnsupportedStartTag {
        /// Lowercased tag name.
        tag: String,
        /// Byte offset of the `<`.
        offset: usize,
    },
    /// HTML: `=` or a quote where an attribute name was expected.
    #[error(
        "can't parse entities: Empty attribute name in the tag \"{tag}\" at byte offset {offset}"
    )]
    EmptyAttributeName {
        /// Lowercased tag name.
        tag: String,
        /// Byte offset of the `<`.
        offset: usize,
    },
    /// HTML: input ended inside a tag's attributes.
    #[error("can't parse entities: Unclosed start tag \"{tag}\" at byte offset {offset}")]
    UnclosedNamedStartTag {
        /// Lowercased tag name.
        tag: String,
        /// Byte offset of the `<`.
        offset: usize,
    },
    /// HTML: an unquoted attribute value followed by something other than space or `>`.
    #[error("can't parse entities: Unexpected end of name token at byte offset {offset}")]
    UnexpectedEndOfNameToken {
        /// Byte offset of the value.
        offset: usize,
    },
    /// HTML: `<span>` without `class="tg-spoiler"`.
    #[error(
        "can't parse entities: Tag \"span\" must have class \"tg-spoiler\" at byte offset {offset}"
    )]
    SpanWithoutSpoilerClass {
        /// Byte offset of the `<`.
        offset: usize,
    },
    /// HTML: an end tag with nothing open.
    #[error("can't parse entities: Unexpected end tag at byte offset {offset}")]
    UnexpectedEndTag {
        /// Byte offset of the `</`.
        offset: usize,
    },
    /// HTML: `</name` not followed by `>`.
    #[error("can't parse entities: Unclosed end tag at byte offset {offset}")]
    UnclosedEndTag {
        /// Byte offset of the `</`.
        offset: usize,
    },
    /// HTML: an end tag that does not match the innermost open tag.
    #[error(
        "can't parse entities: Unmatched end tag at byte offset {offset}, expected \"</{expected}>\", found \"</{found}>\""
    )]
    UnmatchedEndTag {
        /// Byte offset of the `</`.
        offset: usize,
        /// The innermost open tag.
        expected: String,
        /// The end tag found.
        found: String,
    },
    /// HTML: input ended with a tag still open.
    #[error("can't parse entities: Can't find end tag corresponding to start tag \"{tag}\"")]
    MissingEndTag {
        /// The innermost open tag.
        tag: String,
    },
    /// HTML: a numeric entity decoded to a lone UTF-16 surrogate.
    #[error(
        "can't parse entities: Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"
    )]
    InvalidUnicode,
    /// HTML `emoji-id` / MarkdownV2 `tg://emoji?id=` that is not a non-zero integer.
    #[error("can't parse entities: Invalid custom emoji identifier specified")]
    InvalidCustomEmojiId,
    /// Legacy Markdown: an entity opened and never closed.
    #[error("can't parse entities: Can't find end of the entity starting at byte offset {offset}")]
    UnclosedEntity {
        /// Byte offset of the opening character.
        offset: usize,
    },
    /// MarkdownV2: an entity opened and never closed; `kind` is TDLib's name ("Bold", "TextUrl").
    #[error("can't parse entities: Can't find end of {kind} entity at byte offset {offset}")]
    UnclosedTypedEntity {
        /// TDLib's entity type name.
        kind: &'static str,
        /// Byte offset of the opening character.
        offset: usize,
    },
    /// MarkdownV2: a reserved character outside an entity marker.
    #[error(
        "can't parse entities: Character '{character}' is reserved and must be escaped with the preceding '\\'"
    )]
    ReservedCharacter {
        /// The unescaped character.
        character: char,
    },
    /// MarkdownV2: `](` with no closing `)`.
    #[error("can't parse entities: Can't find end of a URL at byte offset {offset}")]
    UnclosedUrl {
        /// Byte offset just after the `(`.
        offset: usize,
    },
    /// MarkdownV2: `![…]` not followed by `(`.
    #[error("can't parse entities: The entity must contain a tg://emoji or tg://time URL")]
    MissingEmojiUrl,
    /// MarkdownV2: `![…](url)` whose URL is not `tg://emoji?id=N`.
    #[error("can't parse entities: Invalid tg://emoji or tg://time URL specified")]
    InvalidEmojiUrl,
}

impl ParseError {
    /// The 400 answer: "Bad Request: can't parse entities: …".
    pub fn to_api_error(&self) -> ApiError {
        ApiError::bad_request(self)
    }
}
