//! `parse_mode=MarkdownV2` (Bot API "MarkdownV2 style").

use super::link::{checked_link, mention_user_id};
use super::output::{Output, char_at};
use super::{FormattedText, ParseError, sort_entities};
use crate::types::{MessageEntity, MessageEntityType as T};

/// Characters that must be escaped with `\` outside code (Bot API "MarkdownV2 style").
const RESERVED: &[u8] = b"_*[]()~`>#+-=|{}.!\n";

/// An entity whose closing marker has not been seen yet.
struct Open {
    kind: T,
    /// TDLib's name for error messages ("Bold", "PreCode", …).
    name: &'static str,
    language: Option<String>,
    offset: u32,
    /// Byte offset of the opening marker in the input.
    marker_at: usize,
    /// Byte offset of the content in the output (for `[url]` without `(…)`).
    text_start: usize,
}

/// Parser state: input, output, open entities and blockquote bookkeeping.
struct State<'a> {
    input: &'a str,
    out: Output,
    entities: Vec<MessageEntity>,
    open: Vec<Open>,
    in_quote: bool,
    at_line_start: bool,
}

/// Parses Bot API MarkdownV2 into plain text and entities.
///
/// `*bold*`, `_italic_`, `__underline__`, `~strike~`, `||spoiler||`, `[text](url)` (a
/// `tg://user?id=N` URL stays a `text_link`, see [`super::mention_user_id`]),
/// `![👍](tg://emoji?id=N)`, `` `code` ``, ```` ```lang\npre``` ````, `>` block quotes and
/// `**>` … `||` expandable ones. Any ASCII char (1..=126) may be escaped with `\`; the
/// characters `_*[]()~`>#+-=|{}.!` must be, outside code. Entities nest; empty ones are dropped.
pub fn parse_markdown_v2(input: &str) -> Result<FormattedText, ParseError> {
    let mut state = State {
        input,
        out: Output::default(),
        entities: Vec::new(),
        open: Vec::new(),
        in_quote: false,
        at_line_start: true,
    };
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        i = state.step(i)?;
    }
    state.finish()
}

impl State<'_> {
    fn byte(&self, i: usize) -> u8 {
        self.input.as_bytes().get(i).copied().unwrap_or(0)
    }

    fn in_code(&self) -> bool {
        matches!(self.open.last(), Some(open) if matches!(open.kind, T::Code | T::Pre))
    }

    /// Consumes input from `i`; returns the next index.
    fn step(&mut self, i: usize) -> Result<usize, ParseError> {
        let c = self.byte(i);
        let next = self.byte(i + 1);
        if c == b'\\' && (1..=126).contains(&next) {
            self.out.push(char::from(next));
            if next != b'\r' {
                self.at_line_start = next == b'\n';
            }
            return Ok(i + 2);
        }
        let reserved = if self.in_code() { &b"`"[..] } else { RESERVED };
        if !reserved.contains(&c) {
            let ch = char_at(self.input, i).unwrap_or('\u{fffd}');
            self.out.push(ch);
            if ch != '\r' {
                self.at_line_start = false;
            }
            return Ok(i + ch.len_utf8());
        }
        if self.closes_top(i) {
            self.close(i)
        } else {
            self.open_at(i)
        }
    }

    /// Whether the marker at `i` ends the innermost open entity.
    fn closes_top(&self, i: usize) -> bool {
        let Some(top) = self.open.last() else {
            return false;
        };
        let (c, next) = (self.byte(i), self.byte(i + 1));
        if self.in_quote && c == b'\n' && next != b'>' {
            return true;
        }
        match top.kind {
            T::Bold => c == b'*',
            T::Italic => c == b'_' && next != b'_',
            T::Underline => c == b'_' && next == b'_',
            T::Strikethrough => c == b'~',
            T::Spoiler => c == b'|' && next == b'|',
            T::Code => c == b'`',
            T::Pre => c == b'`' && next == b'`' && self.byte(i + 2) == b'`',
            T::TextLink | T::CustomEmoji => c == b']',
            _ => false,
        }
    }

    /// Opens the entity whose marker starts at `i`; returns the index after the marker.
    fn open_at(&mut self, i: usize) -> Result<usize, ParseError> {
        let reserved = || ParseError::ReservedCharacter {
            character: char::from(self.byte(i)),
        };
        let (kind, name, mut next) = match (self.byte(i), self.byte(i + 1)) {
            (b'_', b'_') => (T::Underline, "Underline", i + 2),
            (b'_', _) => (T::Italic, "Italic", i + 1),
            (b'*', _) => (T::Bold, "Bold", i + 1),
            (b'~', _) => (T::Strikethrough, "Strikethrough", i + 1),
            (b'|', b'|') => (T::Spoiler, "Spoiler", i + 2),
            (b'[', _) => (T::TextLink, "TextUrl", i + 1),
            (b'!', b'[') => (T::CustomEmoji, "CustomEmoji", i + 2),
            (b'`', b'`') if self.byte(i + 2) == b'`' => (T::Pre, "Pre", i + 3),
            (b'`', _) => (T::Code, "Code", i + 1),
            (b'\n', _) => {
                self.out.push('\n');
                self.at_line_start = true;
                return Ok(i + 1);
            }
            (b'>', _) if self.at_line_start && self.in_quote => return Ok(i + 1),
            (b'>', _) if self.at_line_start => {
                self.in_quote = true;
                (T::Blockquote, "BlockQuote", i + 1)
            }
            _ => return Err(reserved()),
        };
        let mut language = None;
        let mut name = name;
        if kind == T::Pre {
            (language, next) = pre_header(self.input, next);
            if language.is_some() {
                name = "PreCode";
            }
        }
        self.open.push(Open {
            kind,
            name,
            language,
            offset: self.out.utf16,
            marker_at: i,
            text_start: self.out.text.len(),
        });
        Ok(next)
    }

    /// Closes the innermost entity at the marker `i`; returns the index after the marker.
    fn close(&mut self, i: usize) -> Result<usize, ParseError> {
        let Some(mut top) = self.open.pop() else {
            return Ok(i + 1);
        };
        let c = self.byte(i);
        if c == b'\n' && top.kind != T::Blockquote {
            top = self.expandable_mark(top, i)?;
        }
        let mut entity = MessageEntity::new(top.kind, top.offset, self.out.utf16 - top.offset);
        let next = match top.kind {
            T::Underline | T::Spoiler => i + 2,
            T::Pre => {
                entity.language = top.language.take();
                i + 3
            }
            T::TextLink => {
                let (url, next) = self.link_target(i, &top)?;
                let url = if mention_user_id(&url).is_some() {
                    Some(url)
                } else {
                    checked_link(&url)
                };
                entity.url = url;
                if entity.url.is_none() {
                    entity.length = 0;
                }
                next
            }
            T::CustomEmoji => {
                let (id, next) = self.emoji_target(i)?;
                entity.custom_emoji_id = Some(id);
                next
            }
            T::Blockquote | T::ExpandableBlockquote => {
                self.in_quote = false;
                self.out.push('\n');
                self.at_line_start = true;
                entity.length = self.out.utf16 - top.offset;
                i + 1
            }
            _ => i + 1,
        };
        if entity.length > 0 {
            self.entities.push(entity);
        }
        Ok(next)
    }

    /// A line break inside a quote may only end it if the innermost entity is the `||`
    /// expandability mark placed right before it; returns the quote, now expandable.
    fn expandable_mark(&mut self, top: Open, i: usize) -> Result<Open, ParseError> {
        let cr_before = self.out.text.ends_with('\r');
        let is_mark = top.kind == T::Spoiler
            && (top.marker_at + 2 == i || (top.marker_at + 3 == i && cr_before));
        let unclosed = |open: &Open| ParseError::UnclosedTypedEntity {
            kind: open.name,
            offset: open.marker_at,
        };
        if !is_mark {
            return Err(unclosed(&top));
        }
        match self.open.pop() {
            Some(quote) if quote.kind == T::Blockquote => Ok(Open {
                kind: T::ExpandableBlockquote,
                ..quote
            }),
            Some(other) => Err(unclosed(&other)),
            None => Err(unclosed(&top)),
        }
    }

    /// `](url)` after a link's text, or the text itself as URL; returns URL and next index.
    fn link_target(&self, i: usize, top: &Open) -> Result<(String, usize), ParseError> {
        if self.byte(i + 1) != b'(' {
            return Ok((self.out.text[top.text_start..].to_owned(), i + 1));
        }
        self.url_in_parens(i + 2)
    }

    /// `](tg://emoji?id=N)` after a custom emoji's text; returns the id and next index.
    fn emoji_target(&self, i: usize) -> Result<(String, usize), ParseError> {
        if self.byte(i + 1) != b'(' {
            return Err(ParseError::MissingEmojiUrl);
        }
        let (url, next) = self.url_in_parens(i + 2)?;
        let id = url
            .get(..14)
            .filter(|prefix| prefix.eq_ignore_ascii_case("tg://emoji?id="))
            .and_then(|_| url[14..].parse::<i64>().ok())
            .ok_or(ParseError::InvalidEmojiUrl)?;
        if id == 0 {
            return Err(ParseError::InvalidCustomEmojiId);
        }
        Ok((id.to_string(), next))
    }

    /// Reads an escaped URL from `start` up to `)`; returns it and the index after `)`.
    fn url_in_parens(&self, start: usize) -> Result<(String, usize), ParseError> {
        let mut url = String::new();
        let mut i = start;
        loop {
            match self.byte(i) {
                b')' => return Ok((url, i + 1)),
                0 if i >= self.input.len() => {
                    return Err(ParseError::UnclosedUrl { offset: start });
                }
                b'\\' if (1..=126).contains(&self.byte(i + 1)) => {
                    url.push(char::from(self.byte(i + 1)));
                    i += 2;
                }
                _ => {
                    let ch = char_at(self.input, i).unwrap_or('\u{fffd}');
                    url.push(ch);
                    i += ch.len_utf8();
                }
            }
        }
    }

    /// Closes a quote still open at the end of input, then checks nothing else is open.
    fn finish(mut self) -> Result<FormattedText, ParseError> {
        if self.in_quote {
            let len = self.input.len();
            let mut kind = T::Blockquote;
            if matches!(self.open.last(), Some(top) if top.kind == T::Spoiler && top.marker_at + 2 == len)
            {
                self.open.pop();
                kind = T::ExpandableBlockquote;
            }
            if let Some(top) = self.open.pop_if(|top| top.kind == T::Blockquote) {
                let length = self.out.utf16 - top.offset;
                if length > 0 {
                    self.entities
                        .push(MessageEntity::new(kind, top.offset, length));
                }
            }
        }
        if let Some(top) = self.open.last() {
            return Err(ParseError::UnclosedTypedEntity {
                kind: top.name,
                offset: top.marker_at,
            });
        }
        sort_entities(&mut self.entities);
        Ok(FormattedText {
            text: self.out.text,
            entities: self.entities,
        })
    }
}

/// After ```` ``` ````: an optional language up to whitespace (only if more text follows
/// that is not a backtick), then one skipped line break; returns the language and next index.
pub(super) fn pre_header(input: &str, start: usize) -> (Option<String>, usize) {
    let bytes = input.as_bytes();
    let mut end = start;
    while end < bytes.len() && !bytes[end].is_ascii_whitespace() && bytes[end] != b'`' {
        end += 1;
    }
    let mut language = None;
    let mut i = start;
    if end != start && end < bytes.len() && bytes[end] != b'`' {
        language = Some(input[start..end].to_owned());
        i = end;
    }
    (language, skip_one_line_break(bytes, i))
}

/// Skips one line break (`\n`, `\r`, `\r\n` or `\n\r`) at `i`, as after a ```` ``` ```` header.
fn skip_one_line_break(bytes: &[u8], i: usize) -> usize {
    let at = |j: usize| bytes.get(j).copied().unwrap_or(0);
    match at(i) {
        b'\n' | b'\r' if matches!(at(i + 1), b'\n' | b'\r') && at(i) != at(i + 1) => i + 2,
        b'\n' | b'\r' => i + 1,
        _ => i,
    }
}
