//! Albums (`messages.uploadMedia` per item, then `messages.sendMultiMedia`), replacing a
//! message's media (`messages.editMessage` with media) and file sizes for `getFile`.

use botapi::ids::ChatIdParam;
use botapi::types::{Message, MessageEntity};
use grammers_tl_types as tl;

use super::{FileId, MediaAttributes, MediaKind, MediaSource, received};
use crate::outgoing::{self, Sent};
use crate::{Peer, SendOptions, Telegram, TelegramError, entities};

/// One photo, video, audio or document of an album, or the new media of an edit.
#[derive(Clone, Debug)]
pub struct AlbumItem {
    /// How recipients see it.
    pub kind: MediaKind,
    /// The bytes (upload) or an existing file.
    pub source: MediaSource,
    /// Duration, dimensions, title, performer.
    pub attributes: MediaAttributes,
    /// Caption after `parse_mode` processing (may be empty).
    pub caption: String,
    /// Caption entities (UTF-16 offsets).
    pub entities: Vec<MessageEntity>,
}

impl Telegram {
    /// The `InputMedia` of an item: an uploaded file, or an existing one by id.
    async fn item_media(&self, item: &AlbumItem) -> Result<tl::enums::InputMedia, TelegramError> {
        match &item.source {
            MediaSource::Upload {
                path,
                file_name,
                mime_type,
            } => {
                self.upload_media(item.kind, path, file_name, mime_type, &item.attributes)
                    .await
            }
            MediaSource::Existing(file) => Ok(file.input_media()),
        }
    }

    /// Sends 2–10 items as one album; returns its messages in order, all with the same
    /// `media_group_id`. Uploaded files are stored first with `messages.uploadMedia` and then
    /// sent by id, as Telegram requires for albums.
    ///
    /// Errors: `MEDIA_EMPTY` (fewer than two), `MULTI_MEDIA_TOO_LONG`, `MEDIA_INVALID`,
    /// `PHOTO_INVALID_DIMENSIONS`, … as RPC errors; [`TelegramError::Io`] for unreadable files.
    pub async fn send_album(
        &self,
        peer: Peer,
        items: &[AlbumItem],
        options: SendOptions,
    ) -> Result<Vec<Message>, TelegramError> {
        let mut multi_media = Vec::with_capacity(items.len());
        for (n, item) in items.iter().enumerate() {
            let mut media = self.item_media(item).await?;
            if matches!(item.source, MediaSource::Upload { .. }) {
                media = self.stored_media(peer, media).await?;
            }
            multi_media.push(tl::enums::InputSingleMedia::Media(
                tl::types::InputSingleMedia {
                    media,
                    random_id: outgoing::random_id(n),
                    message: item.caption.clone(),
                    entities: entities::to_tl_nonempty(&item.entities),
                },
            ));
        }
        let result = self
            .client
            .invoke(&tl::functions::messages::SendMultiMedia {
                silent: options.silent,
                background: false,
                clear_draft: false,
                noforwards: options.noforwards,
                update_stickersets_order: false,
                invert_media: false,
                allow_paid_floodskip: false,
                peer: (&peer).into(),
                reply_to: options.reply_header(),
                multi_media,
                schedule_date: None,
                send_as: None,
                quick_reply_shortcut: None,
                effect: None,
                allow_paid_stars: None,
            })
            .await;
        let mut messages = match result {
            Ok(updates) => self.new_messages(updates).await?,
            Err(e) if outgoing::is_duplicate(&e) => {
                self.find_sent(peer, Sent::Album(items.len())).await?
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(first) = messages.first_mut() {
            *first = self.with_reply(peer, first.clone(), &options).await?;
        }
        Ok(messages)
    }

    /// `messages.uploadMedia`: stores uploaded media without sending it and returns it as an
    /// existing photo or document.
    async fn stored_media(
        &self,
        peer: Peer,
        media: tl::enums::InputMedia,
    ) -> Result<tl::enums::InputMedia, TelegramError> {
        let stored = self
            .client
            .invoke(&tl::functions::messages::UploadMedia {
                business_connection_id: None,
                peer: (&peer).into(),
                media,
            })
            .await?;
        received(&stored, None)
            .map(|r| r.file.input_media())
            .ok_or_else(|| TelegramError::Unexpected("uploadMedia returned no file".into()))
    }

    /// Replaces the media of one of the account's messages (and its caption: empty removes
    /// it); returns the edited message. `reply_markup` is its new inline keyboard (bots only;
    /// for a bot, `None` removes the keyboard).
    ///
    /// Errors: `MESSAGE_ID_INVALID`, `MESSAGE_AUTHOR_REQUIRED`, `MEDIA_PREV_INVALID` (a text
    /// message), `MESSAGE_NOT_MODIFIED`, … as RPC errors.
    pub async fn edit_media(
        &self,
        peer: Peer,
        message_id: i32,
        item: &AlbumItem,
        reply_markup: Option<&botapi::types::ReplyMarkup>,
    ) -> Result<Message, TelegramError> {
        let media = self.item_media(item).await?;
        self.edit(tl::functions::messages::EditMessage {
            message: Some(item.caption.clone()),
            media: Some(media),
            reply_markup: reply_markup.map(crate::markup::to_tl),
            entities: Some(entities::to_tl(&item.entities)),
            ..crate::messages::edit_request(peer, message_id)
        })
        .await
    }

    /// The size in bytes of a file, read from the message its `file_id` came from; `None` when
    /// the `file_id` names no message or the message no longer has that file.
    pub async fn file_size(&self, file: &FileId) -> Result<Option<u64>, TelegramError> {
        let Some((chat_id, message_id)) = file.origin else {
            return Ok(None);
        };
        let peer = self.resolve_chat(&ChatIdParam::Id(chat_id)).await?;
        let Some(tl::enums::Message::Message(m)) = self.get_raw_message(peer, message_id).await?
        else {
            return Ok(None);
        };
        let media = m
            .media
            .as_ref()
            .and_then(|media| received(media, file.origin));
        Ok(media.and_then(|r| {
            if r.file.id != file.id {
                return None;
            }
            if file.is_photo() {
                let size = r.photo_sizes.iter().find(|s| {
                    FileId::decode(&s.file_id).is_ok_and(|f| f.photo_size == file.photo_size)
                });
                size.and_then(|s| s.file_size)
            } else {
                r.file_size
            }
        }))
    }
}
