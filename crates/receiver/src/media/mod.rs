//! Media of incoming messages: downloaded into `MEDIA_DIR` before the payload leaves, announced
//! as `media` + `media_url` (and `reply_to_message.media_url`/`media_type`), served back over
//! HTTP and deleted after `MEDIA_TTL` or when the directory reaches `MEDIA_MAX_DISK_BYTES`.
//!
//! Modules: [`store`] (directory, names, index, sweep), [`fetch`] (limits, concurrency,
//! retries, extensions), [`object`] (the payload's `media` object), [`server`] (`/media` and
//! the router the status routes join), [`files`] (the file service behind `/media`: confined
//! to the directory, `Range` per RFC 9110).
//!
//! Deliberately absent: de-duplication. A file seen twice (say, the media of a message that
//! is replied to again and again) is downloaded again under a new name each time, so every URL
//! lives its full TTL from its own payload.

pub mod fetch;
pub mod files;
pub mod object;
pub mod server;
pub mod store;
#[cfg(test)]
mod store_tests;

use serde_json::Value;
use telegram::media::FileId;
use tokio::sync::watch;

use self::fetch::{Fetcher, FileRequest, NotFetched, Skipped};
use outbox::Download;

/// Downloads media for payloads and builds their URLs. Cheap to clone.
#[derive(Clone)]
pub struct MediaService {
    fetcher: Fetcher,
    origin: String,
}

impl MediaService {
    /// `origin`: `scheme://host[:port]` of media URLs ([`crate::Config::public_media_origin`]).
    pub fn new(fetcher: Fetcher, origin: String) -> Self {
        Self { fetcher, origin }
    }

    /// The public URL of the stored file `name`.
    pub fn url(&self, name: &str) -> String {
        format!("{}{}/{name}", self.origin, server::MEDIA_PREFIX)
    }

    /// Downloads every file (concurrently) and writes each URL at its `url_at` pointer in
    /// `body`, or the reason it was skipped at `skipped_at`. Files are complete on disk when
    /// this returns. A file that is not downloaded leaves its URL `null`.
    ///
    /// Errors: [`Stopped`] when `stop` turned true while a download was failing: `body` is
    /// not final (and may be half filled) and the update is to be downloaded again at the next
    /// start.
    pub async fn complete(
        &self,
        body: &mut Value,
        downloads: &[Download],
        stop: &watch::Receiver<bool>,
    ) -> Result<(), Stopped> {
        let results =
            futures::future::join_all(downloads.iter().map(|d| self.fetch_download(d, stop))).await;
        for (download, result) in downloads.iter().zip(results) {
            match result {
                Ok(url) => set(body, &download.url_at, Value::String(url)),
                Err(NotFetched::Skipped(skipped)) => {
                    if let Some(at) = &download.skipped_at {
                        set(body, at, Value::String(skipped.as_str().to_owned()));
                    }
                }
                Err(NotFetched::Stopped) => return Err(Stopped),
            }
        }
        Ok(())
    }

    async fn fetch_download(
        &self,
        download: &Download,
        stop: &watch::Receiver<bool>,
    ) -> Result<String, NotFetched> {
        let file = FileId::decode(&download.file_id).map_err(|_| Skipped::Failed)?;
        let request = FileRequest {
            file,
            size: download.size,
            mime_type: download.mime_type.clone(),
            file_name: download.file_name.clone(),
        };
        let name = self.fetcher.fetch(&request, stop).await?;
        Ok(self.url(&name))
    }
}

/// [`MediaService::complete`] was stopped before every file was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stopped while a media download was being retried")]
pub struct Stopped;

/// Sets the value at a JSON pointer whose parent exists.
fn set(body: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = body.pointer_mut(pointer) {
        *slot = value;
    } else if let Some((parent, key)) = pointer.rsplit_once('/')
        && let Some(Value::Object(map)) = body.pointer_mut(parent)
    {
        map.insert(key.to_owned(), value);
    }
}
