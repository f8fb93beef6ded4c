//! Sending files: uploads streamed from disk (a bounded number of parts at once over all
//! requests) and sending media by upload or by `file_id` (downloads are in `download`).

use std::path::{Path, PathBuf};

use botapi::types::{Message, MessageEntity};
use grammers_client::InvocationError;
use grammers_tl_types as tl;
use tokio::sync::SemaphorePermit;

use super::upload::{self, UPLOAD_WINDOW};
use super::{FileId, MediaKind};
use crate::outgoing::{self, Sent};
use crate::{Peer, SendOptions, Telegram, TelegramError, entities};

/// Attributes Telegram shows for sent media. Read them from the file itself (the sender does,
/// with lofty/mp4/imagesize); `None` means unknown, never a guessed 0.
#[derive(Clone, Debug, Default)]
pub struct MediaAttributes {
    /// Duration in seconds (voice, audio, video kinds).
    pub duration: Option<f64>,
    /// Width in pixels (video kinds, stickers).
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// Audio title.
    pub title: Option<String>,
    /// Audio performer.
    pub performer: Option<String>,
    /// Voice waveform: 5-bit samples packed as Telegram expects (up to 100 samples).
    pub waveform: Option<Vec<u8>>,
    /// Video can be played while downloading (MP4 with `moov` first).
    pub supports_streaming: bool,
}

/// Where the bytes of an outgoing file come from.
#[derive(Clone, Debug)]
pub enum MediaSource {
    /// A local file, uploaded in parts (streamed, never whole in memory).
    Upload {
        /// The file to read.
        path: PathBuf,
        /// Name shown to recipients (documents, audio, video).
        file_name: String,
        /// MIME type.
        mime_type: String,
    },
    /// A file Telegram already has, by `file_id`.
    Existing(FileId),
}

/// A media message to send.
#[derive(Clone, Debug)]
pub struct OutgoingMedia {
    /// How recipients see it (photo, voice, …).
    pub kind: MediaKind,
    /// The bytes.
    pub source: MediaSource,
    /// Duration, dimensions, title, performer, waveform.
    pub attributes: MediaAttributes,
    /// Caption after `parse_mode` processing.
    pub caption: String,
    /// Caption entities (UTF-16 offsets).
    pub entities: Vec<MessageEntity>,
    /// Reply, silence, protection.
    pub options: SendOptions,
}

pub(super) fn is_expired_reference(e: &InvocationError) -> bool {
    matches!(e, InvocationError::Rpc(rpc) if rpc.name.starts_with("FILE_REFERENCE_"))
}

fn document_attributes(
    kind: MediaKind,
    a: &MediaAttributes,
    file_name: &str,
) -> Vec<tl::enums::DocumentAttribute> {
    use tl::enums::DocumentAttribute as A;
    let secs = a.duration.unwrap_or(0.0);
    let (w, h) = (a.width.unwrap_or(0) as i32, a.height.unwrap_or(0) as i32);
    let video = |round_message: bool| {
        A::Video(tl::types::DocumentAttributeVideo {
            round_message,
            supports_streaming: a.supports_streaming || round_message,
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
            title: a.title.clone(),
            performer: a.performer.clone(),
            waveform: a.waveform.clone(),
        })
    };
    let name = A::Filename(tl::types::DocumentAttributeFilename {
        file_name: file_name.to_owned(),
    });
    match kind {
        MediaKind::Voice => vec![audio(true)],
        MediaKind::Audio => vec![audio(false), name],
        MediaKind::Video => vec![video(false), name],
        MediaKind::VideoNote => vec![video(true)],
        MediaKind::Animation => vec![video(false), A::Animated, name],
        MediaKind::Sticker => vec![
            A::ImageSize(tl::types::DocumentAttributeImageSize { w, h }),
            A::Sticker(tl::types::DocumentAttributeSticker {
                mask: false,
                alt: String::new(),
                stickerset: tl::enums::InputStickerSet::Empty,
                mask_coords: None,
            }),
            name,
        ],
        MediaKind::Document | MediaKind::Photo => vec![name],
    }
}

impl Telegram {
    /// Sends a media message (upload or `file_id`); returns the sent message in Bot API shape.
    ///
    /// Errors: [`TelegramError::Io`] when the file cannot be read; RPC errors as Telegram gives
    /// them (`PEER_ID_INVALID`, `MEDIA_CAPTION_TOO_LONG`, `PHOTO_INVALID_DIMENSIONS`,
    /// `FILE_REFERENCE_EXPIRED` when a `file_id` cannot be refreshed, …).
    pub async fn send_media(
        &self,
        peer: Peer,
        media: OutgoingMedia,
    ) -> Result<Message, TelegramError> {
        let input = match &media.source {
            MediaSource::Upload {
                path,
                file_name,
                mime_type,
            } => {
                self.upload_media(media.kind, path, file_name, mime_type, &media.attributes)
                    .await?
            }
            MediaSource::Existing(file) => file.input_media(),
        };
        let result = self.invoke_send_media(peer, &media, input).await;
        let result = match (result, &media.source) {
            (Err(e), MediaSource::Existing(file)) if is_expired_reference(&e) => {
                let fresh = self.refresh_file_reference(file).await?;
                self.invoke_send_media(peer, &media, fresh.input_media())
                    .await
            }
            (result, _) => result,
        };
        let updates = match result {
            Ok(updates) => updates,
            Err(e) if outgoing::is_duplicate(&e) => {
                let message = self
                    .find_one_sent(peer, Sent::Media(&media.caption))
                    .await?;
                return self.with_reply(peer, message, &media.options).await;
            }
            Err(e) => return Err(e.into()),
        };
        let message = self
            .message_from_updates(updates, |u| {
                matches!(
                    u,
                    tl::enums::Update::NewMessage(_) | tl::enums::Update::NewChannelMessage(_)
                )
            })
            .await?;
        self.with_reply(peer, message, &media.options).await
    }

    pub(crate) async fn upload_media(
        &self,
        kind: MediaKind,
        path: &Path,
        file_name: &str,
        mime_type: &str,
        attributes: &MediaAttributes,
    ) -> Result<tl::enums::InputMedia, TelegramError> {
        let size = tokio::fs::metadata(path).await?.len();
        let uploaded = {
            // Held for the parts only, not for the send that follows: the parts are what
            // occupy memory (see `TelegramConfig::upload_concurrency`). One permit per part in
            // flight.
            let permits = self.upload_permits(size).await?;
            let window = permits.num_permits();
            let (file, stats) =
                upload::upload_file(&self.client, path, size, window, file_name).await?;
            tracing::debug!(
                size,
                parts = stats.parts,
                buffers = stats.buffers,
                "file parts uploaded"
            );
            file
        };
        Ok(if kind == MediaKind::Photo {
            tl::enums::InputMedia::UploadedPhoto(tl::types::InputMediaUploadedPhoto {
                spoiler: false,
                live_photo: false,
                file: uploaded,
                stickers: None,
                ttl_seconds: None,
                video: None,
            })
        } else {
            tl::enums::InputMedia::UploadedDocument(tl::types::InputMediaUploadedDocument {
                nosound_video: kind == MediaKind::Animation,
                force_file: kind == MediaKind::Document,
                spoiler: false,
                file: uploaded,
                thumb: None,
                mime_type: mime_type.to_owned(),
                attributes: document_attributes(kind, attributes, file_name),
                stickers: None,
                video_cover: None,
                video_timestamp: None,
                ttl_seconds: None,
            })
        })
    }

    /// Waits for one upload permit per part of a `size`-byte file that will be in flight: as
    /// many as it has parts, at most [`UPLOAD_WINDOW`] and at most the limit (so a file can
    /// always go), at least 1.
    async fn upload_permits(&self, size: u64) -> Result<SemaphorePermit<'_>, TelegramError> {
        let parts = upload::total_parts(size).max(1) as u32;
        let weight = parts.min(UPLOAD_WINDOW as u32).min(self.upload_limit);
        self.upload_permits
            .acquire_many(weight)
            .await
            .map_err(|_| TelegramError::Unexpected("upload permits closed".into()))
    }

    async fn invoke_send_media(
        &self,
        peer: Peer,
        media: &OutgoingMedia,
        input: tl::enums::InputMedia,
    ) -> Result<tl::enums::Updates, InvocationError> {
        self.client
            .invoke(&tl::functions::messages::SendMedia {
                silent: media.options.silent,
                background: false,
                clear_draft: false,
                noforwards: media.options.noforwards,
                update_stickersets_order: false,
                invert_media: false,
                allow_paid_floodskip: false,
                peer: (&peer).into(),
                reply_to: media.options.reply_header(),
                media: input,
                message: media.caption.clone(),
                random_id: outgoing::random_id(0),
                reply_markup: media.options.markup(),
                entities: entities::to_tl_nonempty(&media.entities),
                schedule_date: None,
                schedule_repeat_period: None,
                send_as: None,
                quick_reply_shortcut: None,
                effect: None,
                allow_paid_stars: None,
                suggested_post: None,
            })
            .await
    }
}
