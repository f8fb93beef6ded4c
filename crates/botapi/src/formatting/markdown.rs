//! `parse_mode=Markdown`, the legacy mode (Bot API "Markdown style").

use super::link::{checked_link, mention_user_id};
use super::markdown_v2::pre_header;
use super::output::{Output, char_at};
use super::{FormattedText, ParseError, sort_entities};
use crate::types::{MessageEntity, MessageEntityType as T};

/// Parses legacy Bot API Markdown into plain text and entities.
///
/// `*bold*`, `_italic_`, `` `code` ``, ```` ```lang\npre``` ```` and `[text](url)` (without
/// `(url)` the text is the URL). Entities do not nest: everything up to the closing marker is
/// literal. Only `_ * `` ` `` [` can be escaped with `\`. Error: an entity without its closing
/// marker ("Can't find end of the entity starting at byte offset N").
pub fn parse_markdown(input: &str) -> Result<FormattedText, ParseError> {
    let bytes = input.as_bytes();
    let at = |j: usize| bytes.get(j).copied().unwrap_or(0);
    let mut out = Output::default();
    let mut entities = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' && matches!(at(i + 1), b'_' | b'*' | b'`' | b'[') {
            out.push(char::from(at(i + 1)));
            i += 2;
            continue;
        }
        if !matches!(c, b'_' | b'*' | b'`' | b'[') {
            let ch = char_at(input, i).unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let begin = i;
        let is_pre = c == b'`' && at(i + 1) == b'`' && at(i + 2) == b'`';
        let end_char = if c == b'[' { b']' } else { c };
        let mut language = None;
        i += 1;
        if is_pre {
            (language, i) = pre_header(input, i + 2);
        }
        let (offset, text_start) = (out.utf16, out.text.len());
        let is_end =
            |j: usize| at(j) == end_char && (!is_pre || (at(j + 1) == b'`' && at(j + 2) == b'`'));
        while i < bytes.len() && !is_end(i) {
            let ch = char_at(input, i).unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
        }
        if i >= bytes.len() {
            return Err(ParseError::UnclosedEntity { offset: begin });
        }
        let length = out.utf16 - offset;
        let entity = match c {
            b'_' => Some(MessageEntity::new(T::Italic, offset, length)),
            b'*' => Some(MessageEntity::new(T::Bold, offset, length)),
            b'`' if is_pre => Some(MessageEntity::pre(offset, length, language)),
            b'`' => Some(MessageEntity::new(T::Code, offset, length)),
            _ => {
                let url = if at(i + 1) == b'(' {
                    let url_start = i + 2;
                    let url_end = bytes[url_start.min(bytes.len())..]
                        .iter()
                        .position(|&b| b == b')')
                        .map_or(bytes.len(), |p| url_start + p);
                    let url = input.get(url_start..url_end).unwrap_or_default().to_owned();
                    i = url_end;
                    url
                } else {
                    out.text[text_start..].to_owned()
                };
                let url = if mention_user_id(&url).is_some() {
                    Some(url)
                } else {
                    checked_link(&url)
                };
                url.map(|url| MessageEntity::text_link(offset, length, url))
            }
        };
        if let Some(entity) = entity.filter(|e| e.length > 0) {
            entities.push(entity);
        }
        i += if is_pre { 3 } else { 1 };
    }
    sort_entities(&mut entities);
    Ok(FormattedText {
        text: out.text,
        entities,
    })
}
