//! What Telegram shows about a file, read from the file itself: MIME type (`infer`, then the
//! client's declaration, then the file name), audio duration and tags (lofty), video size and
//! duration (mp4), image size (imagesize). Unknown stays `None`, never a guessed 0.
//!
//! No voice waveform: Telegram's is the loudness of the decoded signal, which needs an Opus
//! decoder (libopus or a pure-Rust port) that this crate does not carry; clients draw a flat
//! waveform when it is absent.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use lofty::prelude::{Accessor, AudioFile, TaggedFileExt};
use lofty::probe::Probe;
use telegram::media::{MediaAttributes, MediaKind};

use crate::upload::Upload;

/// The MIME type, file name and attributes to upload a file with.
#[derive(Debug, Clone, Default)]
pub struct Probed {
    /// MIME type, `application/octet-stream` when nothing is known.
    pub mime_type: String,
    /// The client's file name, else `<kind>.<extension>`.
    pub file_name: String,
    /// Duration, dimensions, title, performer, streaming support; `None` where unknown.
    pub attributes: MediaAttributes,
}

/// Probes `upload` as media of `kind` on a blocking thread (it reads the file).
pub async fn probe(kind: MediaKind, upload: &Upload) -> Probed {
    let path = upload.path().to_owned();
    let declared = (upload.file_name.clone(), upload.content_type.clone());
    tokio::task::spawn_blocking(move || probe_blocking(kind, &path, declared.0, declared.1))
        .await
        .unwrap_or_default()
}

fn probe_blocking(
    kind: MediaKind,
    path: &Path,
    file_name: Option<String>,
    content_type: Option<String>,
) -> Probed {
    let mime_type = mime_type(kind, path, file_name.as_deref(), content_type.as_deref());
    let file_name =
        file_name.unwrap_or_else(|| format!("{}.{}", kind.as_str(), extension(&mime_type)));
    let attributes = match kind {
        MediaKind::Voice | MediaKind::Audio => audio(path),
        MediaKind::Video | MediaKind::VideoNote | MediaKind::Animation => video(path),
        MediaKind::Photo | MediaKind::Sticker => image(path),
        MediaKind::Document => MediaAttributes::default(),
    };
    Probed {
        mime_type,
        file_name,
        attributes,
    }
}

/// Documents keep the type the client declared; media trust their magic bytes first.
fn mime_type(
    kind: MediaKind,
    path: &Path,
    file_name: Option<&str>,
    declared: Option<&str>,
) -> String {
    let declared = declared
        .and_then(|d| d.split(';').next())
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| d.contains('/') && d != "application/octet-stream");
    let sniffed = infer::get_from_path(path)
        .ok()
        .flatten()
        .map(|t| normalize(t.mime_type()).to_owned());
    let guessed = file_name
        .and_then(|n| mime_guess::from_path(n).first_raw())
        .map(str::to_owned);
    let chosen = if kind == MediaKind::Document {
        declared.or(sniffed).or(guessed)
    } else {
        sniffed.or(declared).or(guessed)
    };
    chosen.unwrap_or_else(|| "application/octet-stream".to_owned())
}

/// `infer` calls Ogg/Opus `audio/opus`; Telegram (and its voice notes) use the container type.
pub fn normalize(mime: &str) -> &str {
    match mime {
        "audio/opus" => "audio/ogg",
        other => other,
    }
}

fn extension(mime: &str) -> &'static str {
    match mime {
        "image/jpeg" => "jpg",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "video/mp4" => "mp4",
        _ => mime_guess::get_mime_extensions_str(mime)
            .and_then(|e| e.first().copied())
            .unwrap_or("bin"),
    }
}

/// Duration (lofty), and title/performer from the tags.
fn audio(path: &Path) -> MediaAttributes {
    let tagged = match Probe::open(path).and_then(|p| p.guess_file_type()?.read()) {
        Ok(tagged) => tagged,
        Err(e) => {
            tracing::debug!(error = %e, "cannot read audio properties");
            return MediaAttributes::default();
        }
    };
    let duration = tagged.properties().duration();
    let tag = tagged.primary_tag().or_else(|| tagged.first_tag());
    let text = |value: Option<std::borrow::Cow<'_, str>>| {
        value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    };
    MediaAttributes {
        duration: (!duration.is_zero()).then_some(duration.as_secs_f64()),
        title: tag.and_then(|t| text(t.title())),
        performer: tag.and_then(|t| text(t.artist())),
        ..MediaAttributes::default()
    }
}

/// Width, height and duration of the first video track (mp4); streaming when `moov` comes
/// before `mdat`.
fn video(path: &Path) -> MediaAttributes {
    let mut attributes = MediaAttributes {
        supports_streaming: moov_before_mdat(path).unwrap_or(false),
        ..MediaAttributes::default()
    };
    let reader = match File::open(path)
        .map_err(mp4::Error::from)
        .and_then(mp4::read_mp4)
    {
        Ok(reader) => reader,
        Err(e) => {
            tracing::debug!(error = %e, "cannot read MP4 properties");
            return attributes;
        }
    };
    let duration = reader.duration();
    attributes.duration = (!duration.is_zero()).then_some(duration.as_secs_f64());
    let video = reader
        .tracks()
        .values()
        .find(|t| matches!(t.track_type(), Ok(mp4::TrackType::Video)));
    if let Some(track) = video {
        attributes.width = Some(u32::from(track.width())).filter(|w| *w > 0);
        attributes.height = Some(u32::from(track.height())).filter(|h| *h > 0);
    }
    attributes
}

/// Whether the top-level `moov` box precedes `mdat` ("faststart"); `None` if neither is found.
pub fn moov_before_mdat(path: &Path) -> Option<bool> {
    let mut file = BufReader::new(File::open(path).ok()?);
    let len = file.get_ref().metadata().ok()?.len();
    let mut pos = 0u64;
    while pos + 8 <= len {
        file.seek(SeekFrom::Start(pos)).ok()?;
        let mut header = [0u8; 8];
        file.read_exact(&mut header).ok()?;
        let [s0, s1, s2, s3, t0, t1, t2, t3] = header;
        let size = match u32::from_be_bytes([s0, s1, s2, s3]) {
            0 => len - pos,
            1 => {
                let mut large = [0u8; 8];
                file.read_exact(&mut large).ok()?;
                u64::from_be_bytes(large)
            }
            n => u64::from(n),
        };
        match &[t0, t1, t2, t3] {
            b"moov" => return Some(true),
            b"mdat" => return Some(false),
            _ if size < 8 => return None,
            _ => pos += size,
        }
    }
    None
}

/// Pixel size of a photo or sticker.
fn image(path: &Path) -> MediaAttributes {
    match imagesize::size(path) {
        Ok(size) => MediaAttributes {
            width: u32::try_from(size.width).ok(),
            height: u32::try_from(size.height).ok(),
            ..MediaAttributes::default()
        },
        Err(e) => {
            tracing::debug!(error = %e, "cannot read image size");
            MediaAttributes::default()
        }
    }
}

#[cfg(test)]
mod tests;
