//! Moving files: streamed downloads that are complete on disk before they return, uploads
//! streamed from disk (a bounded number of parts at once over all requests), sending media by
//! upload or by `file_id`, and refreshing expired file references.
//!
//! grammers' `download_media` can return before the file is on disk (its tokio `File` is never
//! flushed), so downloads here write chunks themselves, flush, fsync and rename into place.
//! A download keeps [`DOWNLOAD_WINDOW`] chunk requests in flight and writes chunks in order: one
//! request at a time would pay a full round trip per 512 KiB.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use botapi::ids::ChatIdParam;
use botapi::types::Message;
use grammers_client::{Client, InvocationError};
use grammers_session::types::PeerRef;
use grammers_tl_types as tl;
use tokio::io::AsyncWriteExt;
use tokio::sync::SemaphorePermit;
use tokio::task::JoinHandle;

use super::{FileId, MediaKind, received};
use crate::{Telegram, TelegramError};

/// Download chunk: the largest `upload.getFile` limit (512 KiB divides 1 MiB). Chunk `k` is
/// read at offset `k * CHUNK`: divisible by the limit, so it never crosses a 1 MiB boundary, as
/// Telegram requires without `precise` (<https://core.telegram.org/api/files>, "Downloading
/// files"). A chunk shorter than this is the last one.
const CHUNK: i32 = 512 * 1024;

/// `upload.getFile` requests one download keeps in flight once its first chunk came back full
/// (a file smaller than a chunk takes one request). A download holds at most this many chunks
/// plus the one being written; grammers' own concurrent downloader runs as many workers.
const DOWNLOAD_WINDOW: usize = 4;

/// Above this size grammers uploads a file as a big file, with [`BIG_FILE_WORKERS`] parts in
/// flight (its `BIG_FILE_SIZE` and `WORKER_COUNT`); smaller files go one part at a time.
const BIG_FILE_SIZE: u64 = 10 * 1024 * 1024;
const BIG_FILE_WORKERS: u32 = 4;

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
    pub entities: Vec<tl::enums::MessageEntity>,
    /// Reply to this message of the same chat.
    pub reply_to: Option<i32>,
    /// Send without notification sound.
    pub silent: bool,
    /// Forbid forwarding and saving.
    pub noforwards: bool,
}

fn upload_error(e: std::io::Error) -> TelegramError {
    match e
        .into_inner()
        .map(|inner| inner.downcast::<InvocationError>())
    {
        Some(Ok(invocation)) => TelegramError::from(*invocation),
        Some(Err(other)) => TelegramError::Network(other.to_string()),
        None => TelegramError::Network("upload failed".into()),
    }
}

fn is_expired_reference(e: &InvocationError) -> bool {
    matches!(e, InvocationError::Rpc(rpc) if rpc.name.starts_with("FILE_REFERENCE_"))
}

/// The chunk requests of one download with one file reference, oldest first, each a task so it
/// is sent at once. Dropping the window aborts the requests still running (past the end of the
/// file, after an error, or when the download itself is dropped).
struct ChunkWindow {
    client: Client,
    file: FileId,
    /// Index of the next chunk to request.
    next: i32,
    fetches: VecDeque<JoinHandle<Result<Option<Vec<u8>>, InvocationError>>>,
}

impl ChunkWindow {
    /// A window whose first request will be chunk `first`.
    fn new(client: &Client, file: &FileId, first: i32) -> Self {
        Self {
            client: client.clone(),
            file: file.clone(),
            next: first,
            fetches: VecDeque::new(),
        }
    }

    /// Requests the following chunks until `width` are in flight.
    fn fill(&mut self, width: usize) {
        while self.fetches.len() < width {
            // A one-chunk grammers iterator: it asks the file's DC and, like a sequential
            // download, follows FILE_MIGRATE (303) and copies the authorization to that DC.
            let mut chunk = self
                .client
                .iter_download(&self.file)
                .chunk_size(CHUNK)
                .skip_chunks(self.next);
            self.fetches
                .push_back(tokio::spawn(async move { chunk.next().await }));
            self.next += 1;
        }
    }

    /// The oldest chunk requested: its bytes, `None` when it is empty (the file ended at the
    /// chunk before), or the RPC error. `None` too when nothing is in flight.
    async fn next(&mut self) -> Result<Option<Vec<u8>>, InvocationError> {
        let Some(fetch) = self.fetches.pop_front() else {
            return Ok(None);
        };
        match fetch.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(InvocationError::Io(std::io::Error::other(e))),
        }
    }
}

impl Drop for ChunkWindow {
    fn drop(&mut self) {
        for fetch in &self.fetches {
            fetch.abort();
        }
    }
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
    /// Downloads a file to `dest`: chunks are written to `dest.part`, flushed and fsynced, then
    /// renamed, so `dest` only ever exists complete. An expired file reference is refreshed
    /// once from the message the `file_id` came from. Returns the number of bytes written.
    ///
    /// Errors: [`TelegramError::Io`] for disk failures, RPC errors (`FILE_REFERENCE_EXPIRED`
    /// when it cannot be refreshed, `FILE_ID_INVALID`), [`TelegramError::Network`].
    pub async fn download(&self, file: &FileId, dest: &Path) -> Result<u64, TelegramError> {
        let mut tmp = dest.as_os_str().to_owned();
        tmp.push(".part");
        let tmp = PathBuf::from(tmp);
        let result = self.download_to(file, &tmp).await;
        match result {
            Ok(written) => {
                tokio::fs::rename(&tmp, dest).await?;
                Ok(written)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    /// Fetches the chunks of `file` into a new file at `tmp`, flushed and fsynced. Writes in
    /// chunk order while up to [`DOWNLOAD_WINDOW`] later chunks are on their way; after an
    /// expired reference the download resumes at the chunk that failed.
    async fn download_to(&self, file: &FileId, tmp: &Path) -> Result<u64, TelegramError> {
        let mut out = tokio::fs::File::create(tmp).await?;
        let mut current = file.clone();
        let mut refreshed = false;
        let mut written: u64 = 0;
        // One request until a full chunk shows the file is bigger than one.
        let mut width = 1;
        'restart: loop {
            let first = (written / CHUNK as u64) as i32;
            let mut window = ChunkWindow::new(&self.client, &current, first);
            window.fill(width);
            loop {
                let chunk = match window.next().await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break 'restart,
                    Err(e) if is_expired_reference(&e) && !refreshed => {
                        // The later requests carry the same reference: stop them first.
                        drop(window);
                        current = self.refresh_file_reference(&current).await?;
                        refreshed = true;
                        continue 'restart;
                    }
                    Err(e) => return Err(e.into()),
                };
                let last = chunk.len() < CHUNK as usize;
                if !last {
                    // Ask for more before writing, so the DC works while the disk does.
                    width = DOWNLOAD_WINDOW;
                    window.fill(width);
                }
                out.write_all(&chunk).await?;
                written += chunk.len() as u64;
                if last {
                    break 'restart;
                }
            }
        }
        out.flush().await?;
        out.sync_all().await?;
        Ok(written)
    }

    /// A copy of `file` with a fresh file reference, read from the message it came from.
    /// Errors: `FILE_REFERENCE_EXPIRED` when the `file_id` has no origin or the message is gone.
    pub async fn refresh_file_reference(&self, file: &FileId) -> Result<FileId, TelegramError> {
        let expired = || TelegramError::Rpc {
            code: 400,
            name: "FILE_REFERENCE_EXPIRED".into(),
            value: None,
        };
        let (chat_id, message_id) = file.origin.ok_or_else(expired)?;
        let peer = self.resolve_chat(&ChatIdParam::Id(chat_id)).await?;
        let raw = self
            .get_raw_message(peer, message_id)
            .await?
            .ok_or_else(expired)?;
        let tl::enums::Message::Message(m) = raw else {
            return Err(expired());
        };
        let fresh = m
            .media
            .as_ref()
            .and_then(|media| received(media, file.origin))
            .filter(|r| r.file.id == file.id)
            .ok_or_else(expired)?;
        Ok(FileId {
            file_reference: fresh.file.file_reference,
            ..file.clone()
        })
    }

    /// Sends a media message (upload or `file_id`); returns the sent message in Bot API shape.
    ///
    /// Errors: [`TelegramError::Io`] when the file cannot be read; RPC errors as Telegram gives
    /// them (`PEER_ID_INVALID`, `MEDIA_CAPTION_TOO_LONG`, `PHOTO_INVALID_DIMENSIONS`,
    /// `FILE_REFERENCE_EXPIRED` when a `file_id` cannot be refreshed, …).
    pub async fn send_media(
        &self,
        peer: PeerRef,
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
        let updates = match (result, &media.source) {
            (Err(e), MediaSource::Existing(file)) if is_expired_reference(&e) => {
                let fresh = self.refresh_file_reference(file).await?;
                self.invoke_send_media(peer, &media, fresh.input_media())
                    .await?
            }
            (result, _) => result?,
        };
        let mut message = self
            .message_from_updates(updates, |u| {
                matches!(
                    u,
                    tl::enums::Update::NewMessage(_) | tl::enums::Update::NewChannelMessage(_)
                )
            })
            .await?;
        if let Some(reply_id) = media.reply_to {
            message.reply_to_message = self.get_message(peer, reply_id).await?.map(Box::new);
        }
        Ok(message)
    }

    pub(crate) async fn upload_media(
        &self,
        kind: MediaKind,
        path: &Path,
        file_name: &str,
        mime_type: &str,
        attributes: &MediaAttributes,
    ) -> Result<tl::enums::InputMedia, TelegramError> {
        let mut file = tokio::fs::File::open(path).await?;
        let size = file.metadata().await?.len();
        let uploaded = {
            // Held for the parts only, not for the send that follows: the parts are what
            // occupy memory (see `TelegramConfig::upload_concurrency`).
            let _permits = self.upload_permits(size).await?;
            self.client
                .upload_stream(&mut file, size as usize, file_name.to_owned())
                .await
                .map_err(upload_error)?
        };
        Ok(if kind == MediaKind::Photo {
            tl::enums::InputMedia::UploadedPhoto(tl::types::InputMediaUploadedPhoto {
                spoiler: false,
                live_photo: false,
                file: uploaded.raw,
                stickers: None,
                ttl_seconds: None,
                video: None,
            })
        } else {
            tl::enums::InputMedia::UploadedDocument(tl::types::InputMediaUploadedDocument {
                nosound_video: kind == MediaKind::Animation,
                force_file: kind == MediaKind::Document,
                spoiler: false,
                file: uploaded.raw,
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

    /// Waits for as many upload permits as grammers will have parts of a `size`-byte file in
    /// flight, capped at the total so a big file can still go when the limit is below 4.
    async fn upload_permits(&self, size: u64) -> Result<SemaphorePermit<'_>, TelegramError> {
        let weight = if size > BIG_FILE_SIZE {
            BIG_FILE_WORKERS
        } else {
            1
        };
        self.upload_permits
            .acquire_many(weight.min(self.upload_limit))
            .await
            .map_err(|_| TelegramError::Unexpected("upload permits closed".into()))
    }

    async fn invoke_send_media(
        &self,
        peer: PeerRef,
        media: &OutgoingMedia,
        input: tl::enums::InputMedia,
    ) -> Result<tl::enums::Updates, InvocationError> {
        self.client
            .invoke(&tl::functions::messages::SendMedia {
                silent: media.silent,
                background: false,
                clear_draft: false,
                noforwards: media.noforwards,
                update_stickersets_order: false,
                invert_media: false,
                allow_paid_floodskip: false,
                peer: (&peer).into(),
                reply_to: media.reply_to.map(crate::messages::reply_header),
                media: input,
                message: media.caption.clone(),
                random_id: rand::random(),
                reply_markup: None,
                entities: (!media.entities.is_empty()).then(|| media.entities.clone()),
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
