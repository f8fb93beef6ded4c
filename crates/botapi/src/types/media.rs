//! Bot API media objects (<https://core.telegram.org/bots/api#photosize> through `#sticker`).
//!
//! Every object carries `file_id` (usable to download or resend the file) and `file_unique_id`
//! (stable across bots and time, not usable to download). Sizes are bytes, durations whole
//! seconds, dimensions pixels. `mime_type` is always present (possibly `null`) on audio, voice
//! and video objects, because teloxide drops the media when the key is missing.

use serde::{Deserialize, Serialize};

/// One size of a photo (Bot API "PhotoSize"). A photo is an array of these, largest last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PhotoSize {
    /// Identifier to download or reuse the file.
    pub file_id: String,
    /// Stable identifier, not usable to download.
    pub file_unique_id: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

/// A music file (Bot API "Audio").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Audio {
    /// Identifier to download or reuse the file.
    pub file_id: String,
    /// Stable identifier, not usable to download.
    pub file_unique_id: String,
    /// Duration in seconds, as the sender defined it.
    pub duration: u32,
    /// Performer as defined by the sender or by audio tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performer: Option<String>,
    /// Title as defined by the sender or by audio tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Original file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// MIME type (always present, possibly null).
    pub mime_type: Option<String>,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

/// A general file (Bot API "Document").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Document {
    /// Identifier to download or reuse the file.
    pub file_id: String,
    /// Stable identifier, not usable to download.
    pub file_unique_id: String,
    /// Original file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// MIME type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

/// A video (Bot API "Video").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Video {
    /// Identifier to download or reuse the file.
    pub file_id: String,
    /// Stable identifier, not usable to download.
    pub file_unique_id: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Duration in seconds.
    pub duration: u32,
    /// Original file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// MIME type (always present, possibly null).
    pub mime_type: Option<String>,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

/// A round video message (Bot API "VideoNote").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct VideoNote {
    /// Identifier to download or reuse the file.
    pub file_id: String,
    /// Stable identifier, not usable to download.
    pub file_unique_id: String,
    /// Width and height (diameter) in pixels.
    pub length: u32,
    /// Duration in seconds.
    pub duration: u32,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

/// A voice note (Bot API "Voice").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Voice {
    /// Identifier to download or reuse the file.
    pub file_id: String,
    /// Stable identifier, not usable to download.
    pub file_unique_id: String,
    /// Duration in seconds.
    pub duration: u32,
    /// MIME type (always present, possibly null).
    pub mime_type: Option<String>,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

/// A GIF or H.264/MPEG-4 AVC video without sound (Bot API "Animation").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Animation {
    /// Identifier to download or reuse the file.
    pub file_id: String,
    /// Stable identifier, not usable to download.
    pub file_unique_id: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Duration in seconds.
    pub duration: u32,
    /// Original file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// MIME type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

/// A sticker (Bot API "Sticker").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Sticker {
    /// Identifier to download or reuse the file.
    pub file_id: String,
    /// Stable identifier, not usable to download.
    pub file_unique_id: String,
    /// `regular`, `mask` or `custom_emoji`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Animated (TGS).
    pub is_animated: bool,
    /// Video (WebM).
    pub is_video: bool,
    /// Emoji associated with the sticker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}
