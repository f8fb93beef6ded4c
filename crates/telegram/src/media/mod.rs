//! Media: what a message carries (photo, voice, audio, video, video note, animation, document,
//! sticker), its Bot API objects, moving files both ways (`transfer`), and albums, media edits
//! and file sizes (`album`).
//!
//! Classification follows the Bot API: a document with a sticker attribute is a sticker, with
//! `animated` an animation, a round video a video note, a video a video, a voice audio a voice
//! note, other audio an audio file, anything else a document.

mod album;
mod download;
mod file_id;
mod transfer;
mod upload;

use botapi::types as bot;
use grammers_tl_types as tl;

pub use album::AlbumItem;
pub use file_id::{FileId, FileIdError};
pub use transfer::{MediaAttributes, MediaSource, OutgoingMedia};
pub use upload::UPLOAD_WINDOW;

/// Kind of media, named as the Bot API and the webhook payload name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MediaKind {
    /// A compressed photo.
    Photo = 1,
    /// A voice note.
    Voice = 2,
    /// A music file.
    Audio = 3,
    /// A video.
    Video = 4,
    /// A round video message.
    VideoNote = 5,
    /// A GIF or silent video.
    Animation = 6,
    /// Any other file.
    Document = 7,
    /// A sticker.
    Sticker = 8,
}

impl MediaKind {
    /// Every kind, in `repr` order.
    pub const ALL: [MediaKind; 8] = [
        MediaKind::Photo,
        MediaKind::Voice,
        MediaKind::Audio,
        MediaKind::Video,
        MediaKind::VideoNote,
        MediaKind::Animation,
        MediaKind::Document,
        MediaKind::Sticker,
    ];

    /// `photo`, `voice`, `audio`, `video`, `video_note`, `animation`, `document`, `sticker`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Photo => "photo",
            MediaKind::Voice => "voice",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::VideoNote => "video_note",
            MediaKind::Animation => "animation",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }

    fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| *k as u8 == v)
    }
}

/// The media of a received message, with what the webhook payload and the Bot API show.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedMedia {
    /// Kind.
    pub kind: MediaKind,
    /// Where to download it from (the largest size for photos).
    pub file: FileId,
    /// Original file name (documents, audio, video, animations).
    pub file_name: Option<String>,
    /// MIME type (`image/jpeg` for photos).
    pub mime_type: Option<String>,
    /// Size in bytes.
    pub file_size: Option<u64>,
    /// Duration in whole seconds (voice, audio, video kinds).
    pub duration: Option<u32>,
    /// Width in pixels (photos, video kinds, stickers).
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// Audio title.
    pub title: Option<String>,
    /// Audio performer.
    pub performer: Option<String>,
    /// Every photo size, smallest first (photos only).
    pub photo_sizes: Vec<bot::PhotoSize>,
}

fn photo(p: &tl::types::Photo, origin: Option<(i64, i32)>) -> Option<ReceivedMedia> {
    let mut sizes: Vec<(String, u32, u32, u64)> = p
        .sizes
        .iter()
        .filter_map(|s| match s {
            tl::enums::PhotoSize::Size(s) => {
                Some((s.r#type.clone(), s.w as u32, s.h as u32, s.size as u64))
            }
            tl::enums::PhotoSize::Progressive(s) => Some((
                s.r#type.clone(),
                s.w as u32,
                s.h as u32,
                s.sizes.iter().max().copied().unwrap_or(0) as u64,
            )),
            _ => None,
        })
        .collect();
    sizes.sort_by_key(|(_, w, h, _)| u64::from(*w) * u64::from(*h));
    let file_for = |size: &str| FileId {
        kind: MediaKind::Photo,
        dc_id: p.dc_id,
        id: p.id,
        access_hash: p.access_hash,
        file_reference: p.file_reference.clone(),
        origin,
        photo_size: size.to_owned(),
    };
    let photo_sizes: Vec<bot::PhotoSize> = sizes
        .iter()
        .map(|(t, w, h, size)| {
            let file = file_for(t);
            bot::PhotoSize {
                file_id: file.encode(),
                file_unique_id: file.unique_id(),
                width: *w,
                height: *h,
                file_size: Some(*size),
            }
        })
        .collect();
    let (t, w, h, size) = sizes.last()?.clone();
    Some(ReceivedMedia {
        kind: MediaKind::Photo,
        file: file_for(&t),
        file_name: None,
        mime_type: Some("image/jpeg".into()),
        file_size: Some(size),
        duration: None,
        width: Some(w),
        height: Some(h),
        title: None,
        performer: None,
        photo_sizes,
    })
}

fn document(d: &tl::types::Document, origin: Option<(i64, i32)>) -> ReceivedMedia {
    use tl::enums::DocumentAttribute as A;
    let mut kind = MediaKind::Document;
    let mut media = ReceivedMedia {
        kind,
        file: FileId {
            kind,
            dc_id: d.dc_id,
            id: d.id,
            access_hash: d.access_hash,
            file_reference: d.file_reference.clone(),
            origin,
            photo_size: String::new(),
        },
        file_name: None,
        mime_type: Some(d.mime_type.clone()).filter(|m| !m.is_empty()),
        file_size: Some(d.size.max(0) as u64),
        duration: None,
        width: None,
        height: None,
        title: None,
        performer: None,
        photo_sizes: Vec::new(),
    };
    let mut animated = false;
    let mut sticker = false;
    for a in &d.attributes {
        match a {
            A::Filename(f) => media.file_name = Some(f.file_name.clone()),
            A::Audio(a) => {
                kind = if a.voice {
                    MediaKind::Voice
                } else {
                    MediaKind::Audio
                };
                media.duration = Some(a.duration.max(0) as u32);
                media.title = a.title.clone();
                media.performer = a.performer.clone();
            }
            A::Video(v) => {
                if kind == MediaKind::Document {
                    kind = if v.round_message {
                        MediaKind::VideoNote
                    } else {
                        MediaKind::Video
                    };
                }
                media.duration = Some(v.duration.max(0.0).round() as u32);
                media.width = Some(v.w.max(0) as u32);
                media.height = Some(v.h.max(0) as u32);
            }
            A::ImageSize(s) => {
                media.width = media.width.or(Some(s.w.max(0) as u32));
                media.height = media.height.or(Some(s.h.max(0) as u32));
            }
            A::Animated => animated = true,
            A::Sticker(_) => sticker = true,
            _ => {}
        }
    }
    if sticker {
        kind = MediaKind::Sticker;
    } else if animated {
        kind = MediaKind::Animation;
    }
    media.kind = kind;
    media.file.kind = kind;
    media
}

/// The media of a message, if it has one of the kinds above. `origin` is the Bot API chat id
/// and message id, recorded in the `file_id` so expired references can be refreshed.
pub fn received(
    media: &tl::enums::MessageMedia,
    origin: Option<(i64, i32)>,
) -> Option<ReceivedMedia> {
    match media {
        tl::enums::MessageMedia::Photo(tl::types::MessageMediaPhoto {
            photo: Some(tl::enums::Photo::Photo(p)),
            ..
        }) => photo(p, origin),
        tl::enums::MessageMedia::Document(tl::types::MessageMediaDocument {
            document: Some(tl::enums::Document::Document(d)),
            ..
        }) => Some(document(d, origin)),
        _ => None,
    }
}

impl ReceivedMedia {
    /// Fills the Bot API field for this kind on `message` (`photo`, `voice`, …; an animation
    /// also fills `document`, as the Bot API does).
    pub fn apply_to(&self, message: &mut bot::Message) {
        let file_id = self.file.encode();
        let file_unique_id = self.file.unique_id();
        let (w, h, secs) = (
            self.width.unwrap_or(0),
            self.height.unwrap_or(0),
            self.duration.unwrap_or(0),
        );
        let document = || bot::Document {
            file_id: file_id.clone(),
            file_unique_id: file_unique_id.clone(),
            file_name: self.file_name.clone(),
            mime_type: self.mime_type.clone(),
            file_size: self.file_size,
        };
        match self.kind {
            MediaKind::Photo => message.photo = Some(self.photo_sizes.clone()),
            MediaKind::Voice => {
                message.voice = Some(bot::Voice {
                    file_id,
                    file_unique_id,
                    duration: secs,
                    mime_type: self.mime_type.clone(),
                    file_size: self.file_size,
                })
            }
            MediaKind::Audio => {
                message.audio = Some(bot::Audio {
                    file_id,
                    file_unique_id,
                    duration: secs,
                    performer: self.performer.clone(),
                    title: self.title.clone(),
                    file_name: self.file_name.clone(),
                    mime_type: self.mime_type.clone(),
                    file_size: self.file_size,
                })
            }
            MediaKind::Video => {
                message.video = Some(bot::Video {
                    file_id,
                    file_unique_id,
                    width: w,
                    height: h,
                    duration: secs,
                    file_name: self.file_name.clone(),
                    mime_type: self.mime_type.clone(),
                    file_size: self.file_size,
                })
            }
            MediaKind::VideoNote => {
                message.video_note = Some(bot::VideoNote {
                    file_id,
                    file_unique_id,
                    length: w.max(h),
                    duration: secs,
                    file_size: self.file_size,
                })
            }
            MediaKind::Animation => {
                message.document = Some(document());
                message.animation = Some(bot::Animation {
                    file_id,
                    file_unique_id,
                    width: w,
                    height: h,
                    duration: secs,
                    file_name: self.file_name.clone(),
                    mime_type: self.mime_type.clone(),
                    file_size: self.file_size,
                });
            }
            MediaKind::Document => message.document = Some(document()),
            MediaKind::Sticker => {
                message.sticker = Some(bot::Sticker {
                    file_id,
                    file_unique_id,
                    kind: "regular".into(),
                    width: w,
                    height: h,
                    is_animated: self.mime_type.as_deref() == Some("application/x-tgsticker"),
                    is_video: self.mime_type.as_deref() == Some("video/webm"),
                    emoji: None,
                    file_size: self.file_size,
                })
            }
        }
    }
}
