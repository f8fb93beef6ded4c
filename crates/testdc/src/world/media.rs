//! Files as Telegram stores them: uploads in parts (`upload.saveFilePart`/`saveBigFilePart`),
//! finished files as photos or documents with their attributes, and ranged reads
//! (`upload.getFile`) validated like Telegram (<https://core.telegram.org/api/files>).

use std::collections::HashMap;
use std::sync::Arc;

use grammers_tl_types::{self as tl, Identifiable as _, Serializable as _};

use super::RpcError;

/// Largest part Telegram accepts (512 KiB).
pub const MAX_PART: usize = 512 * 1024;
/// Most parts a small-file upload may have (`saveFilePart`); bigger files use `saveBigFilePart`.
pub const MAX_PARTS: i32 = 4000;
/// One `upload.getFile` answer never crosses a 1 MiB boundary.
const MIB: i64 = 1024 * 1024;

/// An upload in progress, keyed by the client's `file_id`.
#[derive(Default, Debug)]
pub struct Upload {
    parts: HashMap<i32, Vec<u8>>,
    total_parts: Option<i32>,
}

/// What a stored file is.
#[derive(Clone, Debug)]
pub enum FileKind {
    /// A photo with its size (testdc keeps the original as its only size, `x`).
    Photo {
        /// Width in pixels.
        w: i32,
        /// Height in pixels.
        h: i32,
    },
    /// A document with its MIME type and attributes (file name, audio/video/sticker…).
    Document {
        /// MIME type as uploaded.
        mime_type: String,
        /// Attributes as the uploader set them.
        attributes: Vec<tl::enums::DocumentAttribute>,
    },
}

/// A finished file.
#[derive(Clone, Debug)]
pub struct StoredFile {
    /// Photo or document id.
    pub id: i64,
    /// Access hash the client must present.
    pub access_hash: i64,
    /// Current file reference; [`MediaStore::expire_references`] rotates it.
    pub file_reference: Vec<u8>,
    /// Unix seconds.
    pub date: i32,
    /// The bytes.
    pub bytes: Arc<Vec<u8>>,
    /// Photo or document.
    pub kind: FileKind,
}

/// A message's media: a stored file, or media that is all metadata (location, venue,
/// contact, poll, dice) kept as the TL object Telegram returns.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaRef {
    /// A stored photo or document, by id.
    File {
        /// The stored file's id.
        file_id: i64,
    },
    /// A location, venue, contact, poll or dice, exactly as clients receive it.
    Inline(Box<tl::enums::MessageMedia>),
}

impl MediaRef {
    /// The stored file's id, for file media.
    pub fn file_id(&self) -> Option<i64> {
        match self {
            MediaRef::File { file_id } => Some(*file_id),
            MediaRef::Inline(_) => None,
        }
    }
}

/// Every upload and file of the world.
#[derive(Default, Debug)]
pub struct MediaStore {
    uploads: HashMap<i64, Upload>,
    /// Finished files by id.
    pub files: HashMap<i64, StoredFile>,
    /// How many kept messages show each file, counted only under a per-chat retention limit
    /// (see [`MediaStore::release`]).
    held: HashMap<i64, u32>,
    next_id: i64,
    reference_epoch: u8,
}

fn check_part(part: i32, bytes: &[u8], limit_parts: i32) -> Result<(), RpcError> {
    if !(0..limit_parts).contains(&part) {
        return Err(RpcError::bad("FILE_PART_INVALID"));
    }
    if bytes.is_empty() {
        return Err(RpcError::bad("FILE_PART_EMPTY"));
    }
    if bytes.len() > MAX_PART {
        return Err(RpcError::bad("FILE_PART_TOO_BIG"));
    }
    Ok(())
}

impl MediaStore {
    /// `upload.saveFilePart`. Errors: `FILE_PART_INVALID`, `FILE_PART_EMPTY`, `FILE_PART_TOO_BIG`.
    pub fn save_part(&mut self, file_id: i64, part: i32, bytes: Vec<u8>) -> Result<(), RpcError> {
        check_part(part, &bytes, MAX_PARTS)?;
        self.uploads
            .entry(file_id)
            .or_default()
            .parts
            .insert(part, bytes);
        Ok(())
    }

    /// `upload.saveBigFilePart`. Errors as [`Self::save_part`], plus `FILE_PARTS_INVALID` when
    /// `total_parts` is out of range or changes between parts.
    pub fn save_big_part(
        &mut self,
        file_id: i64,
        part: i32,
        total: i32,
        bytes: Vec<u8>,
    ) -> Result<(), RpcError> {
        if !(1..=8000).contains(&total) {
            return Err(RpcError::bad("FILE_PARTS_INVALID"));
        }
        check_part(part, &bytes, total)?;
        let upload = self.uploads.entry(file_id).or_default();
        if upload.total_parts.is_some_and(|t| t != total) {
            return Err(RpcError::bad("FILE_PARTS_INVALID"));
        }
        upload.total_parts = Some(total);
        upload.parts.insert(part, bytes);
        Ok(())
    }

    /// Assembles an `InputFile` into bytes. Errors: `FILE_PARTS_INVALID` (count mismatch),
    /// `FILE_PART_<N>_MISSING` (a hole), `FILE_PART_SIZE_INVALID` (non-final parts must all
    /// have the same size, a multiple of 1 KiB dividing 512 KiB).
    pub fn take_upload(&mut self, file: &tl::enums::InputFile) -> Result<Vec<u8>, RpcError> {
        let (id, parts) = match file {
            tl::enums::InputFile::File(f) => (f.id, f.parts),
            tl::enums::InputFile::Big(f) => (f.id, f.parts),
            tl::enums::InputFile::StoryDocument(_) => return Err(RpcError::bad("FILE_ID_INVALID")),
        };
        let upload = self
            .uploads
            .get(&id)
            .ok_or_else(|| RpcError::bad("FILE_PARTS_INVALID"))?;
        if parts < 1
            || upload.parts.len() != parts as usize
            || upload.total_parts.is_some_and(|t| t != parts)
        {
            return Err(RpcError::bad("FILE_PARTS_INVALID"));
        }
        let part_size = upload.parts.get(&0).map_or(0, Vec::len);
        let mut bytes = Vec::with_capacity(part_size * parts as usize);
        for n in 0..parts {
            let part = upload
                .parts
                .get(&n)
                .ok_or_else(|| RpcError::bad(&format!("FILE_PART_{n}_MISSING")))?;
            let last = n == parts - 1;
            if !last
                && (part.len() != part_size
                    || !part_size.is_multiple_of(1024)
                    || !MAX_PART.is_multiple_of(part_size))
            {
                return Err(RpcError::bad("FILE_PART_SIZE_INVALID"));
            }
            bytes.extend_from_slice(part);
        }
        self.uploads.remove(&id);
        Ok(bytes)
    }

    /// Stores finished bytes as a new file and returns it.
    pub fn store(
        &mut self,
        bytes: Vec<u8>,
        kind: FileKind,
        access_hash: i64,
        date: i32,
    ) -> StoredFile {
        self.next_id += 1;
        let file = StoredFile {
            id: 5_000_000_000 + self.next_id,
            access_hash,
            file_reference: vec![self.reference_epoch, 1, 2, 3],
            date,
            bytes: Arc::new(bytes),
            kind,
        };
        self.files.insert(file.id, file.clone());
        file
    }

    /// One more kept message shows file `id`.
    pub(crate) fn hold(&mut self, id: i64) {
        *self.held.entry(id).or_default() += 1;
    }

    /// A kept message showing file `id` was forgotten; the file (its bytes) goes with the
    /// last such message. A file no counted message showed (an edit's new media) stays.
    pub(crate) fn release(&mut self, id: i64) {
        let Some(count) = self.held.get_mut(&id) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            self.held.remove(&id);
            self.files.remove(&id);
        }
    }

    /// Makes every file reference handed out so far expire (`FILE_REFERENCE_EXPIRED`), as
    /// Telegram does after a while; clients must refetch the message to get a fresh one.
    pub fn expire_references(&mut self) {
        self.reference_epoch = self.reference_epoch.wrapping_add(1);
        for file in self.files.values_mut() {
            file.file_reference = vec![self.reference_epoch, 1, 2, 3];
        }
    }

    /// Looks a file up by id, access hash and file reference. Errors: `MEDIA_EMPTY` /
    /// `FILE_ID_INVALID` for unknown ids or hashes, `FILE_REFERENCE_EXPIRED`.
    pub fn find(
        &self,
        id: i64,
        access_hash: i64,
        file_reference: &[u8],
    ) -> Result<&StoredFile, RpcError> {
        let file = self
            .files
            .get(&id)
            .filter(|f| f.access_hash == access_hash)
            .ok_or_else(|| RpcError::bad("FILE_ID_INVALID"))?;
        if file.file_reference != file_reference {
            return Err(RpcError::bad("FILE_REFERENCE_EXPIRED"));
        }
        Ok(file)
    }

    /// `upload.getFile`: `limit` bytes from `offset`, validated as Telegram does — offsets
    /// multiples of 4 KiB (1 KiB when `precise`), limits multiples of 4 KiB dividing 1 MiB
    /// (with `precise`: multiples of 1 KiB up to 1 MiB), never crossing a 1 MiB boundary.
    /// Returns the serialized `upload.file`. Errors: `LIMIT_INVALID`, `OFFSET_INVALID`, plus
    /// [`Self::find`]'s.
    pub fn read(&self, req: &tl::functions::upload::GetFile) -> Result<Vec<u8>, RpcError> {
        let (id, hash, reference) = match &req.location {
            tl::enums::InputFileLocation::InputPhotoFileLocation(l) => {
                (l.id, l.access_hash, &l.file_reference)
            }
            tl::enums::InputFileLocation::InputDocumentFileLocation(l) => {
                (l.id, l.access_hash, &l.file_reference)
            }
            _ => return Err(RpcError::bad("LOCATION_INVALID")),
        };
        let (offset, limit) = (req.offset, i64::from(req.limit));
        let align = if req.precise { 1024 } else { 4096 };
        let limit_ok =
            limit > 0 && limit <= MIB && limit % align == 0 && (req.precise || MIB % limit == 0);
        if !limit_ok {
            return Err(RpcError::bad("LIMIT_INVALID"));
        }
        if offset < 0 || offset % align != 0 || offset / MIB != (offset + limit - 1) / MIB {
            return Err(RpcError::bad("OFFSET_INVALID"));
        }
        let file = self.find(id, hash, reference)?;
        let len = file.bytes.len() as i64;
        let start = offset.min(len) as usize;
        let end = (offset + limit).min(len) as usize;
        // Serialized straight from the stored bytes: one copy of the chunk, not a `to_vec`
        // into an `upload.File` and another into its serialization.
        let bytes = &file.bytes[start..end];
        let mut out = Vec::with_capacity(bytes.len() + 24);
        tl::types::upload::File::CONSTRUCTOR_ID.serialize(&mut out);
        tl::enums::storage::FileType::FilePartial.serialize(&mut out);
        file.date.serialize(&mut out);
        bytes.serialize(&mut out);
        Ok(out)
    }
}

impl StoredFile {
    /// The document attributes (empty for photos).
    pub fn attributes(&self) -> &[tl::enums::DocumentAttribute] {
        match &self.kind {
            FileKind::Document { attributes, .. } => attributes,
            FileKind::Photo { .. } => &[],
        }
    }

    /// The TL `photo` or `document` object with the current file reference.
    pub fn tl_media(&self, dc_id: i32) -> tl::enums::MessageMedia {
        match &self.kind {
            FileKind::Photo { w, h } => {
                tl::enums::MessageMedia::Photo(tl::types::MessageMediaPhoto {
                    spoiler: false,
                    live_photo: false,
                    photo: Some(tl::enums::Photo::Photo(tl::types::Photo {
                        has_stickers: false,
                        id: self.id,
                        access_hash: self.access_hash,
                        file_reference: self.file_reference.clone(),
                        date: self.date,
                        sizes: vec![tl::enums::PhotoSize::Size(tl::types::PhotoSize {
                            r#type: "x".into(),
                            w: *w,
                            h: *h,
                            size: self.bytes.len() as i32,
                        })],
                        video_sizes: None,
                        dc_id,
                    })),
                    ttl_seconds: None,
                    video: None,
                })
            }
            FileKind::Document {
                mime_type,
                attributes,
            } => {
                use tl::enums::DocumentAttribute as A;
                let voice = attributes
                    .iter()
                    .any(|a| matches!(a, A::Audio(a) if a.voice));
                let round = attributes
                    .iter()
                    .any(|a| matches!(a, A::Video(v) if v.round_message));
                let animated = attributes.iter().any(|a| matches!(a, A::Animated));
                let video =
                    !round && !animated && attributes.iter().any(|a| matches!(a, A::Video(_)));
                tl::enums::MessageMedia::Document(tl::types::MessageMediaDocument {
                    nopremium: false,
                    spoiler: false,
                    video,
                    round,
                    voice,
                    document: Some(tl::enums::Document::Document(tl::types::Document {
                        id: self.id,
                        access_hash: self.access_hash,
                        file_reference: self.file_reference.clone(),
                        date: self.date,
                        mime_type: mime_type.clone(),
                        size: self.bytes.len() as i64,
                        thumbs: None,
                        video_thumbs: None,
                        dc_id,
                        attributes: attributes.clone(),
                    })),
                    alt_documents: None,
                    video_cover: None,
                    video_timestamp: None,
                    ttl_seconds: None,
                })
            }
        }
    }
}
