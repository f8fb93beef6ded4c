//! The Bot API `InputMedia` object (<https://core.telegram.org/bots/api#inputmedia>): one item
//! of `sendMediaGroup`, or `editMessageMedia`'s new media.

use serde::{Deserialize, Serialize};

use super::MessageEntity;

/// Kind of an [`InputMedia`], its `type` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InputMediaType {
    /// `photo`.
    Photo,
    /// `video`.
    Video,
    /// `animation` (not allowed in albums).
    Animation,
    /// `audio`.
    Audio,
    /// `document`.
    Document,
}

/// A file to send with its caption and attributes. `media` is a `file_id`, an HTTP(S) URL, or
/// `attach://<name>` naming a multipart part. Fields that do not apply to `type` are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct InputMedia {
    /// `photo`, `video`, `animation`, `audio` or `document`.
    #[serde(rename = "type")]
    pub kind: InputMediaType,
    /// The file.
    pub media: String,
    /// Thumbnail (`attach://…`); accepted and ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    /// Caption, 0–1024 characters after entity parsing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// `parse_mode` of the caption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    /// Explicit caption entities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption_entities: Option<Vec<MessageEntity>>,
    /// Video/animation width, pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Video/animation height, pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Duration, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// Audio performer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performer: Option<String>,
    /// Audio title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Video suitable for streaming.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supports_streaming: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_attach_reference() {
        let media: InputMedia =
            serde_json::from_str(r#"{"type":"photo","media":"attach://a","caption":"x"}"#)
                .expect("deserialize");
        assert_eq!(media.kind, InputMediaType::Photo);
        assert_eq!(media.media, "attach://a");
    }
}
