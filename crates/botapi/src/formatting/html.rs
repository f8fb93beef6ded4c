//! `parse_mode=HTML` (Bot API "HTML style").

use super::link::{checked_link, mention_user_id};
use super::output::{Output, char_at};
use super::{FormattedText, ParseError, sort_entities};
use crate::types::{MessageEntity, MessageEntityType};

/// Tags the Bot API accepts (plus `span`, which must carry `class="tg-spoiler"`).
const SUPPORTED_TAGS: &[&str] = &[
    "a",
    "b",
    "strong",
    "i",
    "em",
    "s",
    "strike",
    "del",
    "u",
    "ins",
    "tg-spoiler",
    "tg-emoji",
    "span",
    "pre",
    "code",
    "blockquote",
];

/// An open tag: its name, its meaningful attribute, and where its content starts.
struct OpenTag {
    name: String,
    argument: String,
    offset: u32,
    text_start: usize,
}

/// Parses Bot API HTML into plain text and entities.
///
/// Tags: b/strong, i/em, u/ins, s/strike/del, tg-spoiler and `span class="tg-spoiler"`,
/// `a href` (an empty href links the text itself; `tg://user?id=N` stays a `text_link`, see
/// [`super::mention_user_id`]), `tg-emoji emoji-id`, code, pre, `pre > code class="language-x"`,
/// blockquote and `blockquote expandable`. Named entities `&lt; &gt; &amp; &quot;` and all
/// numeric ones are decoded; any other `&` is literal. Tag and attribute names are
/// case-insensitive. Errors: see [`ParseError`] (HTML variants).
pub fn parse_html(input: &str) -> Result<FormattedText, ParseError> {
    let bytes = input.as_bytes();
    let mut out = Output::default();
    let mut entities = Vec::new();
    let mut open: Vec<OpenTag> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'&' => match decode_entity(input, i)? {
                Some((c, next)) => {
                    out.push(c);
                    i = next;
                }
                None => {
                    out.push('&');
                    i += 1;
                }
            },
            b'<' if bytes.get(i + 1) == Some(&b'/') => {
                let tag = open
                    .pop()
                    .ok_or(ParseError::UnexpectedEndTag { offset: i })?;
                i = parse_end_tag(input, i, &tag.name)?;
                close_tag(tag, &out, &mut entities)?;
            }
            b'<' => {
                let (tag, next) = parse_start_tag(input, i, &out)?;
                open.push(tag);
                i = next;
            }
            _ => {
                let c = char_at(input, i).unwrap_or('\u{fffd}');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    if let Some(tag) = open.pop() {
        return Err(ParseError::MissingEndTag { tag: tag.name });
    }
    for entity in &mut entities {
        if entity.kind == MessageEntityType::Code {
            entity.language = None;
        }
    }
    sort_entities(&mut entities);
    Ok(FormattedText {
        text: out.text,
        entities,
    })
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c')
}

/// Decodes the HTML entity at `start` (an `&`): the char and the index after the `;`, or
/// `None` if it is not a supported, terminated entity.
fn decode_entity(input: &str, start: usize) -> Result<Option<(char, usize)>, ParseError> {
    let rest = &input.as_bytes()[start + 1..];
    let Some(end) = rest.iter().take(16).position(|&b| b == b';') else {
        return Ok(None);
    };
    let body = &input[start + 1..start + 1 + end];
    let next = start + end + 2;
    let code = if let Some(hex) = body
        .strip_prefix(['#'])
        .and_then(|s| s.strip_prefix(['x', 'X']))
    {
        u32::from_str_radix(hex, 16).ok()
    } else if let Some(dec) = body.strip_prefix('#') {
        dec.parse::<u32>().ok()
    } else {
        let named = match body {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            _ => return Ok(None),
        };
        return Ok(Some((named, next)));
    };
    match code {
        Some(0) | None => Ok(None),
        Some(0xd800..=0xdfff) => Err(ParseError::InvalidUnicode),
        Some(code) => Ok(char::from_u32(code).map(|c| (c, next))),
    }
}

/// Parses `<name attr=…>` at `begin`; returns the open tag and the index after `>`.
fn parse_start_tag(
    input: &str,
    begin: usize,
    out: &Output,
) -> Result<(OpenTag, usize), ParseError> {
    let bytes = input.as_bytes();
    let mut i = begin + 1;
    while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'>' {
        i += 1;
    }
    if i >= bytes.len() {
        return Err(ParseError::UnclosedStartTag { offset: begin });
    }
    let name = input[begin + 1..i].to_ascii_lowercase();
    if !SUPPORTED_TAGS.contains(&name.as_str()) {
        return Err(ParseError::UnsupportedStartTag {
            tag: name,
            offset: begin,
        });
    }
    let mut argument = String::new();
    loop {
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        match bytes.get(i) {
            None => {
                return Err(ParseError::UnclosedNamedStartTag {
                    tag: name,
                    offset: begin,
                });
            }
            Some(b'>') => break,
            Some(_) => {}
        }
        let (attribute, value, next) = parse_attribute(input, i, &name, begin)?;
        i = next;
        match (name.as_str(), attribute.as_str()) {
            ("a", "href") | ("tg-emoji", "emoji-id") => argument = value.unwrap_or_default(),
            ("code", "class") => {
                if let Some(language) = value.as_deref().and_then(|v| v.strip_prefix("language-")) {
                    argument = language.to_owned();
                }
            }
            ("span", "class") => {
                if let Some(class) = value.as_deref().and_then(|v| v.strip_prefix("tg-")) {
                    argument = class.to_owned();
                }
            }
            ("blockquote", "expandable") => argument = "1".to_owned(),
            _ => {}
        }
    }
    if name == "span" && argument != "spoiler" {
        return Err(ParseError::SpanWithoutSpoilerClass { offset: begin });
    }
    let tag = OpenTag {
        name,
        argument,
        offset: out.utf16,
        text_start: out.text.len(),
    };
    Ok((tag, i + 1))
}

/// Parses one attribute at `start`: its name (as written), its value if `=` follows, and the
/// index after it. Attribute names are matched case-sensitively, as Telegram does.
fn parse_attribute(
    input: &str,
    start: usize,
    tag: &str,
    tag_begin: usize,
) -> Result<(String, Option<String>, usize), ParseError> {
    let bytes = input.as_bytes();
    let unclosed = || ParseError::UnclosedNamedStartTag {
        tag: tag.to_owned(),
        offset: tag_begin,
    };
    let mut i = start;
    while i < bytes.len() && !is_space(bytes[i]) && !b"=>/\"'".contains(&bytes[i]) {
        i += 1;
    }
    if i == start {
        return Err(ParseError::EmptyAttributeName {
            tag: tag.to_owned(),
            offset: tag_begin,
        });
    }
    let name = input[start..i].to_owned();
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    match bytes.get(i) {
        None => return Err(unclosed()),
        Some(b'=') => i += 1,
        Some(_) => return Ok((name, None, i)),
    }
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    let quote = *bytes.get(i).ok_or_else(unclosed)?;
    if quote != b'"' && quote != b'\'' {
        let value_start = i;
        while i < bytes.len()
            && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'-')
        {
            i += 1;
        }
        if i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'>' {
            return Err(ParseError::UnexpectedEndOfNameToken {
                offset: value_start,
            });
        }
        return Ok((name, Some(input[value_start..i].to_ascii_lowercase()), i));
    }
    i += 1;
    let mut value = String::new();
    while i < bytes.len() && bytes[i] != quote {
        if bytes[i] == b'&'
            && let Some((c, next)) = decode_entity(input, i)?
        {
            value.push(c);
            i = next;
            continue;
        }
        let c = char_at(input, i).unwrap_or('\u{fffd}');
        value.push(c);
        i += c.len_utf8();
    }
    if i >= bytes.len() {
        return Err(ParseError::UnclosedStartTag { offset: tag_begin });
    }
    Ok((name, Some(value), i + 1))
}

/// Checks the end tag at `begin` against `expected`; returns the index after `>`.
fn parse_end_tag(input: &str, begin: usize, expected: &str) -> Result<usize, ParseError> {
    let bytes = input.as_bytes();
    let mut i = begin + 2;
    while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'>' {
        i += 1;
    }
    let found = input[begin + 2..i].to_ascii_lowercase();
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    if bytes.get(i) != Some(&b'>') {
        return Err(ParseError::UnclosedEndTag { offset: begin });
    }
    if !found.is_empty() && found != expected {
        return Err(ParseError::UnmatchedEndTag {
            offset: begin,
            expected: expected.to_owned(),
            found,
        });
    }
    Ok(i + 1)
}

/// Turns a closed tag into an entity (none if its content is empty).
fn close_tag(
    tag: OpenTag,
    out: &Output,
    entities: &mut Vec<MessageEntity>,
) -> Result<(), ParseError> {
    use MessageEntityType as T;
    let (offset, length) = (tag.offset, out.utf16 - tag.offset);
    if length == 0 {
        return Ok(());
    }
    let simple = |kind| MessageEntity::new(kind, offset, length);
    let entity = match tag.name.as_str() {
        "b" | "strong" => simple(T::Bold),
        "i" | "em" => simple(T::Italic),
        "u" | "ins" => simple(T::Underline),
        "s" | "strike" | "del" => simple(T::Strikethrough),
        "tg-spoiler" | "span" => simple(T::Spoiler),
        "blockquote" if tag.argument.is_empty() => simple(T::Blockquote),
        "blockquote" => simple(T::ExpandableBlockquote),
        "tg-emoji" => match tag.argument.parse::<i64>() {
            Ok(id) if id != 0 => MessageEntity::custom_emoji(offset, length, id.to_string()),
            _ => return Err(ParseError::InvalidCustomEmojiId),
        },
        "a" => {
            let url = if tag.argument.is_empty() {
                out.text[tag.text_start..].to_owned()
            } else {
                tag.argument
            };
            let url = if mention_user_id(&url).is_some() {
                Some(url)
            } else {
                checked_link(&url)
            };
            match url {
                Some(url) => MessageEntity::text_link(offset, length, url),
                None => return Ok(()),
            }
        }
        "pre" => match entities.last_mut() {
            // <pre><code class="language-x">…</code></pre>: the code entity becomes a pre.
            Some(last)
                if last.kind == T::Code
                    && (last.offset, last.length) == (offset, length)
                    && last.language.is_some() =>
            {
                last.kind = T::Pre;
                return Ok(());
            }
            _ => MessageEntity::pre(offset, length, None),
        },
        "code" => {
            let language = Some(tag.argument).filter(|l| !l.is_empty());
            match entities.last_mut() {
                // <code class="language-x"><pre>…</pre></code> is accepted the same way.
                Some(last)
                    if last.kind == T::Pre
                        && (last.offset, last.length) == (offset, length)
                        && language.is_some() =>
                {
                    last.language = language;
                    return Ok(());
                }
                _ => MessageEntity {
                    language,
                    ..simple(T::Code)
                },
            }
        }
        _ => return Ok(()),
    };
    entities.push(entity);
    Ok(())
}
