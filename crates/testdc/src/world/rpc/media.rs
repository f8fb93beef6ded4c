//! Media RPCs: uploads, downloads, `messages.sendMedia`, `messages.uploadMedia`.

use grammers_tl_types::{self as tl, functions as f};

use super::SideEffects;
use super::write::Outgoing;
use crate::world::media::{FileKind, MediaRef};
use crate::world::{RpcError, World, now};

impl World {
    /// Turns an `InputMedia` into a stored file reference: uploaded photos and documents are
    /// assembled from their parts, existing ones are looked up (checking access hash and file
    /// reference). Errors: `FILE_PARTS_INVALID`, `FILE_PART_*`, `PHOTO_INVALID_DIMENSIONS`
    /// (not an image), `FILE_REFERENCE_EXPIRED`, `MEDIA_INVALID` (kinds testdc does not store).
    pub(crate) fn input_media(
        &mut self,
        media: &tl::enums::InputMedia,
    ) -> Result<MediaRef, RpcError> {
        use tl::enums::InputMedia as M;
        let hash = rand::random::<i64>();
        let file = match media {
            M::UploadedPhoto(p) => {
                let bytes = self.media.take_upload(&p.file)?;
                let size = imagesize::blob_size(&bytes)
                    .map_err(|_| RpcError::bad("PHOTO_INVALID_DIMENSIONS"))?;
                let kind = FileKind::Photo {
                    w: size.width as i32,
                    h: size.height as i32,
                };
                self.media.store(bytes, kind, hash, now())
            }
            M::UploadedDocument(d) => {
                let bytes = self.media.take_upload(&d.file)?;
                if let Some(thumb) = &d.thumb {
                    // Thumbnails are accepted and dropped: testdc keeps no thumbnail sizes.
                    let _ = self.media.take_upload(thumb);
                }
                let kind = FileKind::Document {
                    mime_type: d.mime_type.clone(),
                    attributes: d.attributes.clone(),
                };
                self.media.store(bytes, kind, hash, now())
            }
            M::Photo(p) => match &p.id {
                tl::enums::InputPhoto::Photo(p) => self
                    .media
                    .find(p.id, p.access_hash, &p.file_reference)?
                    .clone(),
                tl::enums::InputPhoto::Empty => return Err(RpcError::bad("PHOTO_INVALID")),
            },
            M::Document(d) => match &d.id {
                tl::enums::InputDocument::Document(d) => self
                    .media
                    .find(d.id, d.access_hash, &d.file_reference)?
                    .clone(),
                tl::enums::InputDocument::Empty => return Err(RpcError::bad("DOCUMENT_INVALID")),
            },
            other => return self.inline_media(other),
        };
        Ok(MediaRef::File { file_id: file.id })
    }

    /// `messages.sendMedia`: like `sendMessage`, with the caption as text.
    pub(super) fn send_media(
        &mut self,
        req: &f::messages::SendMedia,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::Updates, RpcError> {
        self.resolve_peer(&req.peer)?;
        if req.message.encode_utf16().count() > 1024 {
            return Err(RpcError::bad("MEDIA_CAPTION_TOO_LONG"));
        }
        let media = self.input_media(&req.media)?;
        let out = Outgoing {
            peer: &req.peer,
            text: &req.message,
            entities: req.entities.as_deref(),
            reply_to: req.reply_to.as_ref(),
            random_id: req.random_id,
            fwd_from: None,
            grouped_id: None,
        };
        self.post_outgoing(out, Some(media), fx)
    }

    /// `messages.uploadMedia`: stores the media without sending it and returns it, so it can be
    /// sent later by id (e.g. in an album).
    pub(super) fn upload_media(
        &mut self,
        req: &f::messages::UploadMedia,
    ) -> Result<tl::enums::MessageMedia, RpcError> {
        self.resolve_peer(&req.peer)?;
        let media = self.input_media(&req.media)?;
        match media {
            MediaRef::File { file_id } => self
                .media
                .files
                .get(&file_id)
                .map(|f| f.tl_media(2))
                .ok_or_else(|| RpcError::bad("MEDIA_INVALID")),
            MediaRef::Inline(media) => Ok(*media),
        }
    }
}

impl World {
    /// `messages.sendMultiMedia`: an album of 2–10 photos/documents sharing a `grouped_id`.
    /// As on Telegram, the media must already be uploaded (`messages.uploadMedia`) and sent by
    /// id. Errors: `MULTI_MEDIA_TOO_LONG`, `MEDIA_EMPTY` (fewer than two), `MEDIA_INVALID`.
    pub(super) fn send_multi_media(
        &mut self,
        req: &f::messages::SendMultiMedia,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::Updates, RpcError> {
        if req.multi_media.len() > 10 {
            return Err(RpcError::bad("MULTI_MEDIA_TOO_LONG"));
        }
        if req.multi_media.len() < 2 {
            return Err(RpcError::bad("MEDIA_EMPTY"));
        }
        let mut medias = Vec::new();
        for tl::enums::InputSingleMedia::Media(single) in &req.multi_media {
            match &single.media {
                tl::enums::InputMedia::Photo(_) | tl::enums::InputMedia::Document(_) => {}
                _ => return Err(RpcError::bad("MEDIA_INVALID")),
            }
            medias.push((self.input_media(&single.media)?, single));
        }
        let grouped_id = Some(rand::random::<i64>().abs());
        let mut all = tl::types::Updates {
            updates: Vec::new(),
            users: Vec::new(),
            chats: Vec::new(),
            date: crate::world::now(),
            seq: 0,
        };
        for (i, (media, single)) in medias.into_iter().enumerate() {
            let out = Outgoing {
                peer: &req.peer,
                text: &single.message,
                entities: single.entities.as_deref(),
                reply_to: if i == 0 { req.reply_to.as_ref() } else { None },
                random_id: single.random_id,
                fwd_from: None,
                grouped_id,
            };
            if let tl::enums::Updates::Updates(u) = self.post_outgoing(out, Some(media), fx)? {
                all.updates.extend(u.updates);
                // Every item goes to the same chat, so the peers of one answer cover all.
                all.users = u.users;
                all.chats = u.chats;
            }
        }
        Ok(tl::enums::Updates::Updates(all))
    }
}
