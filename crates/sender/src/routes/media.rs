//! Media messages: `sendPhoto`, `sendDocument`, `sendAudio`, `sendVoice`, `sendVideo`,
//! `sendAnimation`, `sendVideoNote`, `sendSticker` (Bot API sections of the same names).
//!
//! Each method takes its file in the parameter named after it, any way [`crate::media::resolve`]
//! accepts (multipart part, `attach://`, URL, `file_id`, `data:` URI, base64). Attributes are
//! read from the file ([`crate::media::probe`]); explicit parameters override them.

use axum::extract::State;
use botapi::RpcContext;
use botapi::ids::ChatIdParam;
use botapi::types::{Message, MessageEntity, ReplyMarkup, ReplyParameters};
use serde::Deserialize;
use telegram::media::{MediaKind, MediaSource, OutgoingMedia};

use super::reply::ReplyFields;
use crate::error::{ApiResult, TelegramResultExt, ok};
use crate::extract::BotRequest;
use crate::media::{self, InputFile};
use crate::state::AppState;
use crate::text;

/// Parameters of every media method; each uses its own file field and the attributes that
/// apply to it (others are ignored, as Telegram ignores unknown parameters).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SendMedia {
    /// Target chat: Bot API id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// sendPhoto's file.
    pub photo: Option<String>,
    /// sendDocument's file.
    pub document: Option<String>,
    /// sendAudio's file.
    pub audio: Option<String>,
    /// sendVoice's file (OGG/Opus to show as a voice note).
    pub voice: Option<String>,
    /// sendVideo's file.
    pub video: Option<String>,
    /// sendAnimation's file.
    pub animation: Option<String>,
    /// sendVideoNote's file.
    pub video_note: Option<String>,
    /// sendSticker's file.
    pub sticker: Option<String>,
    /// Caption, 0–1024 characters after entity parsing (not for stickers and video notes).
    pub caption: Option<String>,
    /// `HTML`, `MarkdownV2` or `Markdown` for the caption.
    pub parse_mode: Option<String>,
    /// Explicit caption entities, used when `parse_mode` is absent.
    pub caption_entities: Option<Vec<MessageEntity>>,
    /// Duration in seconds (audio, voice, video, animation, video note); overrides the file's.
    pub duration: Option<u32>,
    /// Width in pixels (video, animation); overrides the file's.
    pub width: Option<u32>,
    /// Height in pixels (video, animation); overrides the file's.
    pub height: Option<u32>,
    /// Video note diameter in pixels; overrides the file's.
    pub length: Option<u32>,
    /// Audio title; overrides the file's tags.
    pub title: Option<String>,
    /// Audio performer; overrides the file's tags.
    pub performer: Option<String>,
    /// Video is suitable for streaming; when absent, true iff `moov` precedes `mdat`.
    pub supports_streaming: Option<bool>,
    /// Legacy form of `reply_parameters.message_id`.
    pub reply_to_message_id: Option<i32>,
    /// The message to reply to; wins over `reply_to_message_id`.
    pub reply_parameters: Option<ReplyParameters>,
    /// Legacy form of `reply_parameters.allow_sending_without_reply`.
    pub allow_sending_without_reply: Option<bool>,
    /// Send silently.
    pub disable_notification: Option<bool>,
    /// Forbid forwarding and saving.
    pub protect_content: Option<bool>,
    /// Inline keyboard, custom reply keyboard, keyboard removal or force-reply (Bot API
    /// "InlineKeyboardMarkup" …); honoured for bot sessions only, a user account's message is
    /// sent without it (Telegram drops it).
    pub reply_markup: Option<ReplyMarkup>,
}

impl SendMedia {
    fn file_param(&self, kind: MediaKind) -> Option<&str> {
        let value = match kind {
            MediaKind::Photo => &self.photo,
            MediaKind::Document => &self.document,
            MediaKind::Audio => &self.audio,
            MediaKind::Voice => &self.voice,
            MediaKind::Video => &self.video,
            MediaKind::Animation => &self.animation,
            MediaKind::VideoNote => &self.video_note,
            MediaKind::Sticker => &self.sticker,
        };
        value.as_deref()
    }

    fn reply(&self) -> ReplyFields {
        ReplyFields {
            reply_to_message_id: self.reply_to_message_id,
            reply_parameters: self.reply_parameters.clone(),
            allow_sending_without_reply: self.allow_sending_without_reply,
            reply_markup: self.reply_markup.clone(),
        }
    }
}

/// `POST /api_v1/sendPhoto` (`photo`) → the Message with `photo`, sizes largest last.
pub async fn send_photo(state: State<AppState>, req: BotRequest<SendMedia>) -> ApiResult<Message> {
    send(MediaKind::Photo, state, req).await
}

/// `POST /api_v1/sendDocument` (`document`) → the Message with `document`; the file keeps
/// its name and MIME type.
pub async fn send_document(
    state: State<AppState>,
    req: BotRequest<SendMedia>,
) -> ApiResult<Message> {
    send(MediaKind::Document, state, req).await
}

/// `POST /api_v1/sendAudio` (`audio`, `title`, `performer`, `duration`) → the Message with
/// `audio`; title and performer default to the file's tags.
pub async fn send_audio(state: State<AppState>, req: BotRequest<SendMedia>) -> ApiResult<Message> {
    send(MediaKind::Audio, state, req).await
}

/// `POST /api_v1/sendVoice` (`voice`, `duration`) → the Message with `voice`.
pub async fn send_voice(state: State<AppState>, req: BotRequest<SendMedia>) -> ApiResult<Message> {
    send(MediaKind::Voice, state, req).await
}

/// `POST /api_v1/sendVideo` (`video`, `width`, `height`, `duration`, `supports_streaming`)
/// → the Message with `video`.
pub async fn send_video(state: State<AppState>, req: BotRequest<SendMedia>) -> ApiResult<Message> {
    send(MediaKind::Video, state, req).await
}

/// `POST /api_v1/sendAnimation` (`animation`, `width`, `height`, `duration`) → the Message
/// with `animation` (and `document`, as the Bot API shows it).
pub async fn send_animation(
    state: State<AppState>,
    req: BotRequest<SendMedia>,
) -> ApiResult<Message> {
    send(MediaKind::Animation, state, req).await
}

/// `POST /api_v1/sendVideoNote` (`video_note`, `length`, `duration`) → the Message with
/// `video_note`. No caption.
pub async fn send_video_note(
    state: State<AppState>,
    req: BotRequest<SendMedia>,
) -> ApiResult<Message> {
    send(MediaKind::VideoNote, state, req).await
}

/// `POST /api_v1/sendSticker` (`sticker`, a WebP image) → the Message with `sticker`.
/// No caption.
pub async fn send_sticker(
    state: State<AppState>,
    req: BotRequest<SendMedia>,
) -> ApiResult<Message> {
    send(MediaKind::Sticker, state, req).await
}

/// The shared body of every media method.
///
/// Errors: 400 "there is no {kind} in the request", "wrong file identifier/HTTP URL
/// specified", "failed to get HTTP URL content: …", "type of file mismatch", "chat not
/// found", "message to be replied not found", "can't parse entities: …", "message caption is
/// too long", `PHOTO_INVALID_DIMENSIONS` and other Telegram refusals (botapi's table); 413
/// for files over `MAX_UPLOAD_BYTES`; 429; 500.
async fn send(
    kind: MediaKind,
    State(state): State<AppState>,
    BotRequest { params, mut files }: BotRequest<SendMedia>,
) -> ApiResult<Message> {
    let ctx = RpcContext::Send;
    let captioned = !matches!(kind, MediaKind::Sticker | MediaKind::VideoNote);
    let caption = if captioned {
        text::caption(
            params.caption.as_deref(),
            params.parse_mode.as_deref(),
            params.caption_entities.clone(),
        )?
    } else {
        Default::default()
    };
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&params.chat_id).await.or_api(ctx)?;
    let options = params
        .reply()
        .options(
            tg,
            peer,
            params.disable_notification,
            params.protect_content,
        )
        .await?;
    let input = media::resolve(
        kind.as_str(),
        params.file_param(kind),
        &mut files,
        &state.fetcher,
        state.max_upload_bytes,
    )
    .await?;
    // Kept alive (and on disk) until the upload is done.
    let (source, attributes, _upload) = match input {
        InputFile::Existing(file) => {
            media::check_kind(kind, &file)?;
            (MediaSource::Existing(file), Default::default(), None)
        }
        InputFile::Local(upload) => {
            let probed = media::probe::probe(kind, &upload).await;
            let source = MediaSource::Upload {
                path: upload.path().to_owned(),
                file_name: probed.file_name,
                mime_type: probed.mime_type,
            };
            let attributes = overridden(probed.attributes, &params, kind);
            (source, attributes, Some(upload))
        }
    };
    let out = OutgoingMedia {
        kind,
        source,
        attributes,
        caption: caption.text,
        entities: caption.entities,
        options,
    };
    ok(tg.send_media(peer, out).await.or_api(ctx)?)
}

/// Request parameters win over what the file says.
fn overridden(
    mut attributes: telegram::media::MediaAttributes,
    params: &SendMedia,
    kind: MediaKind,
) -> telegram::media::MediaAttributes {
    if let Some(secs) = params.duration {
        attributes.duration = Some(f64::from(secs));
    }
    let (width, height) = match (kind, params.length) {
        (MediaKind::VideoNote, Some(length)) => (Some(length), Some(length)),
        _ => (params.width, params.height),
    };
    attributes.width = width.or(attributes.width);
    attributes.height = height.or(attributes.height);
    attributes.title = params.title.clone().or(attributes.title);
    attributes.performer = params.performer.clone().or(attributes.performer);
    if let Some(streaming) = params.supports_streaming {
        attributes.supports_streaming = streaming;
    }
    attributes
}
