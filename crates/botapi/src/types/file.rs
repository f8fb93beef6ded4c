//! The Bot API `File` object (<https://core.telegram.org/bots/api#file>), `getFile`'s result.

use serde::{Deserialize, Serialize};

/// A file ready to download (Bot API "File"). Download it from
/// `/file/bot<token>/<file_path>`; this gateway's `file_path` stays valid as long as the
/// `file_id` does (it encodes it), not only for an hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct File {
    /// Identifier to download or reuse the file.
    pub file_id: String,
    /// Stable identifier, not usable to download.
    pub file_unique_id: String,
    /// Size in bytes, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// Path to append to the download URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
}
