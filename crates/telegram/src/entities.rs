//! Bot API `MessageEntity` ↔ MTProto `MessageEntity`. Both count offsets and lengths in UTF-16
//! code units, so only the kinds map.

use botapi::types::{MessageEntity, MessageEntityType as K};
use grammers_tl_types as tl;

/// Converts Bot API entities for sending. `text_mention` needs the user's access hash, which
/// the caller resolves; entities the account cannot send (none today) are dropped.
pub(crate) fn to_tl(entities: &[MessageEntity]) -> Vec<tl::enums::MessageEntity> {
    use tl::enums::MessageEntity as E;
    use tl::types as t;
    entities
        .iter()
        .filter_map(|e| {
            let (offset, length) = (e.offset as i32, e.length as i32);
            Some(match e.kind {
                K::Mention => E::Mention(t::MessageEntityMention { offset, length }),
                K::Hashtag => E::Hashtag(t::MessageEntityHashtag { offset, length }),
                K::Cashtag => E::Cashtag(t::MessageEntityCashtag { offset, length }),
                K::BotCommand => E::BotCommand(t::MessageEntityBotCommand { offset, length }),
                K::Url => E::Url(t::MessageEntityUrl { offset, length }),
                K::Email => E::Email(t::MessageEntityEmail { offset, length }),
                K::PhoneNumber => E::Phone(t::MessageEntityPhone { offset, length }),
                K::Bold => E::Bold(t::MessageEntityBold { offset, length }),
                K::Italic => E::Italic(t::MessageEntityItalic { offset, length }),
                K::Underline => E::Underline(t::MessageEntityUnderline { offset, length }),
                K::Strikethrough => E::Strike(t::MessageEntityStrike { offset, length }),
                K::Spoiler => E::Spoiler(t::MessageEntitySpoiler { offset, length }),
                K::Blockquote | K::ExpandableBlockquote => {
                    E::Blockquote(t::MessageEntityBlockquote {
                        collapsed: e.kind == K::ExpandableBlockquote,
                        offset,
                        length,
                    })
                }
                K::Code => E::Code(t::MessageEntityCode { offset, length }),
                K::Pre => E::Pre(t::MessageEntityPre {
                    offset,
                    length,
                    language: e.language.clone().unwrap_or_default(),
                }),
                K::TextLink => E::TextUrl(t::MessageEntityTextUrl {
                    offset,
                    length,
                    url: e.url.clone()?,
                }),
                K::TextMention => E::MentionName(t::MessageEntityMentionName {
                    offset,
                    length,
                    user_id: e.user.as_ref()?.id,
                }),
                K::CustomEmoji => E::CustomEmoji(t::MessageEntityCustomEmoji {
                    offset,
                    length,
                    document_id: e.custom_emoji_id.as_ref()?.parse().ok()?,
                }),
            })
        })
        .collect()
}

/// [`to_tl`], or `None` for no entities (the optional `entities` of send calls).
pub(crate) fn to_tl_nonempty(entities: &[MessageEntity]) -> Option<Vec<tl::enums::MessageEntity>> {
    (!entities.is_empty()).then(|| to_tl(entities))
}

/// Converts received entities to Bot API ones (unknown kinds are dropped, as the Bot API does).
pub(crate) fn from_tl(entities: &[tl::enums::MessageEntity]) -> Vec<MessageEntity> {
    use tl::enums::MessageEntity as E;
    entities
        .iter()
        .filter_map(|e| {
            let (kind, offset, length) = match e {
                E::Mention(e) => (K::Mention, e.offset, e.length),
                E::Hashtag(e) => (K::Hashtag, e.offset, e.length),
                E::Cashtag(e) => (K::Cashtag, e.offset, e.length),
                E::BotCommand(e) => (K::BotCommand, e.offset, e.length),
                E::Url(e) => (K::Url, e.offset, e.length),
                E::Email(e) => (K::Email, e.offset, e.length),
                E::Phone(e) => (K::PhoneNumber, e.offset, e.length),
                E::Bold(e) => (K::Bold, e.offset, e.length),
                E::Italic(e) => (K::Italic, e.offset, e.length),
                E::Underline(e) => (K::Underline, e.offset, e.length),
                E::Strike(e) => (K::Strikethrough, e.offset, e.length),
                E::Spoiler(e) => (K::Spoiler, e.offset, e.length),
                E::Code(e) => (K::Code, e.offset, e.length),
                E::Blockquote(e) if e.collapsed => (K::ExpandableBlockquote, e.offset, e.length),
                E::Blockquote(e) => (K::Blockquote, e.offset, e.length),
                E::Pre(e) => {
                    let mut out = MessageEntity::new(K::Pre, e.offset as u32, e.length as u32);
                    out.language = Some(e.language.clone()).filter(|l| !l.is_empty());
                    return Some(out);
                }
                E::TextUrl(e) => {
                    return Some(MessageEntity::text_link(
                        e.offset as u32,
                        e.length as u32,
                        e.url.clone(),
                    ));
                }
                E::CustomEmoji(e) => {
                    return Some(MessageEntity::custom_emoji(
                        e.offset as u32,
                        e.length as u32,
                        e.document_id.to_string(),
                    ));
                }
                _ => return None,
            };
            Some(MessageEntity::new(kind, offset as u32, length as u32))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_round_trip() {
        let entities = vec![
            MessageEntity::new(K::Bold, 0, 4),
            MessageEntity::text_link(5, 3, "https://example.com"),
            MessageEntity::pre(9, 6, Some("rust".into())),
            MessageEntity::new(K::ExpandableBlockquote, 16, 2),
        ];
        assert_eq!(from_tl(&to_tl(&entities)), entities);
    }
}
