//! Downloading one file into the media directory under the limits: the size cap
//! (`MEDIA_MAX_BYTES`), the disk ceiling (reservation in [`MediaStore`]) and a bounded number of
//! concurrent downloads. Transient failures (network, Telegram 5xx and flood waits, the local
//! disk) are retried with capped, jittered backoff for as long as the update may still be
//! delivered (`WEBHOOK_MAX_AGE`) or until the receiver stops; an expired file reference is
//! refreshed by `Telegram::download` itself.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use telegram::media::FileId;
use telegram::{Telegram, TelegramError};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tracing::{debug, warn};

use super::store::{MediaStore, StoreError};

/// Delay before the first retry of a failed download; it doubles with every failure.
pub const RETRY_MIN_DELAY: Duration = Duration::from_millis(500);
/// Longest delay between two attempts of a download, jitter included (a longer
/// `FLOOD_WAIT` is waited out as Telegram asks).
pub const RETRY_MAX_DELAY: Duration = Duration::from_secs(30);

/// What to download and how to name it.
#[derive(Clone, Debug)]
pub struct FileRequest {
    pub(crate) file: FileId,
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
    /// Telegram or the disk failed for good, or kept failing until the retry time ran out
    /// (logged).
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

/// Why [`Fetcher::fetch`] returned without a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotFetched {
    /// Given up for good; the payload says why.
    Skipped(Skipped),
    /// The receiver is stopping and the download was waiting to be retried: nothing is
    /// decided, the update stays in the outbox and is downloaded again at the next start.
    Stopped,
}

impl From<Skipped> for NotFetched {
    fn from(skipped: Skipped) -> Self {
        NotFetched::Skipped(skipped)
    }
}

/// One attempt's failure, as the retry loop sees it.
#[derive(Debug)]
enum Attempt {
    /// Telegram or the disk failed.
    Failed(TelegramError),
    /// The receiver is stopping: no attempt was made.
    Stopped,
}

/// Downloads files for payloads. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    telegram: Arc<Telegram>,
    store: MediaStore,
    max_bytes: u64,
    permits: Arc<Semaphore>,
    retry_for: Duration,
}

impl Fetcher {
    /// `max_bytes`: the largest file downloaded; `concurrency`: downloads at the same time;
    /// `retry_for`: how long transient failures are retried, counted from a download's start
    /// (`WEBHOOK_MAX_AGE`: past it the update could not be delivered anyway).
    pub fn new(
        telegram: Arc<Telegram>,
        store: MediaStore,
        max_bytes: u64,
        concurrency: usize,
        retry_for: Duration,
    ) -> Self {
        Self {
            telegram,
            store,
            max_bytes,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            retry_for,
        }
    }

    /// The store files go to.
    pub fn store(&self) -> &MediaStore {
        &self.store
    }

    /// Downloads `request` and returns the stored file's name, complete on disk (flushed,
    /// fsynced, renamed), or why it was not. Transient failures (network, local I/O, Telegram
    /// 5xx and `FLOOD_WAIT`) are retried for [`Fetcher::new`]'s `retry_for` while `stop` is
    /// false; permanent ones skip the file at once.
    ///
    /// Errors: [`NotFetched::Skipped`] (too large, no room under the ceiling, failed for good
    /// or past the retry time), [`NotFetched::Stopped`] (`stop` turned true while the download
    /// was failing: undecided).
    pub async fn fetch(
        &self,
        request: &FileRequest,
        stop: &watch::Receiver<bool>,
    ) -> Result<String, NotFetched> {
        let announced = request.size.unwrap_or(0);
        if announced > self.max_bytes {
            return Err(Skipped::TooLarge.into());
        }
        // Closed only if the fetcher is gone; a payload without its file beats a panic. Held
        // through the retries: at most `concurrency` files download or wait to retry at once.
        let _permit = self.permits.acquire().await.map_err(|_| Skipped::Failed)?;
        let reservation = self.store.reserve(announced).await.map_err(|e| match e {
            StoreError::DiskFull => Skipped::DiskFull,
        })?;
        let name = MediaStore::new_name(extension(
            request.mime_type.as_deref(),
            request.file_name.as_deref(),
        ));
        let dest = self.store.path(&name);
        let written = self.download(&request.file, &dest, stop).await?;
        if written > self.max_bytes {
            // Telegram announced less than it sent.
            let _ = tokio::fs::remove_file(&dest).await;
            return Err(Skipped::TooLarge.into());
        }
        debug!(name, bytes = written, "media downloaded");
        self.store.commit(reservation, name.clone(), written);
        Ok(name)
    }

    /// `Telegram::download` to `dest`, retried with backoff (from [`RETRY_MIN_DELAY`],
    /// doubling, jittered, at most [`RETRY_MAX_DELAY`]) while the error is transient, the
    /// retry time is not over and `stop` is false. A stop cuts the wait short; an attempt in
    /// flight is finished. Returns the bytes written.
    async fn download(
        &self,
        file: &FileId,
        dest: &Path,
        stop: &watch::Receiver<bool>,
    ) -> Result<u64, NotFetched> {
        let deadline = Instant::now() + self.retry_for;
        let left = || deadline.saturating_duration_since(Instant::now());
        // A dropped sender means nobody drains the jobs any more: stopping as well.
        let stopping = || *stop.borrow() || stop.has_changed().is_err();
        let attempt = || async {
            if stopping() {
                return Err(Attempt::Stopped);
            }
            self.telegram
                .download(file, dest)
                .await
                .map_err(Attempt::Failed)
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(RETRY_MIN_DELAY)
            // Jitter adds up to as much again.
            .with_max_delay(RETRY_MAX_DELAY / 2)
            .with_jitter()
            .without_max_times();
        let sleep_stop = stop.clone();
        let result = attempt
            .retry(backoff)
            .sleep(move |delay| sleep_unless_stopped(delay, sleep_stop.clone()))
            .when(|e| matches!(e, Attempt::Failed(e) if is_transient(e)) && !stopping())
            .adjust(|e, delay| match e {
                Attempt::Failed(e) => next_delay(e, delay, left()),
                Attempt::Stopped => None,
            })
            .notify(|e, delay| {
                if let Attempt::Failed(e) = e {
                    let retry_in_ms = delay.as_millis() as u64;
                    warn!(error = %e, retry_in_ms, "media download failed; retrying");
                }
            })
            .await;
        match result {
            Ok(written) => Ok(written),
            Err(Attempt::Failed(e)) if is_transient(&e) && stopping() => {
                debug!(error = %e, "media download failing at the shutdown: not retried");
                Err(NotFetched::Stopped)
            }
            Err(Attempt::Stopped) => Err(NotFetched::Stopped),
            Err(Attempt::Failed(e)) => {
                warn!(error = %e, "media download failed");
                Err(Skipped::Failed.into())
            }
        }
    }
}

/// Waits `delay`, or less if `stop` turns true (or its sender is dropped) first.
async fn sleep_unless_stopped(delay: Duration, mut stop: watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(delay) => {}
        _ = stop.wait_for(|stop| *stop) => {}
    }
}

/// The wait before the next attempt after `error`: the backoff's `delay`, at least the
/// seconds of a `FLOOD_WAIT` (Telegram refuses earlier calls), at most `left`, the time left
/// to retry (one last attempt at the end). `None` (give up) when no time is left.
fn next_delay(error: &TelegramError, delay: Option<Duration>, left: Duration) -> Option<Duration> {
    if left.is_zero() {
        return None;
    }
    let delay = match error {
        TelegramError::FloodWait { seconds } => {
            delay?.max(Duration::from_secs(u64::from(*seconds)))
        }
        _ => delay?,
    };
    Some(delay.min(left))
}

/// Whether a failed download may succeed later: network errors, local I/O errors (a full,
/// read-only or missing `MEDIA_DIR`), Telegram's 5xx and -503 `Timeout` and a `FLOOD_WAIT`
/// longer than the client sleeps through itself ("try again later" in Telegram's error list,
/// core.telegram.org/api/errors). Permanent: other RPC errors (a 400 such as `FILE_ID_INVALID`,
/// `FILE_REFERENCE_EXPIRED` after the refresh), an unauthorized session, an unexpected answer.
fn is_transient(e: &TelegramError) -> bool {
    match e {
        TelegramError::Network(_) | TelegramError::Io(_) | TelegramError::FloodWait { .. } => true,
        TelegramError::Rpc { code, .. } => *code >= 500 || *code == -503,
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

    fn rpc(code: i32, name: &str) -> TelegramError {
        TelegramError::Rpc {
            code,
            name: name.into(),
            value: None,
        }
    }

    #[test]
    fn network_disk_server_and_flood_errors_are_retried_the_rest_is_not() {
        let io = std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left");
        for transient in [
            TelegramError::Network("reset".into()),
            TelegramError::Io(io),
            TelegramError::FloodWait { seconds: 120 },
            rpc(500, "INTERNAL"),
            rpc(-503, "TIMEOUT"),
        ] {
            assert!(is_transient(&transient), "{transient}");
        }
        for permanent in [
            rpc(400, "FILE_ID_INVALID"),
            rpc(400, "FILE_REFERENCE_EXPIRED"),
            rpc(400, "LOCATION_INVALID"),
            TelegramError::Unauthorized,
            TelegramError::Unexpected("odd".into()),
        ] {
            assert!(!is_transient(&permanent), "{permanent}");
        }
    }

    #[test]
    fn delays_follow_the_backoff_wait_out_flood_waits_and_end_with_the_retry_time() {
        let s = Duration::from_secs;
        let internal = rpc(500, "INTERNAL");
        let flood = TelegramError::FloodWait { seconds: 90 };
        assert_eq!(next_delay(&internal, Some(s(2)), s(3600)), Some(s(2)));
        assert_eq!(next_delay(&flood, Some(s(2)), s(3600)), Some(s(90)));
        assert_eq!(next_delay(&internal, Some(s(20)), s(5)), Some(s(5)));
        assert_eq!(next_delay(&flood, Some(s(2)), s(5)), Some(s(5)));
        assert_eq!(next_delay(&internal, Some(s(2)), Duration::ZERO), None);
        assert_eq!(next_delay(&internal, None, s(3600)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_cuts_the_backoff_short() {
        let (tx, rx) = watch::channel(false);
        let started = Instant::now();
        let sleeping = tokio::spawn(sleep_unless_stopped(RETRY_MAX_DELAY, rx));
        tokio::time::sleep(Duration::from_secs(1)).await;
        tx.send_replace(true);
        sleeping.await.expect("the sleep task");
        assert_eq!(started.elapsed(), Duration::from_secs(1));

        let (tx, rx) = watch::channel(false);
        drop(tx);
        let started = Instant::now();
        sleep_unless_stopped(RETRY_MAX_DELAY, rx).await;
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "a dropped sender stops too"
        );
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
