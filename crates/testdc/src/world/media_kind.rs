//! Files as a user's client sends them: the attributes Telegram apps set per media kind.

use grammers_tl_types as tl;

use super::RpcError;
use super::media::{FileKind, MediaStore, StoredFile};

/// The kinds of media a simulated user can send, as the Bot API names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A compressed photo.
    Photo,
    /// A voice note (OGG/Opus).
    Voice,
    /// A music file with title and performer.
    Audio,
    /// A video that supports streaming.
    Video,
    /// A round video message.
    VideoNote,
    /// A GIF-like silent video.
    Animation,
    /// Any file.
    Document,
    /// A WebP sticker.
    Sticker,
}

/// The metadata a client states when it sends a file (testdc does not probe audio/video).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct MediaMeta {
    /// File name shown for documents, audio and video.
    pub file_name: Option<String>,
    /// MIME type; a per-kind default when absent.
    pub mime_type: Option<String>,
    /// Duration in seconds (voice, audio, video, video note, animation).
    pub duration: Option<f64>,
    /// Width in pixels (video kinds; photos and stickers are measured).
    pub width: Option<i32>,
    /// Height in pixels.
    pub height: Option<i32>,
    /// Audio title.
    pub title: Option<String>,
    /// Audio performer.
    pub performer: Option<String>,
}

impl MediaStore {
    /// Stores a file as a user's client would upload it: photos and stickers measured from the
    /// bytes, other kinds with the attributes Telegram clients set for them.
    /// Errors: `PHOTO_INVALID_DIMENSIONS` when a photo or sticker is not an image.
    pub fn store_kind(
        &mut self,
        kind: MediaKind,
        bytes: Vec<u8>,
        meta: &MediaMeta,
        access_hash: i64,
        date: i32,
    ) -> Result<StoredFile, RpcError> {
        use tl::enums::DocumentAttribute as A;
        let measure = |bytes: &[u8]| {
            imagesize::blob_size(bytes)
                .map(|s| (s.width as i32, s.height as i32))
                .map_err(|_| RpcError::bad("PHOTO_INVALID_DIMENSIONS"))
        };
        let secs = meta.duration.unwrap_or(0.0);
        let (w, h) = (meta.width.unwrap_or(0), meta.height.unwrap_or(0));
        let video = |round: bool| {
            A::Video(tl::types::DocumentAttributeVideo {
                round_message: round,
                supports_streaming: true,
                nosound: false,
                duration: secs,
                w,
                h,
                preload_prefix_size: None,
                video_start_ts: None,
                video_codec: None,
            })
        };
        let audio = |voice: bool| {
            A::Audio(tl::types::DocumentAttributeAudio {
                voice,
                duration: secs.round() as i32,
                title: meta.title.clone(),
                performer: meta.performer.clone(),
                waveform: None,
            })
        };
        let name = meta
            .file_name
            .clone()
            .map(|file_name| A::Filename(tl::types::DocumentAttributeFilename { file_name }));
        let (default_mime, mut attributes) = match kind {
            MediaKind::Photo => {
                let (w, h) = measure(&bytes)?;
                return Ok(self.store(bytes, FileKind::Photo { w, h }, access_hash, date));
            }
            MediaKind::Voice => ("audio/ogg", vec![audio(true)]),
            MediaKind::Audio => ("audio/mpeg", vec![audio(false)]),
            MediaKind::Video => ("video/mp4", vec![video(false)]),
            MediaKind::VideoNote => ("video/mp4", vec![video(true)]),
            MediaKind::Animation => ("video/mp4", vec![video(false), A::Animated]),
            MediaKind::Document => ("application/octet-stream", Vec::new()),
            MediaKind::Sticker => {
                let (w, h) = measure(&bytes)?;
                let sticker = A::Sticker(tl::types::DocumentAttributeSticker {
                    mask: false,
                    alt: "🙂".into(),
                    stickerset: tl::enums::InputStickerSet::Empty,
                    mask_coords: None,
                });
                (
                    "image/webp",
                    vec![
                        A::ImageSize(tl::types::DocumentAttributeImageSize { w, h }),
                        sticker,
                    ],
                )
            }
        };
        if !matches!(kind, MediaKind::Voice | MediaKind::VideoNote) {
            attributes.extend(name);
        }
        let mime_type = meta
            .mime_type
            .clone()
            .unwrap_or_else(|| default_mime.to_owned());
        Ok(self.store(
            bytes,
            FileKind::Document {
                mime_type,
                attributes,
            },
            access_hash,
            date,
        ))
    }
}
