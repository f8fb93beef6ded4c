//! The Bot API `LinkPreviewOptions` object (<https://core.telegram.org/bots/api#linkpreviewoptions>).

use serde::{Deserialize, Serialize};

/// How the link preview of a text message is generated and shown (Bot API section
/// "LinkPreviewOptions"). Every field is optional; an empty object means defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LinkPreviewOptions {
    /// `true` disables the preview.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_disabled: Option<bool>,
    /// URL to preview; defaults to the first URL in the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Shrink the preview's media.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefer_small_media: Option<bool>,
    /// Enlarge the preview's media.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefer_large_media: Option<bool>,
    /// Show the preview above the message text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_above_text: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_is_default() {
        let options: LinkPreviewOptions = serde_json::from_str("{}").expect("deserialize");
        assert_eq!(options, LinkPreviewOptions::default());
        assert_eq!(serde_json::to_string(&options).expect("serialize"), "{}");
    }
}
