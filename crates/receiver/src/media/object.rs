//! The payload's `media` object, the file requests for a message and its replied-to message,
//! and the short `[voice 2s]` summary for the stdout line.

use botapi::types::Message;
use serde::Serialize;
use serde_json::Value;
use telegram::media::{FileId, ReceivedMedia};

use super::fetch::{FileRequest, Skipped};

/// `message.media` of the payload. Every key is always present (`null` when it does not apply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MediaObject {
    /// `photo`, `voice`, `audio`, `video`, `video_note`, `animation`, `document`, `sticker`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Bot API `file_id` (for photos: of the largest size); the sender accepts it back.
    pub file_id: String,
    /// Bot API `file_unique_id`: the same file has the same one everywhere.
    pub file_unique_id: String,
    /// Original file name (documents, audio, video, animations, stickers when given).
    pub file_name: Option<String>,
    /// MIME type as Telegram reports it (`image/jpeg` for photos).
    pub mime_type: Option<String>,
    /// Size in bytes.
    pub file_size: Option<u64>,
    /// Duration in whole seconds (voice, audio, video, video_note, animation).
    pub duration: Option<u32>,
    /// Width in pixels (photo, video, video_note, animation, sticker).
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// Why the file was not downloaded (`too_large`, `disk_full`, `failed`); `null` when
    /// `media_url` points at it.
    pub skipped: Option<&'static str>,
}

impl MediaObject {
    /// The object for a message's media and the outcome of its download.
    pub fn new(media: &ReceivedMedia, skipped: Option<Skipped>) -> Self {
        Self {
            kind: media.kind.as_str(),
            file_id: media.file.encode(),
            file_unique_id: media.file.unique_id(),
            file_name: media.file_name.clone(),
            mime_type: media.mime_type.clone(),
            file_size: media.file_size,
            duration: media.duration,
            width: media.width,
            height: media.height,
            skipped: skipped.map(Skipped::as_str),
        }
    }

    /// As JSON (infallible: only strings and numbers).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The download request for a message's media.
pub fn request_for(media: &ReceivedMedia) -> FileRequest {
    FileRequest {
        file: media.file.clone(),
        size: media.file_size,
        mime_type: media.mime_type.clone(),
        file_name: media.file_name.clone(),
    }
}

/// The media of a message in Bot API shape (used for the replied-to message): its kind and
/// what to download, decoded from the `file_id` of the first media field that is set.
/// `None` without media or with a `file_id` this gateway did not make.
pub fn request_from_bot_message(message: &Message) -> Option<(&'static str, FileRequest)> {
    // Animation before document: the Bot API fills both for an animation.
    let (file_id, size, mime, name) = if let Some(a) = &message.animation {
        (
            &a.file_id,
            a.file_size,
            a.mime_type.clone(),
            a.file_name.clone(),
        )
    } else if let Some(p) = message.photo.as_ref().and_then(|sizes| sizes.last()) {
        (&p.file_id, p.file_size, Some("image/jpeg".to_owned()), None)
    } else if let Some(v) = &message.voice {
        (&v.file_id, v.file_size, v.mime_type.clone(), None)
    } else if let Some(a) = &message.audio {
        (
            &a.file_id,
            a.file_size,
            a.mime_type.clone(),
            a.file_name.clone(),
        )
    } else if let Some(v) = &message.video {
        (
            &v.file_id,
            v.file_size,
            v.mime_type.clone(),
            v.file_name.clone(),
        )
    } else if let Some(v) = &message.video_note {
        (&v.file_id, v.file_size, Some("video/mp4".to_owned()), None)
    } else if let Some(s) = &message.sticker {
        let mime = if s.is_animated {
            "application/x-tgsticker"
        } else if s.is_video {
            "video/webm"
        } else {
            "image/webp"
        };
        (&s.file_id, s.file_size, Some(mime.to_owned()), None)
    } else if let Some(d) = &message.document {
        (
            &d.file_id,
            d.file_size,
            d.mime_type.clone(),
            d.file_name.clone(),
        )
    } else {
        return None;
    };
    let file = FileId::decode(file_id).ok()?;
    let kind = file.kind.as_str();
    Some((
        kind,
        FileRequest {
            file,
            size,
            mime_type: mime,
            file_name: name,
        },
    ))
}

/// `[voice 2s]`, `[photo 640x480]`, `[document report.pdf]`, `[audio 3s too_large]`, … from a
/// payload's `media` object.
pub fn summary(media: &Value) -> String {
    let kind = media["type"].as_str().unwrap_or("media");
    let mut parts = vec![kind.to_owned()];
    if let Some(name) = media["file_name"].as_str() {
        parts.push(format!("{name:?}"));
    }
    if let Some(secs) = media["duration"].as_u64() {
        parts.push(format!("{secs}s"));
    }
    if let (Some(w), Some(h)) = (media["width"].as_u64(), media["height"].as_u64()) {
        parts.push(format!("{w}x{h}"));
    }
    if let Some(skipped) = media["skipped"].as_str() {
        parts.push(format!("skipped:{skipped}"));
    }
    format!("[{}]", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_are_short() {
        let voice = json!({"type": "voice", "file_name": null, "duration": 2, "width": null,
                           "height": null, "skipped": null});
        assert_eq!(summary(&voice), "[voice 2s]");
        let photo = json!({"type": "photo", "width": 640, "height": 480, "skipped": null});
        assert_eq!(summary(&photo), "[photo 640x480]");
        let doc = json!({"type": "document", "file_name": "a b.pdf", "skipped": "too_large"});
        assert_eq!(summary(&doc), r#"[document "a b.pdf" skipped:too_large]"#);
    }
}
