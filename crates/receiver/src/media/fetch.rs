//! Downloading one file into the media directory under the limits: the size cap
//! (`MEDIA_MAX_BYTES`), the disk ceiling (reservation in [`MediaStore`]) and a bounded number of
//! concurrent downloads. Transient failures are retried; an expired file reference is refreshed
//! by `Telegram::download` itself.

use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use telegram::media::FileId;
use telegram::{Telegram, TelegramError};
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use super::store::{MediaStore, StoreError};

/// Attempts per download (the first included) for network and I/O failures.
pub const DOWNLOAD_ATTEMPTS: usize = 3;

/// What to download and how to name it.
#[derive(Clone, Debug)]
pub struct FileRequest {
    /// The file.
    pub file: FileId,
    /// Size Telegram announced, in bytes (checked against the limits before downloading).
    pub size: Option<u64>,
    /// MIME type, for the extension.
    pub mime_type: Option<String>,
    /// Original file name, for the extension when the MIME type does not give one.
    pub file_name: Option<String>,
}

/// Why a file was not downloaded; serialized as the media object's `skipped`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// Larger than `MEDIA_MAX_BYTES`.
    TooLarge,
    /// Does not fit under `MEDIA_MAX_DISK_BYTES`.
    DiskFull,
    /// Telegram or the disk failed (logged).
    Failed,
}

impl Skipped {
    /// `too_large`, `disk_full`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Skipped::TooLarge => "too_large",
            Skipped::DiskFull => "disk_full",
            Skipped::Failed => "failed",
        }
    }
}

/// Downloads files for payloads. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    telegram: Arc<Telegram>,
    store: MediaStore,
    max_bytes: u64,
    permits: Arc<Semaphore>,
    retry_delay: Duration,
}

impl Fetcher {
    /// `max_bytes`: the largest file downloaded; `concurrency`: downloads at the same time.
    pub fn new(
        telegram: Arc<Telegram>,
        store: MediaStore,
        max_bytes: u64,
        concurrency: usize,
    ) -> Self {
        Self {
            telegram,
            store,
            max_bytes,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            retry_delay: Duration::from_millis(500),
        }
    }

    /// The store files go to.
    pub fn store(&self) -> &MediaStore {
        &self.store
    }

    /// Downloads `request` and returns the stored file's name, complete on disk (flushed,
    /// fsynced, renamed), or why it was skipped.
    pub async fn fetch(&self, request: &FileRequest) -> Result<String, Skipped> {
        let announced = request.size.unwrap_or(0);
        if announced > self.max_bytes {
            return Err(Skipped::TooLarge);
        }
        // Closed only if the fetcher is gone; a payload without its file beats a panic.
        let _permit = self.permits.acquire().await.map_err(|_| Skipped::Failed)?;
        let reservation = self.store.reserve(announced).await.map_err(|e| match e {
            StoreError::DiskFull => Skipped::DiskFull,
        })?;
        let name = MediaStore::new_name(extension(
            request.mime_type.as_deref(),
            request.file_name.as_deref(),
        ));
        let dest = self.store.path(&name);
        let download = || self.telegram.download(&request.file, &dest);
        let written = download
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(self.retry_delay)
                    .with_max_times(DOWNLOAD_ATTEMPTS - 1),
            )
            .sleep(tokio::time::sleep)
            .when(is_transient)
            .notify(|e, delay| warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "media download failed; retrying"))
            .await
            .map_err(|e| {
                warn!(error = %e, "media download failed");
                Skipped::Failed
            })?;
        if written > self.max_bytes {
            // Telegram announced less than it sent.
            let _ = tokio::fs::remove_file(&dest).await;
            return Err(Skipped::TooLarge);
        }
        debug!(name, bytes = written, "media downloaded");
        self.store.commit(reservation, name.clone(), written);
        Ok(name)
    }
}

fn is_transient(e: &TelegramError) -> bool {
    match e {
        TelegramError::Network(_) | TelegramError::Io(_) => true,
        TelegramError::Rpc { code, .. } => *code >= 500,
        _ => false,
    }
}

/// Extensions a browser would run (HTML, SVG, scripts): stored as `bin` so the media host
/// never serves active content a sender chose.
const ACTIVE_CONTENT: [&str; 11] = [
    "htm", "html", "shtml", "xht", "xhtml", "svg", "svgz", "js", "mjs", "xml", "xsl",
];

/// The file extension (without dot) for a stored file: from a table of common MIME types,
/// else the original name's extension (ASCII alphanumerics, at most 8), else `mime_guess`,
/// else `bin`; active content (HTML, SVG, scripts) becomes `bin`. The media server derives
/// `Content-Type` from it.
pub fn extension(mime_type: Option<&str>, file_name: Option<&str>) -> &'static str {
    let ext = guess_extension(mime_type, file_name);
    if ACTIVE_CONTENT.contains(&ext) {
        "bin"
    } else {
        ext
    }
}

fn guess_extension(mime_type: Option<&str>, file_name: Option<&str>) -> &'static str {
    let mime = mime_type.map(|m| {
        m.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    if let Some(ext) = mime.as_deref().and_then(known_extension) {
        return ext;
    }
    if let Some(ext) = file_name.and_then(name_extension) {
        return ext;
    }
    mime.as_deref()
        // Its first listed extension is "aaf": not what anybody means by "bytes".
        .filter(|m| *m != "application/octet-stream")
        .and_then(mime_guess::get_mime_extensions_str)
        .and_then(|exts| exts.first().copied())
        .unwrap_or("bin")
}

fn known_extension(mime: &str) -> Option<&'static str> {
    Some(match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "audio/ogg" | "audio/opus" => "ogg",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/mp4" | "audio/x-m4a" | "audio/m4a" => "m4a",
        "audio/wav" | "audio/x-wav" => "wav",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        "application/pdf" => "pdf",
        "application/zip" => "zip",
        "application/json" => "json",
        "application/x-tgsticker" => "tgs",
        "text/plain" => "txt",
        _ => return None,
    })
}

/// The extension of an original file name, if it is a plain one (`report.PDF` → `pdf`), from
/// a closed set so that a sender cannot choose an arbitrary served type.
fn name_extension(file_name: &str) -> Option<&'static str> {
    let (_, ext) = file_name.rsplit_once('.')?;
    if ext.is_empty() || ext.len() > 8 || !ext.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let ext = ext.to_ascii_lowercase();
    // `mime_guess` knows the extension: use its static spelling (no allocation kept).
    mime_guess::get_mime_extensions_str(mime_guess::from_ext(&ext).first_raw()?)?
        .iter()
        .copied()
        .find(|known| *known == ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_come_from_the_mime_type_then_the_file_name() {
        assert_eq!(extension(Some("image/jpeg"), None), "jpg");
        assert_eq!(extension(Some("audio/ogg"), None), "ogg");
        assert_eq!(extension(Some("audio/mpeg"), Some("song.mp3")), "mp3");
        assert_eq!(extension(Some("video/mp4"), None), "mp4");
        assert_eq!(extension(Some("application/pdf"), Some("x.bin")), "pdf");
        assert_eq!(extension(Some("image/webp"), None), "webp");
        assert_eq!(
            extension(Some("application/octet-stream"), Some("Report.DOCX")),
            "docx"
        );
        assert_eq!(
            extension(Some("application/octet-stream"), Some("x")),
            "bin"
        );
        assert_eq!(extension(None, Some("../../etc/passwd")), "bin");
        assert_eq!(extension(None, Some("a.p/hp")), "bin");
        assert_eq!(extension(None, None), "bin");
        assert_eq!(extension(Some("text/html"), Some("x.html")), "bin");
        assert_eq!(extension(None, Some("x.svg")), "bin");
    }

    #[test]
    fn names_are_unguessable_and_distinct() {
        let a = MediaStore::new_name("jpg");
        let b = MediaStore::new_name("jpg");
        assert_ne!(a, b);
        assert_eq!(a.len(), 32 + ".jpg".len());
        assert!(a[..32].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
