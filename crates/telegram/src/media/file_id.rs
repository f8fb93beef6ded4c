//! `file_id` and `file_unique_id`: opaque strings that carry everything needed to download or
//! resend a file from either process, with no lookup table.
//!
//! Layout (version 1), base64url without padding:
//! `version:u8 kind:u8 dc_id:i32 id:i64 access_hash:i64 chat_id:i64 message_id:i32
//!  ref_len:u8 file_reference size_len:u8 photo_size`. `chat_id`/`message_id` (Bot API chat id, 0 when unknown) say where
//! the file was seen, so an expired file reference can be refreshed by refetching that message.
//! `file_unique_id` is derived from the file's class and id only, so it is stable across chats,
//! processes and reference refreshes, as the Bot API promises.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grammers_client::media::Downloadable;
use grammers_tl_types as tl;

use super::MediaKind;

const VERSION: u8 = 1;

/// A decoded `file_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileId {
    /// How the file is presented (photo, voice, …).
    pub kind: MediaKind,
    /// The DC that stores it.
    pub dc_id: i32,
    /// Photo or document id.
    pub id: i64,
    /// Access hash of the photo or document.
    pub access_hash: i64,
    /// File reference as last seen; it expires, see [`FileId::origin`].
    pub file_reference: Vec<u8>,
    /// Bot API chat id and message id where the file was seen, to refresh the reference.
    pub origin: Option<(i64, i32)>,
    /// For photos, the size type to download (`x`, `y`, …); empty for documents.
    pub photo_size: String,
}

/// Why a `file_id` string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileIdError {
    /// Not base64url, or too short, or an unknown version/kind.
    #[error("wrong file identifier/HTTP URL specified")]
    Malformed,
}

impl FileId {
    /// Whether the file is a photo (downloaded and resent as a photo, not a document).
    pub fn is_photo(&self) -> bool {
        self.kind == MediaKind::Photo
    }

    /// The opaque string handed to clients.
    pub fn encode(&self) -> String {
        let mut out = Vec::with_capacity(40 + self.file_reference.len());
        out.push(VERSION);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.dc_id.to_le_bytes());
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.access_hash.to_le_bytes());
        let (chat, message) = self.origin.unwrap_or((0, 0));
        out.extend_from_slice(&chat.to_le_bytes());
        out.extend_from_slice(&message.to_le_bytes());
        let reference = &self.file_reference[..self.file_reference.len().min(255)];
        out.push(reference.len() as u8);
        out.extend_from_slice(reference);
        let size = &self.photo_size.as_bytes()[..self.photo_size.len().min(255)];
        out.push(size.len() as u8);
        out.extend_from_slice(size);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Parses a string made by [`FileId::encode`]. Errors: [`FileIdError::Malformed`] (the
    /// Bot API answers "Bad Request: wrong file identifier/HTTP URL specified").
    pub fn decode(s: &str) -> Result<Self, FileIdError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim())
            .map_err(|_| FileIdError::Malformed)?;
        let mut r = Reader(&bytes);
        if r.u8()? != VERSION {
            return Err(FileIdError::Malformed);
        }
        let kind = MediaKind::from_u8(r.u8()?).ok_or(FileIdError::Malformed)?;
        let dc_id = i32::from_le_bytes(r.take()?);
        let id = i64::from_le_bytes(r.take()?);
        let access_hash = i64::from_le_bytes(r.take()?);
        let chat = i64::from_le_bytes(r.take()?);
        let message = i32::from_le_bytes(r.take()?);
        let len = r.u8()? as usize;
        let file_reference = r.slice(len)?.to_vec();
        let len = r.u8()? as usize;
        let photo_size =
            String::from_utf8(r.slice(len)?.to_vec()).map_err(|_| FileIdError::Malformed)?;
        if !r.0.is_empty() {
            return Err(FileIdError::Malformed);
        }
        Ok(Self {
            kind,
            dc_id,
            id,
            access_hash,
            file_reference,
            origin: (chat != 0).then_some((chat, message)),
            photo_size,
        })
    }

    /// The Bot API `file_unique_id`: the same for the same file everywhere, forever.
    pub fn unique_id(&self) -> String {
        let class: u8 = if self.is_photo() { 1 } else { 2 };
        let mut out = vec![class];
        out.extend_from_slice(&self.id.to_le_bytes());
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The MTProto input location for `upload.getFile` (largest photo size `x`… as stored).
    pub fn input_location(&self) -> tl::enums::InputFileLocation {
        if self.is_photo() {
            tl::enums::InputFileLocation::InputPhotoFileLocation(
                tl::types::InputPhotoFileLocation {
                    id: self.id,
                    access_hash: self.access_hash,
                    file_reference: self.file_reference.clone(),
                    thumb_size: self.photo_size.clone(),
                },
            )
        } else {
            tl::enums::InputFileLocation::InputDocumentFileLocation(
                tl::types::InputDocumentFileLocation {
                    id: self.id,
                    access_hash: self.access_hash,
                    file_reference: self.file_reference.clone(),
                    thumb_size: String::new(),
                },
            )
        }
    }

    /// The MTProto `InputMedia` that resends this file without uploading it again.
    pub fn input_media(&self) -> tl::enums::InputMedia {
        if self.is_photo() {
            tl::enums::InputMedia::Photo(tl::types::InputMediaPhoto {
                spoiler: false,
                live_photo: false,
                id: tl::enums::InputPhoto::Photo(tl::types::InputPhoto {
                    id: self.id,
                    access_hash: self.access_hash,
                    file_reference: self.file_reference.clone(),
                }),
                ttl_seconds: None,
                video: None,
            })
        } else {
            tl::enums::InputMedia::Document(tl::types::InputMediaDocument {
                spoiler: false,
                id: tl::enums::InputDocument::Document(tl::types::InputDocument {
                    id: self.id,
                    access_hash: self.access_hash,
                    file_reference: self.file_reference.clone(),
                }),
                video_cover: None,
                video_timestamp: None,
                ttl_seconds: None,
                query: None,
            })
        }
    }
}

impl Downloadable for FileId {
    fn to_raw_input_location(&self) -> Option<tl::enums::InputFileLocation> {
        Some(self.input_location())
    }

    fn dc_id(&self) -> Option<i32> {
        Some(self.dc_id)
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn slice(&mut self, n: usize) -> Result<&'a [u8], FileIdError> {
        if self.0.len() < n {
            return Err(FileIdError::Malformed);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], FileIdError> {
        let mut out = [0; N];
        out.copy_from_slice(self.slice(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, FileIdError> {
        Ok(self.take::<1>()?[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FileId {
        FileId {
            kind: MediaKind::Voice,
            dc_id: 2,
            id: 5_000_000_001,
            access_hash: -42,
            file_reference: vec![1, 2, 3],
            origin: Some((-1_001_400_000_001, 77)),
            photo_size: String::new(),
        }
    }

    #[test]
    fn file_id_round_trips() {
        let id = sample();
        assert_eq!(FileId::decode(&id.encode()), Ok(id));
    }

    #[test]
    fn unique_id_ignores_reference_and_origin() {
        let a = sample();
        let b = FileId {
            file_reference: vec![9],
            origin: None,
            ..sample()
        };
        assert_eq!(a.unique_id(), b.unique_id());
        assert_ne!(a.encode(), b.encode());
    }

    #[test]
    fn garbage_is_malformed() {
        for s in ["", "!!!", "AAAA", &sample().encode()[..10]] {
            assert_eq!(FileId::decode(s), Err(FileIdError::Malformed));
        }
    }
}
