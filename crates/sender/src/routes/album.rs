//! Albums and media replacement: `sendMediaGroup` and `editMessageMedia` (Bot API sections of
//! the same names). Each `InputMedia.media` is resolved like any file parameter
//! ([`crate::media::resolve`]: `attach://` parts, URLs, `file_id`s, inline base64).

use axum::extract::State;
use botapi::RpcContext;
use botapi::ids::ChatIdParam;
use botapi::types::{InlineKeyboardMarkup, InputMedia, InputMediaType, Message};
use serde::Deserialize;
use telegram::media::{AlbumItem, MediaKind, MediaSource, OutgoingMedia};

use super::messages::inline_markup;
use super::reply::send_request;
use crate::error::{ApiError, ApiResult, TelegramResultExt, ok};
use crate::extract::BotRequest;
use crate::media::{self, InputFile};
use crate::state::AppState;
use crate::text;
use crate::upload::{Files, Upload};

/// Most items of one album.
pub const MAX_ALBUM: usize = 10;

fn bad(detail: &str) -> ApiError {
    botapi::ApiError::bad_request(detail).into()
}

fn kind_of(t: InputMediaType) -> MediaKind {
    match t {
        InputMediaType::Photo => MediaKind::Photo,
        InputMediaType::Video => MediaKind::Video,
        InputMediaType::Animation => MediaKind::Animation,
        InputMediaType::Audio => MediaKind::Audio,
        InputMediaType::Document => MediaKind::Document,
    }
}

/// Resolves one `InputMedia`: its file (kept on disk by the returned [`Upload`] until sent),
/// attributes probed from the file and overridden by the item's, and its caption.
async fn resolve_item(
    state: &AppState,
    item: &InputMedia,
    files: &mut Files,
) -> Result<(AlbumItem, Option<Upload>), ApiError> {
    let kind = kind_of(item.kind);
    let caption = text::caption(
        item.caption.as_deref(),
        item.parse_mode.as_deref(),
        item.caption_entities.clone(),
    )?;
    let input = media::resolve(
        "media",
        Some(&item.media),
        files,
        &state.fetcher,
        state.max_upload_bytes,
    )
    .await?;
    let (source, attributes, upload) = match input {
        InputFile::Existing(file) => {
            media::check_kind(kind, &file)?;
            (MediaSource::Existing(file), Default::default(), None)
        }
        InputFile::Local(upload) => {
            let probed = media::probe::probe(kind, &upload).await;
            let mut attributes = probed.attributes;
            attributes.duration = item.duration.map(f64::from).or(attributes.duration);
            attributes.width = item.width.or(attributes.width);
            attributes.height = item.height.or(attributes.height);
            attributes.title = item.title.clone().or(attributes.title);
            attributes.performer = item.performer.clone().or(attributes.performer);
            if let Some(streaming) = item.supports_streaming {
                attributes.supports_streaming = streaming;
            }
            let source = MediaSource::Upload {
                path: upload.path().to_owned(),
                file_name: probed.file_name,
                mime_type: probed.mime_type,
            };
            (source, attributes, Some(upload))
        }
    };
    let item = AlbumItem {
        kind,
        source,
        attributes,
        entities: caption.entities,
        caption: caption.text,
    };
    Ok((item, upload))
}

/// Refuses albums Telegram cannot show: animations, and documents or audio mixed with
/// anything else (photos and videos mix freely).
fn check_album(media: &[InputMedia]) -> Result<(), ApiError> {
    if media.is_empty() {
        return Err(botapi::ApiError::missing_parameter("media").into());
    }
    if media.len() > MAX_ALBUM {
        return Err(bad("too many messages to send as an album"));
    }
    let kinds: Vec<InputMediaType> = media.iter().map(|m| m.kind).collect();
    if kinds.contains(&InputMediaType::Animation) {
        return Err(bad("animations can't be sent in a media group"));
    }
    for (lonely, name) in [
        (InputMediaType::Document, "documents"),
        (InputMediaType::Audio, "audio"),
    ] {
        if kinds.contains(&lonely) && kinds.iter().any(|k| *k != lonely) {
            return Err(bad(&format!(
                "{name} can't be mixed with other media types"
            )));
        }
    }
    Ok(())
}

send_request! { without reply_markup;
    /// Parameters of `sendMediaGroup` (no `reply_markup`: the Bot API has none for albums).
    pub struct SendMediaGroup {
        /// Target chat: id or `"@username"`.
        pub chat_id: ChatIdParam,
        /// 2–10 `InputMediaPhoto`/`Video`/`Audio`/`Document` (a single item is sent as one
        /// ordinary message).
        pub media: Vec<InputMedia>,
    }
}

/// `POST /api_v1/sendMediaGroup` → array of the sent Messages, sharing one `media_group_id`.
/// Uploads go through `messages.uploadMedia` first, then one `messages.sendMultiMedia`.
///
/// Errors: 400 `parameter "media" is required`, "too many messages to send as an album",
/// "documents can't be mixed with other media types", "audio can't be mixed with other media
/// types", "there is no file attach://… in the request", "wrong file identifier/HTTP URL
/// specified", "chat not found"; 413 for oversized files.
pub async fn send_media_group(
    State(state): State<AppState>,
    BotRequest { params, mut files }: BotRequest<SendMediaGroup>,
) -> ApiResult<Vec<Message>> {
    let ctx = RpcContext::Send;
    check_album(&params.media)?;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&params.chat_id).await.or_api(ctx)?;
    let options = params.options(tg, peer).await?;
    let mut items = Vec::with_capacity(params.media.len());
    // Kept alive (and on disk) until the album is sent.
    let mut uploads = Vec::new();
    for m in &params.media {
        let (item, upload) = resolve_item(&state, m, &mut files).await?;
        items.push(item);
        uploads.extend(upload);
    }
    if let [item] = items.as_slice() {
        let out = OutgoingMedia {
            kind: item.kind,
            source: item.source.clone(),
            attributes: item.attributes.clone(),
            caption: item.caption.clone(),
            entities: item.entities.clone(),
            options,
        };
        return ok(vec![tg.send_media(peer, out).await.or_api(ctx)?]);
    }
    ok(tg.send_album(peer, &items, options).await.or_api(ctx)?)
}

/// Parameters of `editMessageMedia` (chat messages only; no `inline_message_id`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct EditMessageMedia {
    /// Chat of the message: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// A media message sent by the account.
    pub message_id: i32,
    /// The new media; its caption replaces the old one (absent: no caption).
    pub media: InputMedia,
    /// The message's new inline keyboard (bot sessions; absent: none, as in the Bot API).
    pub reply_markup: Option<InlineKeyboardMarkup>,
}

/// `POST /api_v1/editMessageMedia` → the edited Message.
///
/// Errors: 400 "message to edit not found", "message can't be edited",
/// `MEDIA_PREV_INVALID` (a text message), file errors as for sendMediaGroup.
pub async fn edit_message_media(
    State(state): State<AppState>,
    BotRequest { params, mut files }: BotRequest<EditMessageMedia>,
) -> ApiResult<Message> {
    let ctx = RpcContext::Edit;
    let tg = &state.telegram;
    let peer = tg.resolve_chat(&params.chat_id).await.or_api(ctx)?;
    let (item, _upload) = resolve_item(&state, &params.media, &mut files).await?;
    let edited = tg
        .edit_media(
            peer,
            params.message_id,
            &item,
            inline_markup(params.reply_markup)?.as_ref(),
        )
        .await
        .or_api(ctx)?;
    ok(edited)
}
