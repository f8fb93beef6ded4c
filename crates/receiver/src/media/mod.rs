//! Media of incoming messages: downloaded into `MEDIA_DIR` before the payload leaves, announced
//! as `media` + `media_url` (and `reply_to_message.media_url`/`media_type`), served back over
//! HTTP and deleted after `MEDIA_TTL` or when the directory reaches `MEDIA_MAX_DISK_BYTES`.
//!
//! Modules: [`store`] (directory, names, index, sweep), [`fetch`] (limits, concurrency,
//! retries, extensions), [`object`] (the payload's `media` object), [`server`] (`/media`,
//! `/healthz`).
//!
//! Deliberately absent: de-duplication. A file seen twice (say, the media of a message that
//! is replied to again and again) is downloaded again under a new name each time, so every URL
//! lives its full TTL from its own payload.

pub mod fetch;
pub mod object;
pub mod server;
pub mod store;
#[cfg(test)]
mod store_tests;

use botapi::payload::WebhookPayload;
use telegram::IncomingMessage;

use self::fetch::{Fetcher, FileRequest, Skipped};
use self::object::{MediaObject, request_for, request_from_bot_message};

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

    /// Whether the message or its replied-to message carries a file to download.
    pub fn wants(incoming: &IncomingMessage) -> bool {
        incoming.media.is_some()
            || incoming
                .message
                .reply_to_message
                .as_deref()
                .and_then(request_from_bot_message)
                .is_some()
    }

    /// Downloads the media of the message and of its replied-to message (concurrently) and
    /// fills `media`, `media_url`, `reply_to_message.media_url` and `.media_type`. Files are
    /// complete on disk when this returns. A file that is not downloaded leaves its URL `null`
    /// (`media.skipped` says why).
    pub async fn attach(&self, incoming: &IncomingMessage, payload: &mut WebhookPayload) {
        let reply = incoming
            .message
            .reply_to_message
            .as_deref()
            .and_then(request_from_bot_message);
        let own = async {
            match &incoming.media {
                Some(media) => Some((media, self.fetch(&request_for(media)).await)),
                None => None,
            }
        };
        let replied = async {
            match &reply {
                Some((kind, request)) => Some((*kind, self.fetch(request).await.ok())),
                None => None,
            }
        };
        let (own, replied) = tokio::join!(own, replied);
        if let Some((media, result)) = own {
            let skipped = result.as_ref().err().copied();
            payload.message.media = Some(MediaObject::new(media, skipped).to_value());
            payload.message.media_url = result.ok();
        }
        if let (Some((kind, url)), Some(reply)) = (replied, &mut payload.message.reply_to_message) {
            reply.media_type = Some(kind.to_owned());
            reply.media_url = url;
        }
    }

    async fn fetch(&self, request: &FileRequest) -> Result<String, Skipped> {
        let name = self.fetcher.fetch(request).await?;
        Ok(self.url(&name))
    }
}
